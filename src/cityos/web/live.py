"""Live map updates over the hub's Server-Sent Events, through one shared subscription.

The map subscribes like any NGSI-LD client: one subscription of the default tenant,
:data:`LIVE_SUBSCRIPTION_ID`, on every entity type the map draws (:data:`MAP_TYPES`), created or
brought up to date when a page asks for ``/web/config.json``. Pages open its stream
(``GET /ngsi-ld/v1/subscriptions/{id}/notifications/stream``, :mod:`cityos.hub.subscriptions.sse`)
and re-read the layers whose types a notification names. Every open page shares the one
subscription, so pages that close leave nothing behind.

A subscription must have an endpoint (ETSI GS CIM 009 §5.2.15): it is this server's own
``POST /web/notifications``, which acknowledges and drops what it receives. Deliveries are
throttled (:data:`THROTTLING_S`) and carry only ids and types (``pick``); the SSE stream is not
throttled, so pages see a change as soon as its write commits.
"""

from __future__ import annotations

from typing import Any

from cityos.core.errors import AlreadyExists, BadRequestData, CityOSError, ResourceNotFound
from cityos.core.logging import get_logger
from cityos.hub.broker import Hub
from cityos.hub.subscriptions.service import subscriptions_of

log = get_logger(__name__)

#: Id of the map's subscription (default tenant).
LIVE_SUBSCRIPTION_ID = "urn:ngsi-ld:Subscription:cityos-web-map"
#: Entity types the map draws, one per layer source (``SOURCES`` in ``web/src/style.js``).
MAP_TYPES = (
    "NaturalArea",
    "DevelopmentZone",
    "UrbanBlock",
    "CarRestrictedZone",
    "RoadSegment",
    "Building",
    "TransitStop",
    "PointOfInterest",
    "Device",
    "OffStreetParking",
    "AirQualityObserved",
)
#: Least time between two deliveries to the receiver [s] (the SSE stream is not throttled).
THROTTLING_S = 60
#: Path of the receiver that acknowledges the subscription's deliveries.
RECEIVER_PATH = "/web/notifications"


def receiver_uri(host: str, port: int) -> str:
    """The receiver's absolute URI on the address the server answered on (IPv6 bracketed)."""
    name = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{name}:{port}{RECEIVER_PATH}"


def stream_path(subscription_id: str = LIVE_SUBSCRIPTION_ID) -> str:
    """Path of the SSE stream of a subscription."""
    return f"/ngsi-ld/v1/subscriptions/{subscription_id}/notifications/stream"


def subscription_body(receiver: str) -> dict[str, Any]:
    """The map's subscription: every map type, ids and types only, throttled deliveries."""
    return {
        "id": LIVE_SUBSCRIPTION_ID,
        "type": "Subscription",
        "description": "Live updates of the CityOS control-centre map (SSE stream of its page)",
        "entities": [{"type": t} for t in MAP_TYPES],
        "notification": {
            "endpoint": {"uri": receiver},
            "format": "keyValues",
            "pick": ["id", "type"],
        },
        "throttling": THROTTLING_S,
    }


def ensure_live_subscription(hub: Hub, receiver: str) -> str | None:
    """Create the map's subscription, or update it when its receiver or types changed.

    Returns the path of its SSE stream, or None when the hub keeps no subscriptions (the page
    then polls).
    """
    service = subscriptions_of(hub)
    if service.store is None:
        return None
    body = subscription_body(receiver)
    ctx = hub.context()
    try:
        stored = service.get(LIVE_SUBSCRIPTION_ID)
    except ResourceNotFound:
        try:
            service.create(body, ctx)
        except AlreadyExists:
            pass  # another request created it meanwhile
        return stream_path()
    wanted = {key: body[key] for key in ("entities", "notification", "throttling")}
    if any(stored.document.get(key) != value for key, value in wanted.items()):
        try:
            service.update(LIVE_SUBSCRIPTION_ID, wanted, ctx)
        except CityOSError as exc:  # the page still streams with the stored subscription
            log.warning("could not update the map's subscription", extra={"detail": exc.detail})
    return stream_path()


def check_notification(body: Any) -> None:
    """Accept a Notification of the map's subscription (§5.3.1); BadRequestData otherwise."""
    if not isinstance(body, dict) or body.get("type") != "Notification":
        raise BadRequestData("the body must be an NGSI-LD Notification")
    if body.get("subscriptionId") != LIVE_SUBSCRIPTION_ID:
        raise BadRequestData(f"this receiver takes only notifications of {LIVE_SUBSCRIPTION_ID}")
    if not isinstance(body.get("data"), list):
        raise BadRequestData("'data' must be an array of entities")
