"""Installing the IoT layer into a hub, in one visible place."""

from __future__ import annotations

from cityos.hub.broker import Hub


def install(hub: Hub) -> None:
    """Register the IoT layer's hub extensions (idempotent): ``cityos.iot.registry_guard``
    (:mod:`cityos.iot.guard`), so provisioned ``Device`` entities change only through the
    registry. (Notifications to ``mqtt://`` endpoints are the hub's own:
    :mod:`cityos.hub.subscriptions.mqtt`.)"""
    from cityos.iot.guard import install as install_guard

    install_guard(hub)
