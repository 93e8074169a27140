"""NotificationParams and Endpoint (ETSI GS CIM 009 §5.2.14, §5.2.15): the ``notification``
member of a subscription, validated, and the shared checks of subscription members.

``notification`` says how the data is rendered (``attributes``, ``pick``/``omit``, ``format``,
``sysAttrs``) and where it goes (``endpoint``: ``uri``, ``accept``, ``receiverInfo``,
``timeout``). Its read-only members (``status``, ``timesSent``...) are dropped from what clients
send; members CityOS does not implement are :class:`~cityos.core.errors.OperationNotSupported`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cityos.core.errors import BadRequestData, OperationNotSupported
from cityos.hub.model import check_name, is_uri
from cityos.hub.representation import Format, RenderOptions

JSON = "application/json"
JSON_LD = "application/ld+json"
ACCEPTS = (JSON, JSON_LD)
FORMATS: tuple[Format, ...] = ("normalized", "keyValues", "concise")
HTTP_SCHEMES = frozenset({"http", "https"})
MQTT_SCHEMES = frozenset({"mqtt", "mqtts"})
#: Read-only members a client may send back (copied from a GET); they are ignored.
NOTIFICATION_READ_ONLY = frozenset(
    {
        "status", "timesSent", "timesFailed", "lastNotification", "lastSuccess", "lastFailure",
        "lastFailureReason", "deadLetters",
    }
)  # fmt: skip
#: Headers the broker sets itself; receiverInfo may not override them.
RESERVED_HEADERS = frozenset(
    {"content-type", "content-length", "link", "ngsild-tenant", "host", "transfer-encoding",
     "connection"}
)  # fmt: skip
_NOTIFICATION_MEMBERS = frozenset({"attributes", "format", "endpoint", "sysAttrs", "pick", "omit"})
_NOTIFICATION_UNSUPPORTED = frozenset({"showChanges", "join", "joinLevel"})
_ENDPOINT_MEMBERS = frozenset({"uri", "accept", "receiverInfo", "notifierInfo", "timeout"})
_ENDPOINT_UNSUPPORTED = frozenset({"cooldown"})
#: ``notifierInfo`` keys of MQTT endpoints and their allowed values (§5.2.15).
MQTT_NOTIFIER_INFO = {
    "MQTT-Version": frozenset({"mqtt3.1.1", "mqtt5.0"}),
    "MQTT-QoS": frozenset({"0", "1", "2"}),
}
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


@dataclass(frozen=True)
class Endpoint:
    """Where notifications go (§5.2.15); ``timeout_s`` from ``timeout`` [ms], if given."""

    uri: str
    accept: str
    receiver_info: tuple[tuple[str, str], ...]
    timeout_s: float | None
    notifier_info: tuple[tuple[str, str], ...] = ()


def check_members(
    obj: Mapping[str, Any], known: frozenset[str], unsupported: frozenset[str], where: str
) -> None:
    """Refuse members CityOS does not implement (422) and unknown members (400)."""
    not_implemented = sorted(set(obj) & unsupported)
    if not_implemented:
        raise OperationNotSupported(
            f"{where} member(s) not supported by CityOS: {', '.join(not_implemented)}"
        )
    unknown = sorted(set(obj) - known)
    if unknown:
        raise BadRequestData(f"unknown {where} member(s): {', '.join(unknown)}")


def clean_notification(notification: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``notification`` without read-only members, its members checked."""
    cleaned = {k: v for k, v in notification.items() if k not in NOTIFICATION_READ_ONLY}
    check_members(cleaned, _NOTIFICATION_MEMBERS, _NOTIFICATION_UNSUPPORTED, "notification")
    endpoint = cleaned.get("endpoint")
    if isinstance(endpoint, dict):
        check_members(endpoint, _ENDPOINT_MEMBERS, _ENDPOINT_UNSUPPORTED, "notification.endpoint")
    return cleaned


def attribute_names(
    obj: Mapping[str, Any], member: str, expand: Callable[[str], str]
) -> frozenset[str] | None:
    """A non-empty array of attribute names, expanded (None if the member is absent)."""
    if member not in obj:
        return None
    names = obj[member]
    if not isinstance(names, list) or not names:
        raise BadRequestData(f"'{member}' must be a non-empty array of attribute names")
    return frozenset(expand(check_name(n)) for n in names)


def number(
    obj: Mapping[str, Any], member: str, *, positive: bool, unit: str = "seconds"
) -> float | None:
    """A finite number ≥ 0 (> 0 if ``positive``), or None if the member is absent."""
    if member not in obj:
        return None
    value = obj[member]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadRequestData(f"'{member}' must be a number of {unit}")
    if value < 0 or (positive and value == 0):
        bound = "greater than 0" if positive else "0 or more"
        raise BadRequestData(f"'{member}' must be {bound} {unit}, not {value}")
    return float(value)


