"""The subscription API of the hub (ETSI GS CIM 009 §5.8): create, retrieve, query, update and
delete subscriptions, with the same semantics over HTTP and in-process.

:func:`install` attaches a :class:`SubscriptionService` to a :class:`~cityos.hub.broker.Hub`: it
registers the :class:`~cityos.hub.subscriptions.outbox.NotificationOutbox` plugin, loads every
stored subscription into the in-memory :class:`~cityos.hub.subscriptions.matching.SubscriptionIndex`
(kept current by every create, update and delete made through this service, and reloaded by the
sender when it meets the queued notifications of a subscription it does not know) and owns the
:class:`~cityos.hub.subscriptions.sender.NotificationSender` and the SSE
:class:`~cityos.hub.subscriptions.sse.Broadcaster`. The index lives in the process: several
processes writing to one database each match with the subscriptions they loaded or changed.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from cityos.core.errors import (
    BadRequestData,
    CityOSError,
    OperationNotSupported,
    ResourceNotFound,
    TooManyResults,
)
from cityos.core.logging import get_logger
from cityos.core.timeutil import now_iso
from cityos.hub.broker import Hub
from cityos.hub.jsonld_context import ActiveContext
from cityos.hub.model import check_entity_id
from cityos.hub.storage.base import DEFAULT_TENANT
from cityos.hub.subscriptions.matching import SubscriptionIndex
from cityos.hub.subscriptions.model import (
    DEFAULT_TRIGGERS,
    SUBSCRIPTION_TYPE,
    Subscription,
    clean_document,
    compile_subscription,
    merge_fragment,
)
from cityos.hub.subscriptions.outbox import NotificationOutbox
from cityos.hub.subscriptions.params import JSON
from cityos.hub.subscriptions.sender import NotificationSender
from cityos.hub.subscriptions.sse import Broadcaster
from cityos.hub.subscriptions.store import StoredSubscription, SubscriptionStore

log = get_logger(__name__)

#: The name the outbox plugin is registered under in the hub's plugin manager.
PLUGIN_NAME = "cityos.subscriptions"
#: Why an MQTT endpoint gets no notifications (reported in the subscription's status).
#: Delivers one notification body to a non-HTTP endpoint: ``(delivered, failure reason)``.
Transport = Callable[[Subscription, dict[str, Any], float], tuple[bool, str]]
MQTT_NOT_SUPPORTED = (
    "no transport delivers to this endpoint: mqtt:// is delivered when the IoT layer is "
    "installed (the server does it); MQTT over TLS (mqtts://) is not delivered yet"
)


class SubscriptionService:
    """Subscriptions of one hub: CRUD, the matching index, the outbox, the sender, SSE."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.store: SubscriptionStore | None = getattr(hub.storage, "subscriptions", None)
        self.index = SubscriptionIndex()
        self.broadcaster = Broadcaster()
        #: Delivery of notifications to non-HTTP endpoints, by URI scheme: the layers above
        #: register them (``cityos.iot.notify`` registers ``mqtt``). A transport is called as
        #: ``transport(sub, body, timeout_s)`` and returns ``(delivered, reason)``.
        self.transports: dict[str, Transport] = {}
        self.outbox = NotificationOutbox(self)
        self.sender = NotificationSender(self)
        if self.store is not None:
            for stored in self.store.all():
                try:
                    self.index.put(self._compile(stored, stored.document, None))
                except CityOSError as exc:
                    log.error(
                        "a stored subscription cannot be used",
                        extra={"subscription": stored.id, "detail": exc.detail},
                    )

    def deliverable(self, sub: Subscription) -> bool:
        """Whether this process can deliver the subscription's notifications (HTTP, or a
        registered transport for its endpoint's scheme)."""
        return sub.http_endpoint or urlsplit(sub.uri).scheme.lower() in self.transports

    # -- operations (§5.8.1-§5.8.5) -------------------------------------------------------------
    def create(self, body: Any, ctx: ActiveContext, tenant: str = DEFAULT_TENANT) -> str:
        """Create a subscription (§5.8.1); returns its id. AlreadyExists if the id is taken."""
        store = self._store()
        document = clean_document(body)
        if "id" not in document:
            document = {"id": f"urn:ngsi-ld:Subscription:{uuid.uuid4()}", **document}
        now = now_iso()
        stored = StoredSubscription(tenant, document.get("id"), document, ctx.source, now, now)
        sub = self._compile(stored, document, ctx, now=now)
        stored.id = sub.id
        with self.hub.storage.transaction(tenant):
            pass  # a subscription makes its tenant exist, as a write does
        store.insert(stored)
        self.index.put(sub)
        self.sender.wake()
        return sub.id

    def get(self, sub_id: str, tenant: str = DEFAULT_TENANT) -> StoredSubscription:
        """The stored subscription with its delivery statistics; ResourceNotFound if absent."""
        check_entity_id(sub_id)
        found = self._store().get(self.hub.read_tenant(tenant), sub_id)
        if found is None:
            raise ResourceNotFound(f"subscription {sub_id} not found", instance=sub_id)
        return found

    def page(
        self, tenant: str = DEFAULT_TENANT, *, limit: int | None = None, offset: int = 0
    ) -> tuple[list[StoredSubscription], int]:
        """Subscriptions of a tenant in creation order (§5.8.4) and their total count."""
        settings = self.hub.settings
        limit = settings.default_limit if limit is None else limit
        if limit < 0 or offset < 0:
            raise BadRequestData("'limit' and 'offset' must not be negative")
        if limit > settings.max_limit:
            raise TooManyResults(f"'limit' {limit} is above the maximum of {settings.max_limit}")
        return self._store().page(self.hub.read_tenant(tenant), limit=limit, offset=offset)

    def update(
        self,
        sub_id: str,
        body: Any,
        ctx: ActiveContext | None = None,
        tenant: str = DEFAULT_TENANT,
    ) -> None:
        """Update a subscription (§5.8.2) with a fragment.

        Members replace the stored ones, ``notification`` merges member by member and ``null``
        removes an optional member. ``ctx`` (the request's @context, if it named one) becomes the
        subscription's context; None keeps the stored one. Statistics are kept; throttling and
        periodic timers restart.
        """
        store = self._store()
        stored = self.get(sub_id, tenant)
        fragment = clean_document(body)
        if not fragment:
            raise BadRequestData("the update names no member of the subscription")
        if "id" in fragment and fragment["id"] != sub_id:
            raise BadRequestData(f"the id in the payload differs from the URL ({sub_id})")
        document = merge_fragment(stored.document, fragment)
        document["id"] = sub_id
        if ctx is not None:
            stored.context = ctx.source
        stored.modified_at = now_iso()
        sub = self._compile(
            stored, document, ctx, now=stored.modified_at if "expiresAt" in fragment else None
        )
        stored.document = document
        if not store.replace(stored):
            raise ResourceNotFound(f"subscription {sub_id} not found", instance=sub_id)
        self.index.put(sub)
        self.sender.forget(sub.key)

    def delete(self, sub_id: str, tenant: str = DEFAULT_TENANT) -> None:
        """Delete a subscription (§5.8.5) and the notifications still queued for it."""
        check_entity_id(sub_id)
        name = self.hub.read_tenant(tenant)
        if not self._store().delete(name, sub_id):
            raise ResourceNotFound(f"subscription {sub_id} not found", instance=sub_id)
        self.index.remove(name, sub_id)
        self.sender.forget((name, sub_id))
        self.broadcaster.close((name, sub_id))

    # -- representation (§5.2.12) ---------------------------------------------------------------
    def render(self, stored: StoredSubscription, *, sys_attrs: bool = False) -> dict[str, Any]:
        """The subscription as answered to clients: the members as written, defaults made
        explicit, and the read-only status and statistics (§5.2.12, §5.2.14).

        Names keep the terms of the subscription's own @context, which ``jsonldContext`` names.
        """
        document = copy.deepcopy(stored.document)
        sub = self.index.get(stored.tenant, stored.id)
        now = now_iso()
        out: dict[str, Any] = {"id": stored.id, "type": SUBSCRIPTION_TYPE}
        out.update((k, v) for k, v in document.items() if k not in ("id", "type"))
        out.setdefault("isActive", True)
        if "timeInterval" not in out:
            out.setdefault("notificationTrigger", list(DEFAULT_TRIGGERS))
        notification = out["notification"]
        notification.setdefault("format", "normalized")
        notification["endpoint"].setdefault("accept", JSON)
        stats = stored.stats
        failure_reason = stats.last_failure_reason
        notify_status = stats.status
        if sub is not None and not self.deliverable(sub):
            notify_status, failure_reason = "failed", MQTT_NOT_SUPPORTED
        if notify_status is not None:
            notification["status"] = notify_status
        notification["timesSent"] = stats.times_sent
        notification["timesFailed"] = stats.times_failed
        for member, value in (
            ("lastNotification", stats.last_notification),
            ("lastSuccess", stats.last_success),
            ("lastFailure", stats.last_failure),
            ("lastFailureReason", failure_reason),
        ):
            if value is not None:
                notification[member] = value
        notification["deadLetters"] = stats.dead_letters
        out["status"] = _status(stored, sub, notify_status, now)
        if sub is not None and "jsonldContext" not in out and sub.context_url:
            out["jsonldContext"] = sub.context_url
        if sys_attrs:
            out["createdAt"] = stored.created_at
            out["modifiedAt"] = stored.modified_at
        return out

    def context_of(self, stored: StoredSubscription) -> ActiveContext:
        """The active context of a subscription's names (for a response's Link or @context)."""
        sub = self.index.get(stored.tenant, stored.id)
        return sub.ctx if sub is not None else self.hub.context(stored.context)

    def refresh(self, tenant: str, sub_id: str) -> Subscription | None:
        """Reload one subscription from the store into the index (it may have been created or
        changed by another process sharing the database); None if it is gone or unusable."""
        stored = self.store.get(tenant, sub_id) if self.store is not None else None
        if stored is None:
            self.index.remove(tenant, sub_id)
            return None
        try:
            sub = self._compile(stored, stored.document, None)
        except CityOSError as exc:
            log.error(
                "a stored subscription cannot be used",
                extra={"subscription": sub_id, "detail": exc.detail},
            )
            return None
        self.index.put(sub)
        return sub

    def exists(self, sub_id: str, tenant: str) -> bool:
        """Whether the subscription is known to this process (cheap: the in-memory index)."""
        return self.index.get(tenant, sub_id) is not None

    # -- plumbing -------------------------------------------------------------------------------
    def _store(self) -> SubscriptionStore:
        if self.store is None:
            raise OperationNotSupported(
                f"the {type(self.hub.storage).__name__} backend has no subscription store"
            )
        return self.store

    def _compile(
        self,
        stored: StoredSubscription,
        document: dict[str, Any],
        ctx: ActiveContext | None,
        *,
        now: str | None = None,
    ) -> Subscription:
        """Validate and compile a document with its context (resolved if not given)."""
        active = ctx if ctx is not None else self.hub.context(stored.context)
        notify_ctx = active
        if "jsonldContext" in document:
            if not isinstance(document["jsonldContext"], str):
                raise BadRequestData("'jsonldContext' must be an absolute URI")
            notify_ctx = self.hub.context(document["jsonldContext"])
        return compile_subscription(
            stored.tenant,
            document,
            stored.context if ctx is None else ctx.source,
            active,
            notify_ctx=notify_ctx,
            context_url=self.hub.resolver.context_url(notify_ctx),
            created_at=stored.created_at,
            modified_at=stored.modified_at,
            now=now,
        )


def _status(
    stored: StoredSubscription, sub: Subscription | None, notify_status: str | None, now: str
) -> str:
    """``paused`` (isActive false), ``expired``, ``failed`` (the last delivery failed, or the
    endpoint cannot be served) or ``active``."""
    if stored.document.get("isActive", True) is False:
        return "paused"
    if sub is not None and sub.expired(now):
        return "expired"
    if notify_status == "failed":
        return "failed"
    return "active"


def install(hub: Hub) -> SubscriptionService:
    """Attach subscriptions to a hub (idempotent): the outbox plugin, the index, the sender."""
    plugin = hub.plugins.get_plugin(PLUGIN_NAME)
    if isinstance(plugin, NotificationOutbox):
        return plugin.service
    service = SubscriptionService(hub)
    hub.plugins.register(service.outbox, name=PLUGIN_NAME)
    return service


def subscriptions_of(hub: Hub) -> SubscriptionService:
    """The subscription service of a hub, installing it on first use."""
    return install(hub)
