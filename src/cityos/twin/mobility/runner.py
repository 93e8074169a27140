"""Scenario runner: simulate scenarios, compute KPIs, write them to the hub, plot, compare.

KPIs of every scenario of a run are written to the hub in one all-or-nothing load
(:func:`cityos.twin.loader.load_entities`): a run that fails or is interrupted while writing
leaves the hub as it was. The baseline is always simulated with the same seed and reported
first, so every scenario gets its ratios to it. Files (``kpis.json``, ``comparison.md``, PNG
plots) are written to a temporary name and renamed, so they too are whole or absent.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cityos.hub.broker import Hub
from cityos.twin.loader import LoadReport, load_entities
from cityos.twin.mobility.day import DayResult, ShuttleDispatcher, simulate_day
from cityos.twin.mobility.kpis import comparison_table, compute_kpis, kpi_entities, plot
from cityos.twin.mobility.scenario import Scenario, load_scenario
from cityos.twin.site import GeneratorParameters

BASELINE = "baseline"


@dataclass
class RunReport:
    """KPIs per scenario, the comparison table, files written and the hub load report."""

    kpis: list[dict[str, Any]]
    table: str
    files: list[Path]
    load: LoadReport | None


def run_scenarios(
    scenarios: Sequence[str | Path | Scenario],
    seed: int,
    *,
    dispatcher: ShuttleDispatcher | None,
    params: GeneratorParameters | None = None,
    hub: Hub | None = None,
    tenant: str = "",
    out_dir: Path | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> RunReport:
    """Run ``scenarios`` (names, YAML paths or models) with ``seed``; see the module docstring.

    Raises
    ------
    ScenarioError
        On an unknown name or an invalid file (before anything runs).
    """
    models = [s if isinstance(s, Scenario) else load_scenario(s) for s in scenarios]
    if not models:
        raise ValueError("give at least one scenario")
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise ValueError(f"scenario names repeat: {names}")
    step = progress or (lambda _s, _f: None)
    results: dict[str, DayResult] = {}
    order = models if BASELINE in names else [load_scenario(BASELINE), *models]
    for n, model in enumerate(order):

        def sub(stage: str, frac: float, n: int = n, name: str = model.name) -> None:
            step(f"{name}: {stage}", (n + frac) / len(order))

        results[model.name] = simulate_day(
            model, seed, params=params, dispatcher=dispatcher, progress=sub
        )
    baseline = results[BASELINE]
    all_kpis = [compute_kpis(results[m.name], baseline) for m in order]
    table = comparison_table(all_kpis)
    files: list[Path] = []
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        files.append(_atomic_write(out_dir / "kpis.json", json.dumps(all_kpis, indent=1)))
        files.append(_atomic_write(out_dir / "comparison.md", table + "\n"))
        files += plot(all_kpis, [results[m.name] for m in order], out_dir)
    report = None
    if hub is not None:
        entities = [e for k in all_kpis for e in kpi_entities(k)]
        report = load_entities(hub, entities, tenant=tenant)
    step("done", 1.0)
    return RunReport(all_kpis, table, files, report)


def _atomic_write(path: Path, text: str) -> Path:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