def parse_endpoint(endpoint: Any) -> Endpoint:
    """Validate ``notification.endpoint`` (§5.2.15)."""
    if not isinstance(endpoint, dict):
        raise BadRequestData("'notification.endpoint' is required and must be an object")
    uri = endpoint.get("uri")
    if not is_uri(uri):
        raise BadRequestData(f"'notification.endpoint.uri' must be an absolute URI, not {uri!r}")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme not in HTTP_SCHEMES | MQTT_SCHEMES:
        raise BadRequestData(
            f"'notification.endpoint.uri' scheme {scheme!r} is not supported; "
            "use http, https, mqtt or mqtts"
        )
    if not parts.netloc:
        raise BadRequestData(f"'notification.endpoint.uri' {uri!r} has no host")
    accept = endpoint.get("accept", JSON)
    if accept not in ACCEPTS:
        raise BadRequestData(
            f"'notification.endpoint.accept' must be one of {', '.join(ACCEPTS)}, not {accept!r}"
        )
    receiver_info: list[tuple[str, str]] = []
    items = endpoint.get("receiverInfo", [])
    if not isinstance(items, list):
        raise BadRequestData("'notification.endpoint.receiverInfo' must be an array")
    for index, pair in enumerate(items):
        where = f"notification.endpoint.receiverInfo[{index}]"
        if not isinstance(pair, dict) or set(pair) != {"key", "value"}:
            raise BadRequestData(f"{where} must be an object with 'key' and 'value'")
        key, value = pair["key"], pair["value"]
        if not isinstance(key, str) or not _HEADER_NAME.match(key):
            raise BadRequestData(f"{where}.key {key!r} is not a valid HTTP header name")
        if key.lower() in RESERVED_HEADERS:
            raise BadRequestData(f"{where}.key {key!r} is a header the broker sets itself")
        if not isinstance(value, str) or any(c in value for c in "\r\n\x00"):
            raise BadRequestData(f"{where}.value must be a string without line breaks")
        receiver_info.append((key, value))
    timeout_ms = number(endpoint, "timeout", positive=True, unit="milliseconds")
    timeout_s = None if timeout_ms is None else timeout_ms / 1000.0
    notifier_info = _notifier_info(endpoint, scheme in MQTT_SCHEMES)
    if scheme in MQTT_SCHEMES:
        after_host = uri.split("://", 1)[1][len(parts.netloc) :]  # raw: '#' and '?' included
        topic = after_host.lstrip("/")
        if not topic or any(c in topic for c in "+#?"):
            raise BadRequestData(
                f"'notification.endpoint.uri' {uri!r} must name one MQTT topic after the host "
                "(mqtt://host[:port]/topic, without '+', '#', query or fragment)"
            )
    return Endpoint(uri, accept, tuple(receiver_info), timeout_s, notifier_info)


def _notifier_info(endpoint: dict[str, Any], mqtt: bool) -> tuple[tuple[str, str], ...]:
    """``notifierInfo``: MQTT-Version and MQTT-QoS of an MQTT endpoint."""
    items = endpoint.get("notifierInfo", [])
    if not isinstance(items, list):
        raise BadRequestData("'notification.endpoint.notifierInfo' must be an array")
    if items and not mqtt:
        raise BadRequestData("'notification.endpoint.notifierInfo' applies to MQTT endpoints")
    found: dict[str, str] = {}
    for index, pair in enumerate(items):
        where = f"notification.endpoint.notifierInfo[{index}]"
        if not isinstance(pair, dict) or set(pair) != {"key", "value"}:
            raise BadRequestData(f"{where} must be an object with 'key' and 'value'")
        key, value = pair["key"], pair["value"]
        if key not in MQTT_NOTIFIER_INFO:
            raise BadRequestData(f"{where}.key must be one of {', '.join(MQTT_NOTIFIER_INFO)}")
        if value not in MQTT_NOTIFIER_INFO[key]:
            allowed = ", ".join(sorted(MQTT_NOTIFIER_INFO[key]))
            raise BadRequestData(f"{where}.value {value!r} is not one of {allowed}")
        if key in found:
            raise BadRequestData(f"{where}.key {key!r} is given twice")
        found[key] = value
    return tuple(found.items())


def render_options(
    notification: dict[str, Any], lang: str | None, expand: Callable[[str], str]
) -> RenderOptions:
    """How the notification data is rendered (§5.2.14: attributes, pick/omit, format,
    sysAttrs; the subscription's ``lang``)."""
    fmt = notification.get("format", "normalized")
    if fmt not in FORMATS:
        raise BadRequestData(
            f"unknown notification.format {fmt!r}; use one of {', '.join(FORMATS)}"
        )
    sys_attrs = notification.get("sysAttrs", False)
    if not isinstance(sys_attrs, bool):
        raise BadRequestData("'notification.sysAttrs' must be true or false")
    attrs = attribute_names(notification, "attributes", expand)
    pick = _member_names(notification, "pick")
    omit = _member_names(notification, "omit") or []
    if pick is not None and omit:
        raise BadRequestData("'notification.pick' and 'notification.omit' cannot both be given")
    if pick is not None:
        picked = frozenset(expand(n) for n in pick if n not in ("id", "type"))
        attrs = picked if attrs is None else attrs & picked
    return RenderOptions(
        format=fmt,
        sys_attrs=sys_attrs,
        attrs=attrs,
        omit=frozenset(expand(n) for n in omit if n not in ("id", "type")),
        pick_id=(pick is None or "id" in pick) and "id" not in omit,
        pick_type=(pick is None or "type" in pick) and "type" not in omit,
        lang=lang,
    )


def _member_names(notification: dict[str, Any], member: str) -> list[str] | None:
    """``pick``/``omit``: entity member names (``id``, ``type`` or attribute names)."""
    if member not in notification:
        return None
    names = notification[member]
    if not isinstance(names, list) or not names:
        raise BadRequestData(f"'notification.{member}' must be a non-empty array of names")
    return [n if n in ("id", "type") else check_name(n) for n in names]
