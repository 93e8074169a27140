"""Subscription CRUD over HTTP (ETSI GS CIM 009 §5.8, §6.10-§6.11): status codes, representation,
paging, tenants, and a precise 400 for every invalid member."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from subscription_kit import CORE, S, fast_settings, subscription

from cityos.app import create_app
from cityos.core.settings import Settings
from cityos.core.timeutil import isoformat
from cityos.hub.backends import open_hub

ERR = "https://uri.etsi.org/ngsi-ld/errors/"
URI = "http://127.0.0.1:9/notify"


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return fast_settings(tmp_path, database_url=database_url, notify_enabled=False)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One application for the tests that only send invalid subscriptions (nothing is written)."""
    settings = fast_settings(tmp_path_factory.mktemp("subscriptions"), notify_enabled=False)
    hub = open_hub(settings)
    with TestClient(create_app(settings, hub), raise_server_exceptions=False) as test_client:
        yield test_client
    hub.storage.close()


def create(client, body, **kwargs):
    return client.post(S, json=body, **kwargs)


def test_create_retrieve_with_defaults_and_status(client):
    created = create(client, subscription(URI, subscriptionName="air", description="PM alerts"))
    assert created.status_code == 201
    location = created.headers["location"]
    assert location.startswith(f"{S}/urn:ngsi-ld:Subscription:")
    got = client.get(location)
    assert got.status_code == 200
    assert CORE in got.headers["link"]
    body = got.json()
    assert body["id"] == location.rsplit("/", 1)[1]
    assert body["type"] == "Subscription"
    assert body["subscriptionName"] == "air" and body["description"] == "PM alerts"
    assert body["entities"] == [{"type": "AirQualityObserved"}]
    assert body["notificationTrigger"] == ["attributeCreated", "attributeUpdated"]
    assert body["isActive"] is True and body["status"] == "active"
    notification = body["notification"]
    assert notification["format"] == "normalized"
    assert notification["endpoint"] == {"uri": URI, "accept": "application/json"}
    assert notification["timesSent"] == 0 and notification["timesFailed"] == 0
    assert notification["deadLetters"] == 0
    assert "status" not in notification and "lastNotification" not in notification
    assert body["jsonldContext"] == CORE
    assert "createdAt" not in body
    with_sys = client.get(location, params={"options": "sysAttrs"}).json()
    assert with_sys["createdAt"].endswith("Z") and with_sys["modifiedAt"].endswith("Z")


def test_create_with_id_then_duplicate_is_409(client):
    body = subscription(URI, id="urn:ngsi-ld:Subscription:fixed")
    assert create(client, body).status_code == 201
    again = create(client, body)
    assert again.status_code == 409
    assert again.json()["type"] == ERR + "AlreadyExists"


def test_retrieve_update_delete_unknown_is_404(client):
    missing = f"{S}/urn:ngsi-ld:Subscription:nope"
    for response in (
        client.get(missing),
        client.patch(missing, json={"isActive": False}),
        client.delete(missing),
    ):
        assert response.status_code == 404
        assert response.json()["type"] == ERR + "ResourceNotFound"
    assert client.get(f"{S}/not a uri").status_code == 400


def test_query_with_paging_and_count(client):
    ids = []
    for index in range(5):
        body = subscription(URI, id=f"urn:ngsi-ld:Subscription:{index}")
        assert create(client, body).status_code == 201
        ids.append(body["id"])
    page = client.get(S, params={"limit": 2, "offset": 1, "count": "true"})
    assert page.status_code == 200
    assert [s["id"] for s in page.json()] == ids[1:3]
    assert page.headers["NGSILD-Results-Count"] == "5"
    assert [s["id"] for s in client.get(S).json()] == ids
    assert client.get(S, params={"limit": 0, "count": "true"}).json() == []
    assert client.get(S, params={"limit": 0}).status_code == 400
    too_many = client.get(S, params={"limit": 1000})
    assert too_many.status_code == 403 and too_many.json()["type"] == ERR + "TooManyResults"
    assert client.get(S, params={"limit": "x"}).status_code == 400


