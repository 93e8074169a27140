"""Decoding device payloads: JSON and FIWARE UltraLight 2.0.

UltraLight 2.0 (FIWARE IoT Agent UL, "UltraLight 2.0 protocol") sends ``key|value`` pairs joined by
``|``; several measure groups in one message are separated by ``#``; a group may start with an ISO
8601 timestamp (``2026-11-23T09:00:00Z|t|21.5|h|40``). JSON payloads are one object of
``key: value`` or a list of them (multi-measure); an optional ``TimeInstant`` member carries the
observation time. Values stay raw here (UL values are strings): the device profile converts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from cityos.iot.errors import PayloadError

Format = Literal["ul", "json"]
FORMATS: tuple[str, ...] = ("ul", "json")
#: The member (JSON) holding the observation time, as the FIWARE IoT Agents name it.
TIME_KEY = "TimeInstant"
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_GROUPS = 100


@dataclass(frozen=True)
class MeasureGroup:
    """The measures of one observation: raw values by device key, and when (ISO 8601 UTC)."""

    values: dict[str, Any]
    observed_at: str | None = None


def parse_time(text: Any) -> str:
    """An ISO 8601 timestamp with an offset (or ``Z``), normalised to UTC ``...Z``.

    Raises
    ------
    PayloadError
        If ``text`` is not such a timestamp (naive times are refused: their zone is unknown).
    """
    if not isinstance(text, str):
        raise PayloadError(f"timestamp must be a string, got {type(text).__name__}")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PayloadError(f"invalid timestamp {text[:40]!r}") from None
    if moment.tzinfo is None:
        raise PayloadError(f"timestamp {text[:40]!r} has no UTC offset")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _looks_like_time(text: str) -> bool:
    return len(text) >= 10 and text[4:5] == "-" and text[7:8] == "-" and text[:4].isdigit()


def decode_ultralight(payload: bytes) -> list[MeasureGroup]:
    """Decode an UltraLight 2.0 measure payload into measure groups.

    Raises
    ------
    PayloadError
        If the text is not UTF-8, a group has an odd number of fields, a key is empty or repeated.
    """
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise PayloadError("UltraLight payload is not UTF-8 text") from None
    if not text:
        raise PayloadError("empty payload")
    raw_groups = [g.strip() for g in text.split("#")]
    if len(raw_groups) > MAX_GROUPS:
        raise PayloadError(f"more than {MAX_GROUPS} measure groups in one message")
    groups: list[MeasureGroup] = []
    for index, raw in enumerate(raw_groups, 1):
        if not raw:
            raise PayloadError(f"measure group {index} is empty")
        fields = raw.split("|")
        observed = None
        if len(fields) % 2 == 1:
            if not _looks_like_time(fields[0]):
                raise PayloadError(
                    f"measure group {index} has an odd number of fields and does not start "
                    "with a timestamp"
                )
            observed = parse_time(fields[0])
            fields = fields[1:]
        values: dict[str, Any] = {}
        for key, value in zip(fields[::2], fields[1::2], strict=True):
            key = key.strip()
            if not key:
                raise PayloadError(f"measure group {index} has an empty key")
            if key in values:
                raise PayloadError(f"measure group {index} repeats the key {key!r}")
            values[key] = value.strip()
        if not values:
            raise PayloadError(f"measure group {index} has no measures")
        groups.append(MeasureGroup(values, observed))
    return groups


def decode_json(payload: bytes) -> list[MeasureGroup]:
    """Decode a JSON measure payload (one object or a list of objects) into measure groups.

    Raises
    ------
    PayloadError
        If it is not JSON, not an object or list of objects, or a ``TimeInstant`` is invalid.
    """
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"payload is not valid JSON: {exc}") from None
    items = data if isinstance(data, list) else [data]
    if not items:
        raise PayloadError("empty list of measures")
    if len(items) > MAX_GROUPS:
        raise PayloadError(f"more than {MAX_GROUPS} measure groups in one message")
    groups: list[MeasureGroup] = []
    for index, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise PayloadError(f"measure group {index} is not a JSON object")
        values = {k: v for k, v in item.items() if k != TIME_KEY}
        if not values:
            raise PayloadError(f"measure group {index} has no measures")
        observed = parse_time(item[TIME_KEY]) if TIME_KEY in item else None
        groups.append(MeasureGroup(values, observed))
    return groups


def decode(payload: bytes, fmt: str) -> list[MeasureGroup]:
    """Decode ``payload`` in format ``ul`` or ``json``.

    Raises
    ------
    PayloadError
        If the payload is too large or cannot be decoded.
    ValueError
        For an unknown format name.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown payload format {fmt!r}; known: {', '.join(FORMATS)}")
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    return decode_ultralight(payload) if fmt == "ul" else decode_json(payload)


def decode_command(payload: bytes, fmt: str, device_id: str) -> tuple[str, Any]:
    """Decode a command result from ``/cmdexe``: UL ``<device>@<command>|<result>`` or JSON
    ``{"<command>": <result>}``. Returns (command name, result).

    Raises
    ------
    PayloadError
        If the payload has another shape or names another device.
    """
    if fmt == "json":
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise PayloadError(f"command result is not valid JSON: {exc}") from None
        if not isinstance(data, dict) or len(data) != 1:
            raise PayloadError("a JSON command result is an object with exactly one member")
        ((name, result),) = data.items()
        return str(name), result
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise PayloadError("command result is not UTF-8 text") from None
    head, sep, result = text.partition("|")
    device, at, name = head.partition("@")
    if not sep or not at or not name:
        raise PayloadError("an UltraLight command result reads <device>@<command>|<result>")
    if device != device_id:
        raise PayloadError(f"command result names device {device!r}, not {device_id!r}")
    return name, result


def encode_command(device_id: str, name: str, value: Any, fmt: str) -> bytes:
    """The ``/cmd`` payload of a command: UL ``<device>@<command>|<value>`` or JSON."""
    if fmt == "json":
        return orjson.dumps({name: value})
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return f"{device_id}@{name}|{text}".encode()


def encode_ultralight(values: dict[str, Any], observed_at: str | None = None) -> bytes:
    """One UltraLight 2.0 measure group (for simulated devices and tests)."""
    parts = [observed_at] if observed_at else []
    for key, value in values.items():
        parts += [key, _ul_value(value)]
    return "|".join(parts).encode()


def _ul_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
