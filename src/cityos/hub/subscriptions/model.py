"""Subscription documents (ETSI GS CIM 009 §5.2.12): validation and the compiled form.

A client's subscription is kept as written (its names not expanded) together with its @context;
:func:`compile_subscription` validates it and prepares, once, everything matching and delivery
need: expanded entity types and attribute names, the compiled ``q`` predicate, the geo-query, the
render options of the notification data and the endpoint (those two from
:mod:`~cityos.hub.subscriptions.params`). Errors are
:class:`~cityos.core.errors.BadRequestData` naming the member; members the specification defines
but CityOS does not implement are :class:`~cityos.core.errors.OperationNotSupported`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cityos.core.errors import BadRequestData
from cityos.core.timeutil import isoformat, parse_datetime
from cityos.hub.geo import GeoQuery, parse_geoquery_object
from cityos.hub.jsonld_context import ActiveContext
from cityos.hub.model import check_entity_id, check_name, is_uri
from cityos.hub.query_eval import Predicate, Threshold, compile_predicate, threshold_of
from cityos.hub.query_language import parse_q
from cityos.hub.representation import RenderOptions
from cityos.hub.storage.base import EntitySelector
from cityos.hub.subscriptions.params import (
    HTTP_SCHEMES,
    attribute_names,
    check_members,
    clean_notification,
    number,
    parse_endpoint,
    render_options,
)
from cityos.hub.type_selection import parse_type_selection

SUBSCRIPTION_TYPE = "Subscription"

#: Trigger bits. ``entityUpdated`` is the three attribute triggers together (§5.2.12).
ENTITY_CREATED, ENTITY_DELETED = 1, 2
ATTRIBUTE_CREATED, ATTRIBUTE_UPDATED, ATTRIBUTE_DELETED = 4, 8, 16
TRIGGER_BITS: dict[str, int] = {
    "entityCreated": ENTITY_CREATED,
    "entityUpdated": ATTRIBUTE_CREATED | ATTRIBUTE_UPDATED | ATTRIBUTE_DELETED,
    "entityDeleted": ENTITY_DELETED,
    "attributeCreated": ATTRIBUTE_CREATED,
    "attributeUpdated": ATTRIBUTE_UPDATED,
    "attributeDeleted": ATTRIBUTE_DELETED,
}
#: Used when ``notificationTrigger`` is absent (§5.2.12).
DEFAULT_TRIGGERS = ("attributeCreated", "attributeUpdated")

_MEMBERS = frozenset(
    {
        "id", "type", "subscriptionName", "description", "entities", "watchedAttributes",
        "notificationTrigger", "timeInterval", "q", "geoQ", "isActive", "notification",
        "expiresAt", "throttling", "lang", "jsonldContext", "localOnly",
    }
)  # fmt: skip
#: Read-only members a client may send back (copied from a GET); they are ignored.
READ_ONLY = frozenset({"status", "createdAt", "modifiedAt"})
_UNSUPPORTED = frozenset({"csf", "scopeQ", "temporalQ", "datasetId"})


@dataclass(frozen=True, eq=False)
class Subscription:
    """A validated subscription, ready for matching and delivery.

    Attributes
    ----------
    tenant, id, document, context, created_at, modified_at
        As stored (see :class:`~cityos.hub.subscriptions.store.StoredSubscription`).
    ctx
        The active context that expands the document's names.
    notify_ctx
        The active context notifications are compacted with (``jsonldContext`` or ``ctx``).
    context_url
        A URL naming ``notify_ctx``, for the ``Link`` header of JSON notifications.
    selectors, patterns
        The ``entities`` member (expanded types) and each one's compiled ``idPattern``; None
        when only ``watchedAttributes`` is given.
    types_only
        Every selector is a plain type (no id, idPattern, ``;`` or parentheses): an entity of
        one of the types is selected, and the type index alone decides.
    watched
        Expanded watched attribute IRIs, or None for any attribute.
    triggers
        Bitwise or of :data:`TRIGGER_BITS`.
    q, geo, geoproperty
        The compiled ``q`` predicate, the geo-query and its expanded GeoProperty IRI.
    threshold
        A numeric term every entity the ``q`` selects satisfies, by which the matcher files
        the subscription (:func:`~cityos.hub.query_eval.threshold_of`); None without one.
    render
        How entities are rendered in the notification data.
    uri, accept, receiver_info, timeout_s, notifier_info
        The endpoint; ``timeout_s`` from ``endpoint.timeout`` [ms] when given;
        ``notifier_info`` the MQTT-Version and MQTT-QoS of an MQTT endpoint.
    throttling, time_interval
        [s]; ``throttling`` 0 means none, ``time_interval`` None means change-driven.
    expires_at
        ``expiresAt`` normalised to :func:`~cityos.core.timeutil.isoformat`, or None.
    is_active
        False while paused.
    """

    tenant: str
    id: str
    document: dict[str, Any]
    context: Any
    ctx: ActiveContext
    notify_ctx: ActiveContext
    context_url: str
    created_at: str
    modified_at: str
    selectors: tuple[EntitySelector, ...] | None
    patterns: tuple[re.Pattern[str] | None, ...]
    types_only: bool
    watched: frozenset[str] | None
    triggers: int
    q: Predicate | None
    geo: GeoQuery | None
    geoproperty: str | None
    render: RenderOptions
    uri: str
    accept: str
    receiver_info: tuple[tuple[str, str], ...]
    timeout_s: float | None
    throttling: float
    time_interval: float | None
    expires_at: str | None
    is_active: bool
    threshold: Threshold | None = None
    notifier_info: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        """``(tenant, id)``: the subscription's identity across tenants."""
        return (self.tenant, self.id)

    @property
    def http_endpoint(self) -> bool:
        """Whether notifications are POSTed over HTTP(S) (else published over MQTT)."""
        return urlsplit(self.uri).scheme.lower() in HTTP_SCHEMES

    def expired(self, now: str) -> bool:
        """Whether ``expiresAt`` (if any) is at or before ``now`` (an isoformat string)."""
        return self.expires_at is not None and self.expires_at <= now

    def live(self, now: str) -> bool:
        """Active and not expired: notifications are produced and delivered."""
        return self.is_active and not self.expired(now)