def test_json_ld_in_and_out(client):
    context = {"pm": "https://smartdatamodels.org/dataModel.Environment/pm25"}
    body = dict(subscription(URI, watchedAttributes=["pm"]), **{"@context": context})
    created = create(client, body, headers={"Content-Type": "application/ld+json"})
    assert created.status_code == 201
    got = client.get(created.headers["location"], headers={"Accept": "application/ld+json"})
    assert got.headers["content-type"].startswith("application/ld+json")
    assert got.json()["@context"] == context
    assert got.json()["watchedAttributes"] == ["pm"]
    listed = client.get(S, headers={"Accept": "application/ld+json"}).json()
    assert listed[0]["@context"] == context
    assert got.json()["jsonldContext"].startswith("/ngsi-ld/v1/jsonldContexts/")


def test_update_merges_notification_and_removes_with_null(client):
    created = create(client, subscription(URI, q="pm25>10", throttling=5))
    url = created.headers["location"]
    patch = {
        "q": "pm25>20",
        "throttling": None,
        "notification": {"format": "keyValues", "attributes": ["pm25"]},
    }
    assert client.patch(url, json=patch).status_code == 204
    body = client.get(url).json()
    assert body["q"] == "pm25>20"
    assert "throttling" not in body
    assert body["notification"]["format"] == "keyValues"
    assert body["notification"]["attributes"] == ["pm25"]
    assert body["notification"]["endpoint"]["uri"] == URI
    assert client.patch(url, json={"isActive": False}).status_code == 204
    assert client.get(url).json()["status"] == "paused"
    merge = client.patch(
        url, content=b'{"isActive": true}', headers={"Content-Type": "application/merge-patch+json"}
    )
    assert merge.status_code == 204
    assert client.get(url).json()["status"] == "active"


def test_update_errors(client):
    url = create(client, subscription(URI)).headers["location"]
    assert client.patch(url, json={}).status_code == 400
    assert client.patch(url, json={"id": "urn:ngsi-ld:Subscription:other"}).status_code == 400
    assert client.patch(url, json={"notification": {"format": "xml"}}).status_code == 400
    past = isoformat(datetime.now(UTC) - timedelta(hours=1))
    assert client.patch(url, json={"expiresAt": past}).status_code == 400
    assert client.patch(url, json={"entities": None}).status_code == 400
    assert client.get(url).json()["entities"] == [{"type": "AirQualityObserved"}]


def test_delete(client):
    url = create(client, subscription(URI)).headers["location"]
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert client.get(S).json() == []


def test_tenants_are_isolated(client):
    tenant = {"NGSILD-Tenant": "city2"}
    url = create(client, subscription(URI), headers=tenant).headers["location"]
    assert client.get(url, headers=tenant).status_code == 200
    assert client.get(url).status_code == 404
    assert client.get(S).json() == []
    assert len(client.get(S, headers=tenant).json()) == 1
    unknown = client.get(S, headers={"NGSILD-Tenant": "never"})
    assert unknown.status_code == 404
    assert unknown.json()["type"] == ERR + "NonexistentTenant"


def test_read_only_members_are_ignored(client):
    body = subscription(URI, status="failed", createdAt="2020-01-01T00:00:00Z")
    body["notification"]["timesSent"] = 99
    url = create(client, body).headers["location"]
    got = client.get(url).json()
    assert got["status"] == "active" and got["notification"]["timesSent"] == 0


def test_mqtts_endpoint_is_stored_and_reported_undeliverable(client):
    url = create(client, subscription("mqtts://broker.example.org:8883/city")).headers["location"]
    body = client.get(url).json()
    assert body["notification"]["endpoint"]["uri"] == "mqtts://broker.example.org:8883/city"
    assert body["status"] == "failed"
    assert body["notification"]["status"] == "failed"
    assert "MQTT" in body["notification"]["lastFailureReason"]
    mqtt = create(client, subscription("mqtt://broker.example.org:1883/city"))
    assert client.get(mqtt.headers["location"]).json()["status"] == "active"  # cityos.iot.notify


def test_time_interval_subscription_has_no_triggers(client):
    url = create(client, subscription(URI, timeInterval=60)).headers["location"]
    body = client.get(url).json()
    assert body["timeInterval"] == 60 and "notificationTrigger" not in body


