"""The PM service over the hub: read and write stations and pods as NGSI-LD entities."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cityos.hub.broker import EntityQuery, Hub
from cityos.hub.representation import RenderOptions
from cityos.services.mobility.pm.model import (
    Pod,
    Station,
    pod_entity,
    pod_from_entity,
    station_entity,
    station_from_entity,
)


def _all(hub: Hub, entity_type: str, tenant: str) -> list[dict[str, Any]]:
    ctx = hub.context()
    out: list[dict[str, Any]] = []
    limit = hub.settings.max_limit
    offset = 0
    while True:
        page = hub.query_entities(EntityQuery(type=entity_type, limit=limit, offset=offset),
                                  ctx, tenant)  # fmt: skip
        out += hub.render(page.entities, ctx, RenderOptions())
        if len(page.entities) < limit:
            return out
        offset += limit


def load_state(hub: Hub, tenant: str = "") -> tuple[list[Station], list[Pod]]:
    """Stations and pods from the hub, sorted by id."""
    stations = sorted((station_from_entity(e) for e in _all(hub, "PMStation", tenant)),
                      key=lambda s: s.station_id)  # fmt: skip
    pods = sorted((pod_from_entity(e) for e in _all(hub, "PMPod", tenant)),
                  key=lambda p: p.pod_id)  # fmt: skip
    return stations, pods


def save_state(hub: Hub, stations: Sequence[Station], pods: Sequence[Pod], tenant: str = "") -> int:
    """Upsert stations and pods into the hub; returns the number written."""
    bodies = [station_entity(s) for s in stations] + [pod_entity(p) for p in pods]
    result = hub.batch_upsert(bodies, hub.context(), tenant)
    errors = getattr(result, "errors", None)
    if errors:
        from cityos.core.errors import BadRequestData

        raise BadRequestData(f"{len(errors)} PM entities were rejected by the hub")
    return len(bodies)
