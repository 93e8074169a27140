"""The citizen portal in a real browser: a citizen signs in with their token, grants and
withdraws a consent, sees every use of their data, downloads it and erases it; each step is
checked against the privacy API, not only on the page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright

from browser_kit import CHROMIUM_ARGS, ROOT, Console, chromium_path, cityos_server

ARTIFACTS = ROOT / "tests" / "artifacts"
CITIZEN = "urn:ngsi-ld:Person:kim"
TRIP = "urn:ngsi-ld:Trip:kim-1"


def _token(data_dir: Path, subject: str, role: str) -> str:
    env = dict(os.environ, CITYOS_DATA_DIR=str(data_dir))
    done = subprocess.run(
        [sys.executable, "-m", "cityos.cli", "auth", "token", "--subject", subject, "--role",
         role, "--scope", "read"],
        env=env, capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A served hub holding one trip of the citizen, and tokens of a citizen and an operator."""
    data_dir = tmp_path_factory.mktemp("portal")
    with cityos_server(data_dir) as base:
        trip = {"id": TRIP, "type": "Trip", "dataSubject": {"type": "Relationship",
                "object": CITIZEN}, "mode": {"type": "Property", "value": "shuttle"}}  # fmt: skip
        assert httpx.post(f"{base}/ngsi-ld/v1/entities", json=trip).status_code == 201
        tokens = {"citizen": _token(data_dir, CITIZEN, "citizen"),
                  "operator": _token(data_dir, "op-lee", "operator")}  # fmt: skip
        yield base, tokens


@pytest.fixture(scope="module")
def page(portal: tuple[str, dict[str, str]]) -> Iterator[tuple[Page, Console]]:
    base, _ = portal
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1300, "height": 1100}, bypass_csp=True,
                                      accept_downloads=True)  # fmt: skip
        the_page = context.new_page()
        console = Console(the_page)
        the_page.goto(base + "/portal")
        the_page.wait_for_function("document.body.dataset.state === 'ready'", timeout=60_000)
        yield the_page, console
        browser.close()


def _api(base: str, token: str, method: str, path: str) -> httpx.Response:
    return httpx.request(method, base + path, headers={"Authorization": f"Bearer {token}"})


def _message(page: Page) -> str:
    return page.locator("#pt-message").inner_text()


def test_bad_and_non_citizen_tokens_are_refused(page, portal):
    the_page, _ = page
    _, tokens = portal
    the_page.fill("#pt-token", "not-a-token")
    the_page.click("#pt-signin-form button[type=submit]")
    the_page.wait_for_selector("#pt-message[data-kind=error]")
    assert "refused" in _message(the_page)
    the_page.fill("#pt-token", tokens["operator"])
    the_page.click("#pt-signin-form button[type=submit]")
    the_page.wait_for_function(
        "document.getElementById('pt-message').textContent.includes('citizen')"
    )
    assert the_page.locator("#pt-consents").is_hidden()


def test_grant_then_withdraw_a_consent(page, portal):
    the_page, console = page
    base, tokens = portal
    console.errors.clear()  # the refused tokens above were logged as failed requests
    the_page.fill("#pt-token", tokens["citizen"])
    the_page.click("#pt-signin-form button[type=submit]")
    the_page.wait_for_selector("#pt-consents:not([hidden])")
    assert the_page.locator("#pt-who").inner_text() == CITIZEN
    the_page.fill("#pt-purpose", "mobility-planning")
    the_page.fill("#pt-recipient", "sejong-mobility")
    the_page.check("#pt-cat-Trip")
    the_page.click("#pt-grant-form button[type=submit]")
    the_page.wait_for_selector("#pt-consent-table tr[data-state=active]")
    consents = _api(base, tokens["citizen"], "GET", "/privacy/v1/consents").json()
    assert [(c["purpose"], c["recipient"], c["categories"], c["state"]) for c in consents] == [
        ("mobility-planning", "sejong-mobility", ["Trip"], "active")
    ]
    the_page.click("#pt-consent-table tr[data-state=active] button")
    the_page.wait_for_selector("#pt-consent-table tr[data-state=withdrawn]")
    consents = _api(base, tokens["citizen"], "GET", "/privacy/v1/consents").json()
    assert consents[0]["state"] == "withdrawn" and consents[0]["withdrawnAt"]
    actions = the_page.locator("#pt-audit-table tbody tr").evaluate_all(
        "rows => rows.map((r) => r.dataset.action)"
    )
    assert {"consent.grant", "consent.withdraw"} <= set(actions)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    the_page.screenshot(path=str(ARTIFACTS / "portal.png"), full_page=True)
    assert console.errors == []


def test_propose_and_support_a_city_problem(page, portal):
    the_page, console = page
    base, _ = portal
    console.errors.clear()
    dialogs: list[str] = []
    the_page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    body = 'Too hot at noon <script>alert("x")</script>'
    the_page.fill("#pt-p-title", "Shade on the BRT platform")
    the_page.fill("#pt-p-body", body)
    the_page.select_option("#pt-p-category", "mobility")
    the_page.click("#pt-propose-form button[type=submit]")
    item = the_page.locator(".proposal").first
    item.wait_for()
    assert item.locator(".proposal-body").inner_text() == body  # shown as text, not run
    listed = httpx.get(f"{base}/governance/v1/proposals").json()
    assert [(p["title"], p["author"], p["supporters"]) for p in listed] == [
        ("Shade on the BRT platform", CITIZEN, 0)
    ]
    item.locator("button").click()
    the_page.wait_for_function(
        "document.querySelector('.proposal-count').textContent.startsWith('1 ')"
    )
    item.locator("button").click()  # a second signature of the same person
    the_page.wait_for_selector("#pt-message[data-kind=error]")
    assert "already supports" in _message(the_page)
    assert httpx.get(f"{base}/governance/v1/proposals").json()[0]["supporters"] == 1
    assert dialogs == []
    the_page.locator("#pt-proposals").screenshot(path=str(ARTIFACTS / "portal-proposals.png"))
    assert [e for e in console.errors if "409" not in e] == []
    console.errors.clear()  # the refused second signature was logged as a failed request


def test_download_then_erase_my_data(page, portal):
    the_page, console = page
    base, tokens = portal
    with the_page.expect_download() as info:
        the_page.click("#pt-download")
    exported = json.loads(Path(info.value.path()).read_text())
    assert TRIP in json.dumps(exported)
    the_page.click("#pt-erase-form button[type=submit]")  # nothing typed: refused
    the_page.wait_for_selector("#pt-message[data-kind=error]")
    # A citizen always sees their own data: the trip is there until the erasure.
    assert _api(base, tokens["citizen"], "GET", f"/ngsi-ld/v1/entities/{TRIP}").status_code == 200
    the_page.fill("#pt-erase-confirm", "erase")
    the_page.click("#pt-erase-form button[type=submit]")
    the_page.wait_for_function("document.getElementById('pt-message').dataset.kind === 'info'")
    gone = _api(base, tokens["citizen"], "GET", f"/ngsi-ld/v1/entities/{TRIP}")
    assert gone.status_code == 404
    assert console.errors == []


def test_korean_interface(page):
    the_page, _ = page
    the_page.click("#lang-toggle")
    assert the_page.locator(".brand-title").inner_text() == "나의 데이터"
    assert the_page.locator("#pt-consents-title").inner_text() == "나의 동의"
    the_page.click("#lang-toggle")
    assert the_page.locator(".brand-title").inner_text() == "My data"
