"""The web pages work under their Content-Security-Policy in a real browser (Debian's Chromium
driven by Playwright), in production mode with the page shells public."""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.sync_api import sync_playwright

from browser_kit import CHROMIUM_ARGS, chromium_path, cityos_server

PAGES = [("/", {"ready"}), ("/scenarios", {"empty"}), ("/portal", {"ready"})]


@pytest.mark.parametrize(("path", "settled"), PAGES)
def test_page_loads_under_its_csp(tmp_path, path, settled):
    chromium = chromium_path()
    with cityos_server(tmp_path, CITYOS_MODE="demo") as base:
        assert "frame-ancestors 'none'" in httpx.get(base + path).headers["content-security-policy"]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page()
            messages: list[str] = []
            page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: messages.append(f"uncaught: {e}"))
            page.goto(base + path)
            state = None
            end = time.monotonic() + 60
            while time.monotonic() < end:
                state = page.evaluate("document.body.dataset.state")  # CDP: not subject to CSP
                if state in settled:
                    break
                page.wait_for_timeout(200)
            browser.close()
    assert state in settled, messages
    violations = [m for m in messages if "Content Security Policy" in m or "CSP" in m]
    assert violations == []
    assert [m for m in messages if m.startswith(("error", "uncaught"))] == []
