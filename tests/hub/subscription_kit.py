"""Helpers of the subscription tests: fast settings and a notification receiver on loopback.

The subscription tests override the ``settings`` fixture with :func:`fast_settings` (on the
backend under test), so the shared ``hub`` and ``client`` fixtures get short delays and timeouts.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cityos.core.settings import Settings

S = "/ngsi-ld/v1/subscriptions"
E = "/ngsi-ld/v1/entities"
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"


def fast_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """SQLite settings with delays and timeouts short enough for tests."""
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "max_body_bytes": 64 * 1024,
        "max_limit": 100,
        "context_fetch_timeout_s": 1.0,
        "notify_timeout_s": 2.0,
        "notify_max_attempts": 3,
        "notify_backoff_base_s": 0.05,
        "notify_backoff_max_s": 0.2,
        "notify_poll_interval_s": 0.05,
        "notify_sse_keepalive_s": 0.2,
        "temporal_enabled": False,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class Receiver:
    """An HTTP server on loopback recording every POST.

    ``statuses`` are answered in turn (then 200); ``delay_s`` holds each answer back (until
    :meth:`release` at the latest).
    """

    statuses: list[int] = field(default_factory=list)
    delay_s: float = 0.0
    requests: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _released: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"null")
                with receiver._lock:
                    receiver.requests.append(
                        Received(self.path, dict(self.headers.items()), body, time.monotonic())
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                if receiver.delay_s:
                    receiver._released.wait(receiver.delay_s)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/notify"

    def release(self) -> None:
        """Let every held answer go."""
        self._released.set()

    def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def bodies(self) -> list[Any]:
        with self._lock:
            return [r.body for r in self.requests]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """The first ``count`` requests, once they arrived (AssertionError after ``timeout``)."""
        wait_until(lambda: len(self.requests) >= count, timeout, f"{count} notification(s)")
        with self._lock:
            return list(self.requests[:count])


def wait_until(condition: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll ``condition`` until it is truthy; its value, or AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def dead_port_url() -> str:
    """A loopback URL where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/notify"


def subscription(uri: str, **members: Any) -> dict[str, Any]:
    """A subscription payload on ``AirQualityObserved`` entities unless members say otherwise."""
    notification = members.pop("notification", {})
    endpoint = {"uri": uri, **notification.pop("endpoint", {})}
    body: dict[str, Any] = {
        "type": "Subscription",
        "entities": [{"type": "AirQualityObserved"}],
        "notification": {"endpoint": endpoint, **notification},
    }
    body.update(members)
    return {k: v for k, v in body.items() if v is not None}
