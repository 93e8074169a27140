"""Delivering notifications to a real HTTP receiver on loopback (§5.11, §6.3.5, §7.2): payload and
headers, retries with backoff, dead letters, throttling, periodic notifications, ordering,
durability across a restart, and writes that never wait for a receiver."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from subscription_kit import (
    CORE,
    E,
    Receiver,
    S,
    dead_port_url,
    fast_settings,
    subscription,
    wait_until,
)

from cityos.core.settings import Settings
from cityos.hub.backends import open_hub
from cityos.hub.subscriptions.service import SubscriptionService, subscriptions_of

AQ = "urn:ngsi-ld:AirQualityObserved:"


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return fast_settings(tmp_path, database_url=database_url)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    the_receiver = Receiver().start()
    yield the_receiver
    the_receiver.stop()


@pytest.fixture
def service(hub) -> Iterator[SubscriptionService]:
    the_service = subscriptions_of(hub)
    the_service.sender.start()
    yield the_service
    the_service.sender.stop()


def aq(number: int = 1, **attrs: Any) -> dict[str, Any]:
    entity: dict[str, Any] = {"id": f"{AQ}{number}", "type": "AirQualityObserved"}
    entity.update({k: {"type": "Property", "value": v} for k, v in attrs.items()})
    return entity


def status(service: SubscriptionService, sub_id: str, tenant: str = "") -> dict[str, Any]:
    return service.render(service.get(sub_id, tenant))


def test_payload_and_headers(receiver, hub, service):
    sid = service.create(subscription(receiver.url), hub.context())
    hub.create_entity(aq(pm25=24), hub.context())
    [request] = receiver.wait_for(1)
    body = request.body
    assert set(body) == {"id", "type", "subscriptionId", "notifiedAt", "data"}
    assert body["id"].startswith("urn:ngsi-ld:Notification:")
    assert body["type"] == "Notification" and body["subscriptionId"] == sid
    assert body["notifiedAt"].endswith("Z")
    assert body["data"] == [
        {"id": f"{AQ}1", "type": "AirQualityObserved", "pm25": {"type": "Property", "value": 24}}
    ]
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["content-type"] == "application/json"
    assert (
        f"<{CORE}>" in headers["link"]
        and 'rel="http://www.w3.org/ns/json-ld#context"' in (headers["link"])
    )
    assert "ngsild-tenant" not in headers
    assert headers["user-agent"].startswith("CityOS/")
    stats = wait_until(
        lambda: status(service, sid)["notification"].get("lastSuccess") and status(service, sid)
    )
    notification = stats["notification"]
    assert notification["status"] == "ok" and notification["timesSent"] == 1
    assert notification["timesFailed"] == 0 and notification["lastNotification"]
    assert stats["status"] == "active"
    assert service.store is not None
    assert service.store.outbox_counts("", sid) == {"pending": 0, "dead": 0}


def test_json_ld_tenant_receiver_info_and_format(receiver, hub, service):
    body = subscription(
        receiver.url,
        notification={
            "format": "keyValues",
            "endpoint": {
                "accept": "application/ld+json",
                "receiverInfo": [{"key": "X-Auth-Token", "value": "s3cret"}],
            },
        },
    )
    sid = service.create(body, hub.context(), "city2")
    hub.create_entity(aq(pm25=24), hub.context(), tenant="city2")
    [request] = receiver.wait_for(1)
    assert request.body["@context"] == CORE
    assert request.body["subscriptionId"] == sid
    assert request.body["data"] == [{"id": f"{AQ}1", "type": "AirQualityObserved", "pm25": 24}]
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["content-type"] == "application/ld+json"
    assert "link" not in headers
    assert headers["ngsild-tenant"] == "city2"
    assert headers["x-auth-token"] == "s3cret"


def test_retries_with_backoff_then_success(receiver, hub, service):
    receiver.statuses = [500, 503]
    sid = service.create(subscription(receiver.url), hub.context())
    hub.create_entity(aq(pm25=24), hub.context())
    requests = receiver.wait_for(3)
    assert all(r.body["data"] == requests[0].body["data"] for r in requests)
    assert requests[1].at - requests[0].at >= 0.045
    assert requests[2].at - requests[1].at >= 0.095
    stats = wait_until(
        lambda: (s := status(service, sid))["notification"].get("lastSuccess") and s, what="success"
    )
    notification = stats["notification"]
    assert notification["timesSent"] == 3 and notification["timesFailed"] == 2
    assert notification["status"] == "ok" and notification["lastFailure"]
    assert notification["lastFailureReason"] == "HTTP status 503"
    assert notification["deadLetters"] == 0 and stats["status"] == "active"
    time.sleep(0.2)
    assert len(receiver.requests) == 3


def test_dead_letters_after_the_last_attempt(hub, service):
    sid = service.create(subscription(dead_port_url()), hub.context())
    hub.create_entity(aq(pm25=24), hub.context())
    stats = wait_until(
        lambda: (s := status(service, sid))["notification"]["deadLetters"] and s, what="dead letter"
    )
    notification = stats["notification"]
    assert stats["status"] == "failed"
    assert notification["status"] == "failed"
    assert notification["timesSent"] == 3 and notification["timesFailed"] == 3
    assert "ConnectError" in notification["lastFailureReason"]
    assert notification["lastFailure"] and "lastSuccess" not in notification
    assert service.store is not None
    assert service.store.outbox_counts("", sid) == {"pending": 0, "dead": 1}
    hub.update_attrs(f"{AQ}1", {"pm25": {"value": 25}}, hub.context())
    wait_until(lambda: service.store.outbox_counts("", sid)["dead"] == 2, what="second dead letter")


def test_queued_notifications_keep_their_order(receiver, hub, service):
    receiver.delay_s = 0.3
    service.create(subscription(receiver.url), hub.context())
    ctx = hub.context()
    hub.create_entity(aq(pm25=1), ctx)
    receiver.wait_for(1)
    for value in range(2, 7):
        hub.update_attrs(f"{AQ}1", {"pm25": {"value": value}}, ctx)
    wait_until(
        lambda: sum(len(b["data"]) for b in receiver.bodies()) >= 6, what="every state delivered"
    )
    values = [item["pm25"]["value"] for body in receiver.bodies() for item in body["data"]]
    assert values == [1, 2, 3, 4, 5, 6]
    assert len(receiver.requests) < 6


def test_throttling_delays_and_keeps_the_latest_state(receiver, hub, service):
    service.create(subscription(receiver.url, throttling=0.5), hub.context())
    ctx = hub.context()
    hub.create_entity(aq(pm25=1), ctx)
    first = receiver.wait_for(1)[0]
    for value in range(2, 6):
        hub.update_attrs(f"{AQ}1", {"pm25": {"value": value}}, ctx)
    second = receiver.wait_for(2)[1]
    assert second.at - first.at >= 0.45
    assert [item["pm25"]["value"] for item in second.body["data"]] == [5]
    time.sleep(0.6)
    assert len(receiver.requests) == 2


def test_time_interval_notifies_periodically(receiver, hub, service):
    ctx = hub.context()
    hub.create_entity(aq(1, pm25=1), ctx)
    hub.create_entity(aq(2, pm25=100), ctx)
    body = subscription(receiver.url, timeInterval=0.3, q="pm25<50")
    service.create(body, ctx)
    receiver.wait_for(2, timeout=3)
    time.sleep(1.0)
    requests = list(receiver.requests)
    span = requests[-1].at - requests[0].at
    # One notification per 0.3 s period; a delivery delayed past the next period (a loaded
    # machine) may arrive right before the next one, so allow one extra at each end.
    assert span >= 0.6 and len(requests) <= span / 0.3 + 2
    for request in requests:
        assert [e["id"] for e in request.body["data"]] == [f"{AQ}1"]


def test_paused_subscription_drops_queued_notifications(receiver, hub, service):
    service.sender.stop()
    sid = service.create(subscription(receiver.url), hub.context())
    hub.create_entity(aq(pm25=1), hub.context())
    assert service.store is not None
    assert service.store.outbox_counts("", sid)["pending"] == 1
    service.update(sid, {"isActive": False})
    service.sender.start()
    wait_until(lambda: service.store.outbox_counts("", sid)["pending"] == 0, what="drop")
    time.sleep(0.1)
    assert receiver.requests == []


def test_queued_notifications_survive_a_restart(receiver, settings, hub, service):
    service.sender.stop()
    service.create(subscription(receiver.url), hub.context())
    hub.create_entity(aq(pm25=7), hub.context())
    hub.storage.close()
    again = open_hub(settings)
    sender = subscriptions_of(again).sender
    try:
        sender.start()
        [request] = receiver.wait_for(1)
        assert request.body["data"][0]["pm25"]["value"] == 7
    finally:
        sender.stop()
        again.storage.close()


def test_the_sender_adopts_subscriptions_made_by_another_process(receiver, settings, hub, service):
    other = open_hub(settings.model_copy(update={"notify_enabled": False}))
    try:
        other_service = subscriptions_of(other)
        sid = other_service.create(subscription(receiver.url), other.context())
        other.create_entity(aq(pm25=9), other.context())
        [request] = receiver.wait_for(1)
        assert request.body["subscriptionId"] == sid
        assert service.index.get("", sid) is not None
    finally:
        other.storage.close()


def test_a_slow_receiver_does_not_slow_writes(receiver, hub, service):
    receiver.delay_s = 5.0
    ctx = hub.context()

    def write_many(first: int) -> float:
        start = time.perf_counter()
        for number in range(first, first + 20):
            hub.create_entity(aq(number, pm25=number), ctx)
        return time.perf_counter() - start

    without = write_many(0)
    service.create(subscription(receiver.url), ctx)
    with_slow_receiver = write_many(100)
    assert receiver.requests, "a delivery was in flight during the writes"
    receiver.release()
    print(f"20 writes: {without:.3f} s without, {with_slow_receiver:.3f} s with a slow receiver")
    assert with_slow_receiver < 2.0
    assert with_slow_receiver < 3 * without + 0.5


def test_delivery_through_the_application(receiver, client):
    created = client.post(S, json=subscription(receiver.url))
    assert created.status_code == 201
    entity = aq(pm25=3)
    assert client.post(E, json=entity).status_code == 201
    [request] = receiver.wait_for(1)
    assert request.body["data"][0]["id"] == entity["id"]
    url = created.headers["location"]
    got = wait_until(lambda: (b := client.get(url).json())["notification"]["timesSent"] and b)
    assert got["notification"]["status"] == "ok"
