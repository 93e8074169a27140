"""The mobility scenario-comparison page in a real browser, on results of a real simulation
written to the hub by ``cityos simulate mobility``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright

from browser_kit import CHROMIUM_ARGS, ROOT, Console, chromium_path, cityos_server

ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[dict]]]:
    """A server whose hub holds a small simulated day (baseline and smart-5-1), and the
    scenario results as the API gives them."""
    data_dir = tmp_path_factory.mktemp("scenarios")
    with cityos_server(data_dir) as base:
        env = dict(os.environ, CITYOS_DATA_DIR=str(data_dir), CITYOS_LOG_LEVEL="WARNING")
        env.pop("CITYOS_DATABASE_URL", None)
        run = subprocess.run(
            [sys.executable, "-m", "cityos.cli", "simulate", "mobility", "--scenario",
             "smart-5-1", "--population", "1000", "--households", "400", "--out",
             str(data_dir / "out")],
            env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        found = httpx.get(
            f"{base}/ngsi-ld/v1/entities",
            params={"type": "MobilityScenarioResult", "options": "keyValues"},
        ).json()
        assert {r["scenarioName"] for r in found} == {"baseline", "smart-5-1"}
        yield base, found


@pytest.fixture(scope="module")
def page(results: tuple[str, list[dict]]) -> Iterator[tuple[Page, Console]]:
    base, _ = results
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, bypass_csp=True)
        the_page = context.new_page()
        console = Console(the_page)
        the_page.goto(base + "/scenarios")
        the_page.wait_for_function("document.body.dataset.state === 'ready'", timeout=60_000)
        yield the_page, console
        browser.close()


def _met(result: dict[str, Any]) -> dict[str, str]:
    """The target verdicts the page must show, from the KPI values in the hub."""
    values = {
        "target.carsOwned": (result["ratioToBaseline"]["carsOwned"], 1 / 3),
        "target.carShareInside": (result["carShareInside"], 0.10),
        "target.carShareOutside": (result["carShareOutside"], 0.30),
        "target.commute": (result["commuteMinPerPersonDay"], 60),
    }
    return {key: str(value <= limit).lower() for key, (value, limit) in values.items()}


def test_targets_are_judged_from_the_hub_values(page, results):
    the_page, console = page
    _, found = results
    cards = the_page.locator(".target-card")
    assert [c.get_attribute("data-scenario") for c in cards.all()] == ["baseline", "smart-5-1"]
    for result in found:
        card = the_page.locator(f".target-card[data-scenario='{result['scenarioName']}']")
        shown = {
            row.get_attribute("data-target"): row.get_attribute("data-met")
            for row in card.locator(".target-row").all()
        }
        assert shown == _met(result)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    the_page.screenshot(path=str(ARTIFACTS / "scenarios.png"), full_page=True)
    assert console.errors == []


def test_kpi_table_has_one_column_per_scenario(page, results):
    the_page, _ = page
    _, found = results
    head = the_page.locator("#sc-kpis thead th").all_inner_texts()
    assert head[1:] == ["baseline", "smart-5-1"]
    cars = the_page.locator("#sc-kpis tr[data-kpi='kpi.carsOwned'] td").all_inner_texts()
    by_name = {r["scenarioName"]: r for r in found}
    expected = [f"{by_name[n]['carsOwned']:,}" for n in ("baseline", "smart-5-1")]
    assert cars == expected


def test_mode_bars_add_up_and_personas_are_listed(page, results):
    the_page, _ = page
    widths = the_page.evaluate(
        """() => [...document.querySelectorAll('.mode-bar')].map((bar) =>
            [...bar.children].reduce((sum, s) => sum + parseFloat(s.style.width), 0))"""
    )
    assert len(widths) == 4  # two scenarios, inside and outside the ring
    assert all(abs(w - 100) < 1.0 for w in widths), widths
    personas = the_page.locator("#sc-personas tbody tr").count()
    assert personas == 4


def test_korean_interface(page):
    the_page, console = page
    the_page.click("#lang-toggle")
    assert the_page.locator(".brand-title").inner_text() == "모빌리티 시나리오"
    assert "도시의 목표" in the_page.locator("#sc-targets-title").inner_text()
    assert the_page.locator(".target-chip").first.inner_text() in ("달성", "미달")
    the_page.click("#lang-toggle")
    assert the_page.locator(".brand-title").inner_text() == "Mobility scenarios"
    assert console.errors == []