def _future() -> str:
    return isoformat(datetime.now(UTC) + timedelta(days=1))


BAD = [
    ("not an object", [1, 2], "JSON object"),
    ("wrong type", {"type": "Sub"}, "'type' must be 'Subscription'"),
    ("bad id", {"id": "no uri"}, "'id' is not a valid URI"),
    ("no entities nor watched", {"entities": None}, "needs 'entities' or 'watchedAttributes'"),
    ("empty entities", {"entities": []}, "'entities' must be a non-empty array"),
    ("entity without type", {"entities": [{"id": "urn:a:b"}]}, "entities[0].type is required"),
    ("entity unknown member", {"entities": [{"type": "A", "x": 1}]}, "unknown member(s)"),
    ("bad entity id", {"entities": [{"type": "A", "id": "x y"}]}, "entities[0].id"),
    ("bad idPattern", {"entities": [{"type": "A", "idPattern": "("}]}, "idPattern"),
    ("bad type selection", {"entities": [{"type": "(A|"}]}, "type selection"),
    ("empty watched", {"watchedAttributes": []}, "'watchedAttributes' must be a non-empty"),
    ("bad watched name", {"watchedAttributes": ["a b"]}, "forbidden character"),
    ("bad trigger", {"notificationTrigger": ["entityTouched"]}, "unknown notificationTrigger"),
    ("empty triggers", {"notificationTrigger": []}, "'notificationTrigger' must be a non-empty"),
    ("bad q", {"q": "pm25>"}, "q"),
    ("q not a string", {"q": 3}, "'q' must be a string"),
    ("bad geoQ", {"geoQ": {"georel": "near", "geometry": "Point", "coordinates": [1, 2]}}, "near"),
    ("geoQ missing member", {"geoQ": {"georel": "within"}}, "geoQ.geometry is missing"),
    ("negative throttling", {"throttling": -1}, "'throttling' must be 0 or more"),
    ("throttling not a number", {"throttling": "5"}, "'throttling' must be a number"),
    ("zero timeInterval", {"timeInterval": 0}, "'timeInterval' must be greater than 0"),
    (
        "timeInterval with watched",
        {"timeInterval": 10, "watchedAttributes": ["pm25"]},
        "cannot be combined with 'watchedAttributes'",
    ),
    (
        "timeInterval with throttling",
        {"timeInterval": 10, "throttling": 1},
        "cannot be combined with 'throttling'",
    ),
    (
        "timeInterval without entities",
        {"timeInterval": 10, "entities": None, "watchedAttributes": None},
        "needs 'entities' or 'watchedAttributes'",
    ),
    ("expiresAt in the past", {"expiresAt": "2001-01-01T00:00:00Z"}, "in the past"),
    ("expiresAt not a date", {"expiresAt": "tomorrow"}, "not an ISO 8601"),
    ("isActive not boolean", {"isActive": "yes"}, "'isActive' must be true or false"),
    ("unknown member", {"colour": "red"}, "unknown subscription member(s): colour"),
    ("empty name", {"subscriptionName": ""}, "'subscriptionName' must be a non-empty string"),
    ("no notification", {}, "'notification' is required"),
    ("no endpoint", {}, "endpoint' is required"),
]


@pytest.mark.parametrize(("label", "members", "detail"), BAD, ids=[b[0] for b in BAD])
def test_invalid_subscriptions_are_400(shared, label, members, detail):
    body = members if isinstance(members, list) else subscription(URI, **members)
    if label == "no notification":
        body.pop("notification")
    if label == "no endpoint":
        body["notification"] = {"format": "normalized"}
    response = create(shared, body)
    assert response.status_code == 400, response.json()
    problem = response.json()
    assert problem["type"] == ERR + "BadRequestData"
    assert detail in problem["detail"]


