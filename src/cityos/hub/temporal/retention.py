"""History retention: how long each tenant's history is kept, and the server's purge task.

A tenant keeps its history ``CITYOS_TEMPORAL_RETENTION_DAYS`` days (by recording time, the
instances' ``modifiedAt``), or as ``CITYOS_TEMPORAL_RETENTION_OVERRIDES`` says for it; ``0`` keeps
it forever. The server purges every ``CITYOS_TEMPORAL_PURGE_INTERVAL_S`` seconds (first a minute
after start, or sooner for shorter intervals); ``cityos hub purge-history`` purges on demand.
"""

from __future__ import annotations

import asyncio
import contextlib

from cityos.core.logging import get_logger
from cityos.hub.broker import Hub
from cityos.hub.temporal.service import TemporalService

log = get_logger(__name__)
#: The longest wait before the first purge after the server starts [s].
FIRST_PURGE_DELAY_S = 60.0


def _logged(tenant: str, count: int) -> None:
    if count:
        log.info("history purged", extra={"tenant": tenant, "instances": count})


async def purge_forever(service: TemporalService, interval_s: float) -> None:
    """Purge expired history every ``interval_s`` seconds until cancelled; a failed purge is
    logged and retried at the next interval."""
    delay = min(interval_s, FIRST_PURGE_DELAY_S)
    while True:
        await asyncio.sleep(delay)
        delay = interval_s
        try:
            await asyncio.to_thread(service.purge_expired, None, _logged)
        except Exception:
            log.exception("history purge failed")


def start_purger(hub: Hub) -> asyncio.Task[None] | None:
    """Start the purge task for ``hub`` when its backend keeps history and the interval is set
    (call from a running event loop); None otherwise."""
    interval = hub.settings.temporal_purge_interval_s
    if interval <= 0 or getattr(hub.storage, "temporal", None) is None:
        return None
    return asyncio.create_task(purge_forever(TemporalService(hub), interval))


async def stop_purger(task: asyncio.Task[None] | None) -> None:
    """Cancel the purge task and wait for it to finish."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