def clean_document(body: Any) -> dict[str, Any]:
    """Copy a subscription payload without its read-only members, rejecting unknown ones."""
    if not isinstance(body, dict):
        raise BadRequestData("a subscription must be a JSON object")
    document = {k: v for k, v in body.items() if k not in READ_ONLY and k != "@context"}
    check_members(document, _MEMBERS, _UNSUPPORTED, "subscription")
    if isinstance(document.get("notification"), dict):
        document["notification"] = clean_notification(document["notification"])
    return document


def merge_fragment(document: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    """Apply an update (§5.8.2): members replace, ``notification`` merges member by member,
    and ``null`` removes an optional member."""
    merged = dict(document)
    for key, value in fragment.items():
        if key == "notification" and isinstance(value, dict):
            notification = dict(merged.get("notification") or {})
            for member, member_value in value.items():
                if member_value is None:
                    notification.pop(member, None)
                else:
                    notification[member] = member_value
            merged["notification"] = notification
        elif value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def compile_subscription(
    tenant: str,
    document: dict[str, Any],
    context: Any,
    ctx: ActiveContext,
    *,
    notify_ctx: ActiveContext | None = None,
    context_url: str = "",
    created_at: str = "",
    modified_at: str = "",
    now: str | None = None,
) -> Subscription:
    """Validate a cleaned subscription document and compile it.

    Parameters
    ----------
    tenant
        The tenant the subscription belongs to.
    document
        From :func:`clean_document`, with ``id`` set.
    context, ctx
        The @context value and its active context, which expand the document's names.
    notify_ctx, context_url
        The context of notifications (default ``ctx``) and a URL naming it.
    created_at, modified_at
        Timestamps to carry.
    now
        When given, an ``expiresAt`` at or before ``now`` is refused (creation and update).

    Raises
    ------
    BadRequestData
        The first invalid member, named.
    """
    expand = ctx.expand_term
    sub_id = check_entity_id(document.get("id"), where="id")
    if document.get("type") != SUBSCRIPTION_TYPE:
        raise BadRequestData(f"'type' must be {SUBSCRIPTION_TYPE!r}")
    for member in ("subscriptionName", "description", "lang"):
        if member in document and (not isinstance(document[member], str) or not document[member]):
            raise BadRequestData(f"{member!r} must be a non-empty string")
    if "localOnly" in document and not isinstance(document["localOnly"], bool):
        raise BadRequestData("'localOnly' must be true or false")
    if "jsonldContext" in document and not is_uri(document["jsonldContext"]):
        raise BadRequestData("'jsonldContext' must be an absolute URI")
    selectors, patterns = _entities(document, expand)
    watched = attribute_names(document, "watchedAttributes", expand)
    if selectors is None and watched is None:
        raise BadRequestData("a subscription needs 'entities' or 'watchedAttributes' (or both)")
    triggers = _triggers(document)
    time_interval = number(document, "timeInterval", positive=True)
    throttling = number(document, "throttling", positive=False) or 0.0
    if time_interval is not None:
        for member in ("watchedAttributes", "throttling", "notificationTrigger"):
            if member in document:
                raise BadRequestData(f"'timeInterval' cannot be combined with {member!r}")
        if selectors is None:
            raise BadRequestData("a subscription with 'timeInterval' needs 'entities'")
    q = threshold = None
    if "q" in document:
        if not isinstance(document["q"], str):
            raise BadRequestData("'q' must be a string")
        ast = parse_q(document["q"])
        q, threshold = compile_predicate(ast, expand), threshold_of(ast, expand)
    geo = geoproperty = None
    if "geoQ" in document:
        geo = parse_geoquery_object(document["geoQ"])
        geoproperty = expand(check_name(geo.geoproperty, what="geoQ.geoproperty"))
    is_active = document.get("isActive", True)
    if not isinstance(is_active, bool):
        raise BadRequestData("'isActive' must be true or false")
    expires_at = _expires_at(document, now)
    notification = document.get("notification")
    if not isinstance(notification, dict):
        raise BadRequestData("'notification' is required and must be an object")
    endpoint = parse_endpoint(notification.get("endpoint"))
    return Subscription(
        tenant=tenant,
        id=sub_id,
        document=document,
        context=context,
        ctx=ctx,
        notify_ctx=notify_ctx or ctx,
        context_url=context_url,
        created_at=created_at,
        modified_at=modified_at,
        selectors=selectors,
        patterns=patterns,
        types_only=selectors is not None
        and all(
            s.id is None and s.id_pattern is None and all(len(c) == 1 for c in s.types or ((),))
            for s in selectors
        ),
        watched=watched,
        triggers=triggers,
        q=q,
        threshold=threshold,
        geo=geo,
        geoproperty=geoproperty,
        render=render_options(notification, document.get("lang"), expand),
        uri=endpoint.uri,
        accept=endpoint.accept,
        receiver_info=endpoint.receiver_info,
        notifier_info=endpoint.notifier_info,
        timeout_s=endpoint.timeout_s,
        throttling=throttling,
        time_interval=time_interval,
        expires_at=expires_at,
        is_active=is_active,
    )


# -- members -------------------------------------------------------------------------------------


def _entities(
    document: dict[str, Any], expand: Any
) -> tuple[tuple[EntitySelector, ...] | None, tuple[re.Pattern[str] | None, ...]]:
    """The ``entities`` member (§5.2.33 EntitySelector: ``type`` mandatory)."""
    if "entities" not in document:
        return None, ()
    items = document["entities"]
    if not isinstance(items, list) or not items:
        raise BadRequestData("'entities' must be a non-empty array")
    selectors: list[EntitySelector] = []
    patterns: list[re.Pattern[str] | None] = []
    for index, item in enumerate(items):
        where = f"entities[{index}]"
        if not isinstance(item, dict):
            raise BadRequestData(f"{where} must be an object")
        unknown = sorted(set(item) - {"id", "idPattern", "type"})
        if unknown:
            raise BadRequestData(f"unknown member(s) in {where}: {', '.join(unknown)}")
        if not isinstance(item.get("type"), str):
            raise BadRequestData(f"{where}.type is required (a type or type selection)")
        types = parse_type_selection(item["type"], expand)
        entity_id = check_entity_id(item["id"], where=f"{where}.id") if "id" in item else None
        pattern = None
        if "idPattern" in item:
            source = item["idPattern"]
            if not isinstance(source, str) or not source:
                raise BadRequestData(f"{where}.idPattern must be a non-empty string")
            try:
                pattern = re.compile(source)
            except re.error as exc:
                raise BadRequestData(f"{where}.idPattern {source!r} is invalid: {exc}") from None
        selectors.append(
            EntitySelector(id=entity_id, id_pattern=item.get("idPattern"), types=types)
        )
        patterns.append(pattern)
    return tuple(selectors), tuple(patterns)


def _triggers(document: dict[str, Any]) -> int:
    names = document.get("notificationTrigger", list(DEFAULT_TRIGGERS))
    if not isinstance(names, list) or not names:
        raise BadRequestData("'notificationTrigger' must be a non-empty array")
    bits = 0
    for name in names:
        if name not in TRIGGER_BITS:
            known = ", ".join(TRIGGER_BITS)
            raise BadRequestData(f"unknown notificationTrigger {name!r}; known: {known}")
        bits |= TRIGGER_BITS[name]
    return bits


def _expires_at(document: dict[str, Any], now: str | None) -> str | None:
    if "expiresAt" not in document:
        return None
    raw = document["expiresAt"]
    try:
        moment = isoformat(parse_datetime(raw))
    except (ValueError, TypeError):
        raise BadRequestData(f"'expiresAt' is not an ISO 8601 date-time: {raw!r}") from None
    if now is not None and moment <= now:
        raise BadRequestData(f"'expiresAt' {raw} is in the past")
    return moment
