"""What the browser tests share: Debian's Chromium (installed by ``scripts/chromium.sh``), a real
``cityos serve`` process on a free loopback port, and a collector of a page's console errors."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def chromium_path() -> str:
    """Path of Debian's chromium, installed by scripts/chromium.sh when missing."""
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "chromium.sh")],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"scripts/chromium.sh failed:\n{result.stderr[-3000:]}"
    path = shutil.which("chromium")
    assert path, "chromium is not on PATH after scripts/chromium.sh"
    return path


@contextmanager
def cityos_server(data_dir: Path, **env_vars: str) -> Iterator[str]:
    """Base URL of a ``cityos serve`` process on SQLite under ``data_dir``, stopped on exit."""
    port = free_port()
    env = dict(os.environ, CITYOS_DATA_DIR=str(data_dir), CITYOS_LOG_LEVEL="WARNING", **env_vars)
    env.pop("CITYOS_DATABASE_URL", None)
    log_path = data_dir / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
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
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "cityos serve did not start"
                time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


class Console:
    """Console errors, uncaught exceptions and failed requests of one page."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))
