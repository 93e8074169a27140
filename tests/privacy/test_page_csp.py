"""The control-centre page works under its Content-Security-Policy in a real browser (Debian's
Chromium driven by Playwright), in production mode with the page shell public."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_page_loads_under_its_csp(tmp_path):
    installed = subprocess.run(
        ["bash", str(ROOT / "scripts" / "chromium.sh")],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    chromium = shutil.which("chromium")
    assert chromium
    port = _free_port()
    env = dict(os.environ, CITYOS_DATA_DIR=str(tmp_path), CITYOS_LOG_LEVEL="WARNING")
    env.pop("CITYOS_DATABASE_URL", None)
    env["CITYOS_MODE"] = "demo"
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "cityos.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert "frame-ancestors 'none'" in httpx.get(base + "/").headers["content-security-policy"]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
            page = browser.new_page()
            messages: list[str] = []
            page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
            page.on("pageerror", lambda e: messages.append(f"uncaught: {e}"))
            page.goto(base + "/")
            state = None
            end = time.monotonic() + 60
            while time.monotonic() < end:
                state = page.evaluate("document.body.dataset.state")  # CDP: not subject to CSP
                if state == "ready":
                    break
                page.wait_for_timeout(200)
            browser.close()
        assert state == "ready", messages
        violations = [m for m in messages if "Content Security Policy" in m or "CSP" in m]
        assert violations == []
        assert [m for m in messages if m.startswith(("error", "uncaught"))] == []
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
