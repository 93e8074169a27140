"""The Server-Sent Events stream of a subscription's notifications (CityOS extension), read from a
real server on loopback."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from subscription_kit import E, S, dead_port_url, fast_settings, subscription, wait_until

from cityos.app import create_app
from cityos.core.settings import Settings
from cityos.hub.subscriptions.sse import Broadcaster

ENTITY = {"id": "urn:ngsi-ld:AirQualityObserved:1", "type": "AirQualityObserved", "pm25": 3}


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return fast_settings(tmp_path, database_url=database_url)


@pytest.fixture
def base_url(settings, hub) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings, hub),
        host="127.0.0.1",
        port=port,
        log_level="error",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 10, "the server")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


def read_events(lines: Iterator[str], until: Any, timeout: float = 5.0) -> list[str]:
    """Lines of the stream until ``until(line)`` is true (AssertionError after ``timeout``)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    for line in lines:
        seen.append(line)
        if until(line):
            return seen
        if time.monotonic() > deadline:
            break
    raise AssertionError(f"the stream ended or timed out; got {seen!r}")


def test_stream_receives_committed_notifications(base_url):
    with httpx.Client(base_url=base_url, timeout=5) as http:
        created = http.post(S, json=subscription(dead_port_url()))
        url = created.headers["location"] + "/notifications/stream"
        with http.stream("GET", url) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-cache"
            lines = response.iter_lines()
            read_events(lines, lambda line: line == ": connected")
            assert http.post(E, json=ENTITY).status_code == 201
            seen = read_events(lines, lambda line: line.startswith("data: "))
        assert "event: notification" in seen
        notification = orjson.loads(seen[-1][len("data: ") :])
        assert any(line == f"id: {notification['id']}" for line in seen)
        assert notification["type"] == "Notification"
        assert notification["subscriptionId"] == created.headers["location"].rsplit("/", 1)[1]
        assert notification["data"] == [
            {
                "id": ENTITY["id"],
                "type": "AirQualityObserved",
                "pm25": {"type": "Property", "value": 3},
            }
        ]


def test_stream_keeps_alive_and_ends_when_the_subscription_is_deleted(base_url):
    tenant = {"NGSILD-Tenant": "city2"}
    with httpx.Client(base_url=base_url, timeout=5) as http:
        location = http.post(S, json=subscription(dead_port_url()), headers=tenant).headers[
            "location"
        ]
        with http.stream("GET", location + "/notifications/stream", headers=tenant) as response:
            lines = response.iter_lines()
            read_events(lines, lambda line: line == ": keep-alive")
            assert http.delete(location, headers=tenant).status_code == 204
            rest = list(lines)
        assert all(line in ("", ": keep-alive") for line in rest)


def test_stream_tenant_as_query_parameter(base_url):
    with httpx.Client(base_url=base_url, timeout=5) as http:
        tenant = {"NGSILD-Tenant": "city3"}
        location = http.post(S, json=subscription(dead_port_url()), headers=tenant).headers[
            "location"
        ]
        stream = location + "/notifications/stream"
        assert http.get(stream + "?tenant=bad%20name").status_code == 400
        with http.stream("GET", stream, params={"tenant": "city3"}) as response:
            lines = response.iter_lines()
            read_events(lines, lambda line: line == ": connected")
            assert http.post(E, json=ENTITY, headers=tenant).status_code == 201
            read_events(lines, lambda line: line.startswith("data: "))


def test_stream_of_an_unknown_subscription_is_404(base_url):
    with httpx.Client(base_url=base_url, timeout=5) as http:
        response = http.get(f"{S}/urn:ngsi-ld:Subscription:nope/notifications/stream")
        assert response.status_code == 404
        assert response.json()["type"].endswith("ResourceNotFound")


def test_a_slow_stream_loses_its_oldest_events():
    async def scenario() -> tuple[list[int], int]:
        broadcaster = Broadcaster(queue_size=3)
        key = ("", "urn:ngsi-ld:Subscription:1")
        with broadcaster.listen(key) as listener:
            assert broadcaster.has_listeners(key)
            for number in range(5):
                broadcaster.publish(key, {"id": f"n{number}", "n": number})
            await asyncio.sleep(0.05)
            got = [listener.queue.get_nowait()["n"] for _ in range(listener.queue.qsize())]
            dropped = listener.dropped
        assert not broadcaster.has_listeners(key)
        return got, dropped

    assert asyncio.run(scenario()) == ([2, 3, 4], 2)
