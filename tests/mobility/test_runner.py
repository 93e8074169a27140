"""KPIs, their hub entities (all or nothing), plots, comparison and the CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cityos.cli import app
from cityos.hub.broker import EntityQuery
from cityos.services.mobility.drt.twin_adapter import dispatch_shuttles
from cityos.twin.loader import TwinLoadError
from cityos.twin.mobility.kpis import compute_kpis, kpi_entities
from cityos.twin.mobility.runner import run_scenarios


def _count(hub, kind: str) -> int:
    return hub.query_entities(EntityQuery(type=kind, limit=0, count=True), hub.context()).count


def test_kpis(smart_day, baseline_day) -> None:
    k = compute_kpis(smart_day, baseline_day)
    assert k["trips"] == len(smart_day.trips)
    assert sum(k["modeShareInside"].values()) == pytest.approx(1.0, abs=1e-3)
    assert k["ratioToBaseline"]["carsOwned"] < 0.5
    assert k["carShareInside"] < k["carShareOutside"]
    assert 0 <= k["shuttleRejectionRate"] <= 1
    assert k["shuttleWaitS"]["p95"] <= 600
    assert k["vehicleKm"]["shuttle"] > 0 and k["co2Kg"] > 0
    assert set(k["personas"]) == {"retiredLibrarian75", "homemaker32", "pupil11", "designer45"}
    assert k["personas"]["pupil11"]["trips"] >= 2
    base = compute_kpis(baseline_day)
    assert base["shuttleRequests"] == 0 and base["carsOwned"] > k["carsOwned"]


def test_run_writes_hub_files_and_table(hub, tmp_path, small_params) -> None:
    report = run_scenarios(
        ["smart-5-1"],
        5,
        dispatcher=dispatch_shuttles,
        params=small_params,
        hub=hub,
        out_dir=tmp_path,
    )
    assert [k["scenario"] for k in report.kpis] == ["baseline", "smart-5-1"]
    assert _count(hub, "MobilityScenarioResult") == 2
    assert _count(hub, "MobilityPersonaResult") == 8
    stored = hub.retrieve("urn:ngsi-ld:MobilityScenarioResult:smart-5-1:seed5", hub.context())
    assert stored["carsOwned"]["value"] == report.kpis[1]["carsOwned"]
    assert "| cars owned / baseline |" in report.table
    names = sorted(p.name for p in report.files)
    assert names == [
        "comparison.md",
        "kpis.json",
        "mode_shares.png",
        "scenario_comparison.png",
        "shuttle_waits.png",
    ]
    assert json.loads((tmp_path / "kpis.json").read_text())[1]["seed"] == 5
    assert (tmp_path / "mode_shares.png").read_bytes()[:4] == b"\x89PNG"


def test_crash_while_writing_leaves_no_kpis(hub, smart_day, baseline_day, monkeypatch) -> None:
    from cityos.twin.loader import load_entities

    entities = kpi_entities(compute_kpis(smart_day, baseline_day))
    calls = {"n": 0}

    def crash(done: int, total: int) -> None:  # interrupted after the second staged chunk
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    with pytest.raises((KeyboardInterrupt, TwinLoadError)):
        load_entities(hub, entities, batch_size=2, progress=crash)
    assert calls["n"] >= 2
    assert _count(hub, "MobilityScenarioResult") == 0
    assert _count(hub, "MobilityPersonaResult") == 0


def test_cli_rejects_bad_scenarios(tmp_path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["simulate", "mobility", "--scenario", "nowhere", "--no-hub"])
    assert result.exit_code == 2 and "unknown scenario 'nowhere'" in result.output
    bad = tmp_path / "s.yaml"
    bad.write_text("name: s\nshuttle:\n  fleet: many\n")
    result = runner.invoke(app, ["simulate", "mobility", "--scenario", str(bad), "--no-hub"])
    assert result.exit_code == 2 and "shuttle.fleet" in result.output


def test_cli_runs_a_scenario(tmp_path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "simulate",
            "mobility",
            "--scenario",
            "no-free-transfer",
            "--seed",
            "3",
            "--population",
            "800",
            "--households",
            "350",
            "--out",
            str(tmp_path),
            "--no-hub",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "| KPI | baseline | no-free-transfer |" in result.output
    assert (tmp_path / "comparison.md").exists()
