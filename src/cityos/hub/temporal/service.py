"""The temporal API in Python: :class:`TemporalService` (ETSI GS CIM 009 §5.6.11-§5.6.16,
§5.7.3-§5.7.4), with the semantics the HTTP router exposes.

Queries and retrievals come from :class:`~cityos.hub.temporal.reading.TemporalReader` (entity
selection on the current state, deleted entities kept), provision from
:class:`~cityos.hub.temporal.writing.TemporalWriter` (the current state follows the latest
instances); retention is here.
"""

from __future__ import annotations

from collections.abc import Callable

from cityos.core.errors import OperationNotSupported
from cityos.core.timeutil import now_iso
from cityos.hub.broker import Hub
from cityos.hub.temporal.instants import to_us
from cityos.hub.temporal.reading import TemporalPage, TemporalReader
from cityos.hub.temporal.store import TemporalStore
from cityos.hub.temporal.writing import TemporalWriter

__all__ = ["TemporalPage", "TemporalService"]


class TemporalService(TemporalReader, TemporalWriter):
    """Temporal queries, provision and retention over a hub whose backend keeps history."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    @property
    def store(self) -> TemporalStore:  # type: ignore[override]
        """The backend's temporal store."""
        store = getattr(self.hub.storage, "temporal", None)
        if store is None:
            raise OperationNotSupported(
                f"the {type(self.hub.storage).__name__} backend keeps no temporal history"
            )
        return store

    # -- retention ----------------------------------------------------------------------------
    def purge(self, tenant: str, before: str | int) -> int:
        """Delete the tenant's history recorded before ``before`` (ISO 8601 text or µs)."""
        moment = to_us(before) if isinstance(before, str) else before
        return self.store.purge(tenant, moment)

    def purge_expired(
        self, now: str | None = None, log: Callable[[str, int], None] | None = None
    ) -> dict[str, int]:
        """Apply every tenant's retention (``CITYOS_TEMPORAL_RETENTION_DAYS`` and overrides):
        tenant -> instances deleted. Tenants kept forever (``0`` days) are skipped."""
        moment = to_us(now or now_iso())
        purged: dict[str, int] = {}
        for tenant in self.hub.storage.tenants():
            days = self.hub.settings.retention_days(tenant)
            if days <= 0:
                continue
            purged[tenant] = self.store.purge(tenant, moment - int(days * 86_400_000_000))
            if log is not None:
                log(tenant, purged[tenant])
        return purged
