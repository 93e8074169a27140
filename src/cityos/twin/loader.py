"""Loading generated or imported entities into the hub, all or nothing.

The hub commits each batch on its own (ETSI GS CIM 009 §5.6.8), so a city of ~30,000 entities
spans many transactions. To leave the hub unchanged when anything fails, :func:`load_entities`

1. validates every entity with the hub's own parser first (nothing is written on a bad one),
2. snapshots the entities that the load will overwrite,
3. upserts in batches, and on an error or an interruption (Ctrl-C) deletes what it created and
   restores the snapshot before re-raising.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cityos.core.errors import BadRequestData, CityOSError
from cityos.core.timeutil import now_iso
from cityos.hub.broker import Hub
from cityos.hub.model import parse_entity
from cityos.hub.storage.base import DEFAULT_TENANT

#: Entities per batch upsert.
BATCH_SIZE = 5000

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


def validate_entities(hub: Hub, entities: Sequence[dict[str, Any]]) -> None:
    """Parse every entity as the hub would; TwinLoadError naming the first failures.

    Also refuses repeated ids, which would make the load depend on order.
    """
    ctx = hub.context()
    now = now_iso()
    problems: list[str] = []
    seen: set[str] = set()
    for body in entities:
        try:
            entity = parse_entity(body, ctx.expand_term, now=now)
        except CityOSError as exc:
            problems.append(
                f"{body.get('id', '?') if isinstance(body, dict) else '?'}: {exc.detail}"
            )
            continue
        if entity.id in seen:
            problems.append(f"{entity.id}: repeated id")
        seen.add(entity.id)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise TwinLoadError(
            f"{len(problems)} invalid entities, nothing written: {'; '.join(problems[:3])}{more}"
        )


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
        Normalized NGSI-LD entities (core @context).
    tenant
        Target tenant; ``""`` is the default tenant.
    batch_size
        Entities per batch upsert (at most the hub's ``max_batch_entities``).
    progress
        Called with (entities written so far, total).

    Raises
    ------
    TwinLoadError
        If validation or any batch fails; the hub then holds what it held before.
    """
    started = time.perf_counter()
    if not entities:
        return LoadReport(0, 0, 0.0)
    batch_size = max(1, min(batch_size, hub.settings.max_batch_entities))
    validate_entities(hub, entities)
    ids = [e["id"] for e in entities]
    before = hub.storage.get_entities(tenant, ids) if hub.storage.tenant_exists(tenant) else {}
    created: list[str] = []
    written = 0
    ctx = hub.context()
    try:
        for start in range(0, len(entities), batch_size):
            batch = list(entities[start : start + batch_size])
            result = hub.batch_upsert(batch, ctx, tenant)
            created.extend(result.created)
            if result.errors:
                eid, error = result.errors[0]
                raise TwinLoadError(
                    f"the hub refused {len(result.errors)} entities (first {eid}: {error.detail}); "
                    "the load was rolled back"
                )
            written += len(batch)
            if progress:
                progress(written, len(entities))
    except BaseException:
        _roll_back(hub, tenant, created, before)
        raise
    return LoadReport(written, len(created), time.perf_counter() - started)


def _roll_back(hub: Hub, tenant: str, created: list[str], before: dict[str, Any]) -> None:
    """Delete the entities a failed load created and restore those it overwrote."""
    for start in range(0, len(created), BATCH_SIZE):
        hub.batch_delete(created[start : start + BATCH_SIZE], tenant)
    if before:
        ctx = hub.context()
        old = hub.render(list(before.values()), ctx)
        for start in range(0, len(old), BATCH_SIZE):
            hub.batch_upsert(old[start : start + BATCH_SIZE], ctx, tenant)
