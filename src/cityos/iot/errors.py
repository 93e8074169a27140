"""Errors of the IoT layer, in the one CityOS hierarchy (:mod:`cityos.core.errors`)."""

from __future__ import annotations

from cityos.core.errors import CITYOS_PROBLEM_BASE, CityOSError


class BrokerUnavailable(CityOSError):
    """The MQTT broker cannot be installed, started or reached."""

    type_uri = CITYOS_PROBLEM_BASE + "BrokerUnavailable"
    title = "MQTT broker unavailable"
    status = 503


class PayloadError(CityOSError):
    """A device message that cannot be decoded or mapped: it goes to the dead letters."""

    type_uri = CITYOS_PROBLEM_BASE + "BadDevicePayload"
    title = "Bad device payload"
    status = 400


class DeviceRejected(CityOSError):
    """A message or request naming a device that is unknown, revoked or whose key is wrong."""

    type_uri = CITYOS_PROBLEM_BASE + "DeviceRejected"
    title = "Device rejected"
    status = 403
