"""The Notification data type (ETSI GS CIM 009 §5.3.1) and its HTTP binding (§6.10, §7.2).

A notification is ``{"id": "urn:ngsi-ld:Notification:<uuid>", "type": "Notification",
"subscriptionId", "notifiedAt", "data": [...]}``; ``data`` holds the matching entities rendered as
the subscription asks (``format``, ``attributes``/``pick``/``omit``, ``sysAttrs``, ``lang``) and
compacted with the subscription's @context. A deleted entity is ``{"id", "type", "deletedAt"}``.

Over HTTP the body is POSTed with ``Content-Type`` set to the endpoint's ``accept``: with
``application/json`` the @context is named in a ``Link`` header, with ``application/ld+json`` it is
embedded as ``@context``. ``NGSILD-Tenant`` names a non-default tenant and every ``receiverInfo``
pair becomes a header.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import cityos
from cityos.hub.http.negotiation import TENANT_HEADER, link_header
from cityos.hub.model import Entity
from cityos.hub.representation import render_entity
from cityos.hub.storage.base import DEFAULT_TENANT
from cityos.hub.subscriptions.model import Subscription
from cityos.hub.subscriptions.params import JSON_LD

NOTIFICATION_TYPE = "Notification"
USER_AGENT = f"CityOS/{cityos.__version__}"


def render_data(
    sub: Subscription, items: Sequence[tuple[str, Entity]], deleted_at: str
) -> list[dict[str, Any]]:
    """The ``data`` of a notification: each ``(kind, entity)`` rendered for the subscription."""
    compact = sub.notify_ctx.compact_iri
    data: list[dict[str, Any]] = []
    for kind, entity in items:
        if kind == "delete":
            types = [compact(t) for t in entity.types]
            data.append(
                {
                    "id": entity.id,
                    "type": types[0] if len(types) == 1 else types,
                    "deletedAt": deleted_at,
                }
            )
        else:
            data.append(render_entity(entity, compact, sub.render))
    return data


def notification_body(
    sub: Subscription, data: list[dict[str, Any]], notified_at: str
) -> dict[str, Any]:
    """A Notification (§5.3.1) with a fresh id."""
    body: dict[str, Any] = {
        "id": f"urn:ngsi-ld:Notification:{uuid.uuid4()}",
        "type": NOTIFICATION_TYPE,
        "subscriptionId": sub.id,
        "notifiedAt": notified_at,
        "data": data,
    }
    if sub.accept == JSON_LD:
        body["@context"] = sub.notify_ctx.source
    return body


def notification_headers(sub: Subscription) -> dict[str, str]:
    """The HTTP headers of a notification POST (§6.3.5, §6.3.14, §5.2.15 receiverInfo)."""
    headers = {"Content-Type": sub.accept, "User-Agent": USER_AGENT}
    if sub.accept != JSON_LD and sub.context_url:
        headers["Link"] = link_header(sub.context_url)
    if sub.tenant != DEFAULT_TENANT:
        headers[TENANT_HEADER] = sub.tenant
    for key, value in sub.receiver_info:
        headers[key] = value
    return headers


def merge_data(
    batches: Sequence[list[dict[str, Any]]], *, latest_only: bool
) -> list[dict[str, Any]]:
    """Join the data of queued notifications; with ``latest_only`` keep only the last state of
    each entity (throttled subscriptions), in the order of those last states."""
    joined = [item for batch in batches for item in batch]
    if not latest_only:
        return joined
    last: dict[Any, int] = {}
    for position, item in enumerate(joined):
        last[item.get("id", position)] = position
    keep = sorted(last.values())
    return [joined[p] for p in keep]