BAD_NOTIFICATION = [
    ("relative uri", {"endpoint": {"uri": "/notify"}}, "must be an absolute URI"),
    ("ftp uri", {"endpoint": {"uri": "ftp://x.org/n"}}, "scheme 'ftp' is not supported"),
    ("no host", {"endpoint": {"uri": "http:notify"}}, "has no host"),
    ("bad accept", {"endpoint": {"accept": "text/xml"}}, "'notification.endpoint.accept'"),
    ("bad format", {"format": "xml"}, "unknown notification.format 'xml'"),
    ("sysAttrs not bool", {"sysAttrs": 1}, "'notification.sysAttrs' must be true or false"),
    ("empty attributes", {"attributes": []}, "'attributes' must be a non-empty"),
    ("pick and omit", {"pick": ["a"], "omit": ["b"]}, "cannot both be given"),
    ("unknown member", {"colour": 1}, "unknown notification member(s): colour"),
    (
        "receiverInfo shape",
        {"endpoint": {"receiverInfo": [{"key": "X"}]}},
        "must be an object with 'key' and 'value'",
    ),
    (
        "receiverInfo bad header",
        {"endpoint": {"receiverInfo": [{"key": "X Y", "value": "1"}]}},
        "not a valid HTTP header name",
    ),
    (
        "receiverInfo reserved header",
        {"endpoint": {"receiverInfo": [{"key": "Content-Type", "value": "text/plain"}]}},
        "a header the broker sets itself",
    ),
    (
        "receiverInfo line break",
        {"endpoint": {"receiverInfo": [{"key": "X-A", "value": "a\r\nb"}]}},
        "without line breaks",
    ),
    ("endpoint timeout", {"endpoint": {"timeout": 0}}, "'timeout' must be greater than 0"),
    ("endpoint unknown", {"endpoint": {"colour": 1}}, "unknown notification.endpoint member(s)"),
]


@pytest.mark.parametrize(
    ("label", "notification", "detail"), BAD_NOTIFICATION, ids=[b[0] for b in BAD_NOTIFICATION]
)
def test_invalid_notification_params_are_400(shared, label, notification, detail):
    endpoint = notification.get("endpoint", {})
    uri = endpoint.pop("uri", URI)
    body = subscription(uri, notification=notification)
    response = create(shared, body)
    assert response.status_code == 400, response.json()
    assert detail in response.json()["detail"]


@pytest.mark.parametrize(
    "members",
    [{"csf": "a==b"}, {"scopeQ": "/a"}, {"notification": {"showChanges": True}}],
    ids=["csf", "scopeQ", "showChanges"],
)
def test_unimplemented_members_are_422(shared, members):
    response = create(shared, subscription(URI, **members))
    assert response.status_code == 422
    assert response.json()["type"] == ERR + "OperationNotSupported"


def test_media_types_and_body_errors(shared):
    json_type = {"Content-Type": "application/json"}
    assert shared.post(S, content=b"{", headers=json_type).status_code == 400
    assert shared.post(S, content=b"x", headers={"Content-Type": "text/plain"}).status_code == 415
    with_context = dict(subscription(URI), **{"@context": CORE})
    assert create(shared, with_context).status_code == 400


def test_valid_variants_are_accepted(client):
    variants = [
        subscription(URI, entities=None, watchedAttributes=["pm25"]),
        subscription(URI, entities=[{"type": "A", "idPattern": "^urn:.*"}, {"type": "B|C"}]),
        subscription(
            URI, notificationTrigger=["entityCreated", "entityDeleted"], expiresAt=_future()
        ),
        subscription(
            URI,
            q='pm25>10;airQualityLevel=="moderate"',
            geoQ={
                "georel": "near;maxDistance==500",
                "geometry": "Point",
                "coordinates": [127.3, 36.5],
            },
            throttling=0.5,
            lang="en",
            localOnly=True,
            notification={
                "format": "concise",
                "sysAttrs": True,
                "pick": ["id", "pm25"],
                "endpoint": {
                    "accept": "application/ld+json",
                    "timeout": 1500,
                    "receiverInfo": [{"key": "X-Auth-Token", "value": "t"}],
                },
            },
        ),
        subscription("https://example.org/hook", jsonldContext=CORE),
    ]
    for body in variants:
        response = create(client, body)
        assert response.status_code == 201, response.json()
    assert len(client.get(S).json()) == len(variants)
