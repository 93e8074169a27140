"""Only the registry changes the registry: a hub plugin guarding provisioned ``Device`` entities.

A ``Device`` entity carrying ``apiKeyHash`` belongs to the IoT registry. Written through the
NGSI-LD API, a client with the ``write`` scope could otherwise replace the key hash (and speak
for the device), re-activate a revoked device or provision devices without the ``admin`` scope
that ``/iot/v1/devices`` needs. The guard (a ``hub_validate_entity`` hook) refuses any write that
leaves such an entity unless it runs inside :func:`registry_write`, which the registry and the
agent use. Devices of the twin (without ``apiKeyHash``) are not concerned.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from cityos.hub.broker import Hub
from cityos.hub.hookspecs import hookimpl
from cityos.iot.errors import DeviceRejected

PLUGIN_NAME = "cityos.iot.registry_guard"
_TRUSTED: ContextVar[bool] = ContextVar("cityos_iot_registry_write", default=False)


@contextmanager
def registry_write() -> Iterator[None]:
    """Mark the writes made inside as the registry's own (per thread / task)."""
    token = _TRUSTED.set(True)
    try:
        yield
    finally:
        _TRUSTED.reset(token)


class RegistryGuard:
    """The ``hub_validate_entity`` plugin (see the module docstring)."""

    def __init__(self, hub: Hub) -> None:
        ctx = hub.context()
        self.device_type = ctx.expand_term("Device")
        self.key_hash = ctx.expand_term("apiKeyHash")

    @hookimpl
    def hub_validate_entity(self, entity: Any, tenant: str, operation: str) -> None:
        if _TRUSTED.get() or self.device_type not in entity.types:
            return
        if self.key_hash in entity.attrs:
            raise DeviceRejected(
                f"{entity.id} is a provisioned device: it is changed through /iot/v1 only",
                instance=entity.id,
            )


def install(hub: Hub) -> RegistryGuard:
    """Register the guard with ``hub`` (idempotent)."""
    existing = hub.plugins.get_plugin(PLUGIN_NAME)
    if isinstance(existing, RegistryGuard):
        return existing
    guard = RegistryGuard(hub)
    hub.plugins.register(guard, name=PLUGIN_NAME)
    return guard
