"""Installing the IoT layer into a hub, in one visible place."""

from __future__ import annotations

from cityos.hub.broker import Hub


def install(hub: Hub) -> None:
    """Register the IoT layer's hub extensions (idempotent):

    * ``cityos.iot.registry_guard`` (:mod:`cityos.iot.guard`): provisioned ``Device`` entities
      change only through the registry;
    * the ``mqtt`` notification transport of the hub's subscriptions (:mod:`cityos.iot.notify`).
    """
    from cityos.iot.guard import install as install_guard
    from cityos.iot.notify import install as install_notify

    install_guard(hub)
    install_notify(hub)
