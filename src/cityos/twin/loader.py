"""Loading generated or imported entities into the hub, all or nothing.

A city of ~30,000 entities is far more than one NGSI-LD batch (§5.6.8), and each batch commits
on its own. :func:`load_entities` therefore goes through :meth:`cityos.hub.broker.Hub.bulk_upsert`:
every entity is parsed first (nothing is written on a bad one), then all are written in **one**
storage transaction together with their temporal history and queued notifications. A refused
entity, a storage error or an interruption (Ctrl-C) rolls that transaction back, so the hub holds
exactly what it held before: entities, history, notification outbox and tenants.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cityos.core.errors import BadRequestData
from cityos.hub.broker import Hub
from cityos.hub.storage.base import DEFAULT_TENANT

#: Entities staged per storage call inside the load's transaction.
BATCH_SIZE = 2000

LoadProgress = Callable[[int, int], None]


class TwinLoadError(BadRequestData):
    """The entities could not be loaded; the hub was left as it was before the load."""


@dataclass(frozen=True)
class LoadReport:
    """Outcome of a load: entities written, how many were new, and the time taken [s]."""

    written: int
    created: int
    seconds: float

    @property
    def rate(self) -> float:
        """Entities written per second."""
        return self.written / self.seconds if self.seconds > 0 else float("inf")


def load_entities(
    hub: Hub,
    entities: Sequence[dict[str, Any]],
    *,
    tenant: str = DEFAULT_TENANT,
    batch_size: int = BATCH_SIZE,
    progress: LoadProgress | None = None,
) -> LoadReport:
    """Upsert ``entities`` into ``tenant`` so that either all are written or none.

    Parameters
    ----------
    hub
        The hub (its public Python API is used).
    entities
        Normalized NGSI-LD entities (core @context); ids must not repeat.
    tenant
        Target tenant; ``""`` is the default tenant.
    batch_size
        Entities staged per storage call inside the single transaction.
    progress
        Called with (entities written so far, total).

    Raises
    ------
    TwinLoadError
        If an entity is invalid, repeated or refused by a hub plugin; nothing was written.
    Exception
        Storage errors and interruptions propagate unchanged, after the rollback.
    """
    started = time.perf_counter()
    if not entities:
        return LoadReport(0, 0, 0.0)
    result = hub.bulk_upsert(
        entities, hub.context(), tenant, chunk_size=batch_size, progress=progress
    )
    if result.errors:
        shown = "; ".join(f"{eid or '?'}: {exc.detail}" for eid, exc in result.errors[:3])
        more = f" (and {len(result.errors) - 3} more)" if len(result.errors) > 3 else ""
        raise TwinLoadError(
            f"{len(result.errors)} entities invalid or refused, nothing written: {shown}{more}"
        )
    return LoadReport(len(result.success), len(result.created), time.perf_counter() - started)
