"""The map's subscription (live updates over SSE) and its receiver, without a browser."""

from __future__ import annotations

import re

import pytest

from cityos.hub.subscriptions.service import subscriptions_of
from cityos.web.live import (
    LIVE_SUBSCRIPTION_ID,
    MAP_TYPES,
    THROTTLING_S,
    ensure_live_subscription,
    receiver_uri,
)
from cityos.web.pages import STATIC_DIR

ROOT = STATIC_DIR.parents[3]


def test_config_creates_one_shared_subscription(client, hub):
    first = client.get("/web/config.json").json()
    assert first["liveStream"] == (
        f"/ngsi-ld/v1/subscriptions/{LIVE_SUBSCRIPTION_ID}/notifications/stream"
    )
    assert client.get("/web/config.json").json()["liveStream"] == first["liveStream"]
    listed = client.get("/ngsi-ld/v1/subscriptions").json()
    assert [s["id"] for s in listed] == [LIVE_SUBSCRIPTION_ID]  # one, whatever the page count
    sub = listed[0]
    assert [e["type"] for e in sub["entities"]] == list(MAP_TYPES)
    assert sub["throttling"] == THROTTLING_S
    assert sub["notification"]["pick"] == ["id", "type"]
    assert sub["notification"]["endpoint"]["uri"] == "http://testserver:80/web/notifications"


def test_a_moved_server_updates_the_receiver(hub):
    ensure_live_subscription(hub, receiver_uri("127.0.0.1", 8000))
    ensure_live_subscription(hub, receiver_uri("::1", 9000))
    stored = subscriptions_of(hub).get(LIVE_SUBSCRIPTION_ID)
    assert stored.document["notification"]["endpoint"]["uri"] == (
        "http://[::1]:9000/web/notifications"
    )
    assert subscriptions_of(hub).page()[1] == 1


def test_the_map_types_are_the_layers_of_the_page():
    style = (ROOT / "web" / "src" / "style.js").read_text()
    block = style[style.index("export const SOURCES") : style.index("};", style.index("SOURCES"))]
    assert tuple(re.findall(r":\s*'(\w+)'", block)) == MAP_TYPES


def _notification(**changes):
    body = {
        "id": "urn:ngsi-ld:Notification:1",
        "type": "Notification",
        "subscriptionId": LIVE_SUBSCRIPTION_ID,
        "notifiedAt": "2026-11-24T00:00:00Z",
        "data": [{"id": "urn:ngsi-ld:Building:1", "type": "Building"}],
    }
    body.update(changes)
    return body


def test_the_receiver_acknowledges_notifications_of_the_map(client):
    response = client.post("/web/notifications", json=_notification())
    assert response.status_code == 204 and response.content == b""


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "must be JSON"),
        (b"[1, 2]", "must be an NGSI-LD Notification"),
        (_notification(type="Entity"), "must be an NGSI-LD Notification"),
        (_notification(subscriptionId="urn:ngsi-ld:Subscription:x"), "only notifications of"),
        (_notification(data={"id": "x"}), "'data' must be an array"),
    ],
)
def test_the_receiver_refuses_anything_else(client, body, message):
    if isinstance(body, bytes):
        response = client.post(
            "/web/notifications", content=body, headers={"Content-Type": "application/json"}
        )
    else:
        response = client.post("/web/notifications", json=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert message in response.json()["detail"]
