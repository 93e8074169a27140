"""From decoded measures to NGSI-LD attributes of a Smart Data Model (per device profile)."""

from __future__ import annotations

import math
from typing import Any

from cityos.iot.errors import PayloadError
from cityos.iot.payloads import MeasureGroup
from cityos.iot.profiles import Measure, Profile
from cityos.iot.units import convert

_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no"}
MAX_TEXT = 1000


def _number(m: Measure, raw: Any) -> float:
    if isinstance(raw, bool):
        raise PayloadError(f"{m.key}: expected a number, got a boolean")
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw)
        except ValueError:
            raise PayloadError(f"{m.key}: {raw[:40]!r} is not a number") from None
    else:
        raise PayloadError(f"{m.key}: expected a number, got {type(raw).__name__}")
    if not math.isfinite(value):
        raise PayloadError(f"{m.key}: {raw!r} is not a finite number")
    return value


def convert_value(m: Measure, raw: Any, device_unit: str | None = None) -> Any:
    """One raw device value as the model attribute's value (converted, range-checked).

    Raises
    ------
    PayloadError
        Naming the key, for a value of the wrong kind, outside the model's range or not among
        an enumeration's choices.
    """
    if m.kind == "text":
        if not isinstance(raw, str) or len(raw) > MAX_TEXT:
            raise PayloadError(f"{m.key}: expected a text of at most {MAX_TEXT} characters")
        return raw
    if m.kind == "boolean":
        text = str(raw).lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise PayloadError(f"{m.key}: {raw!r} is not a boolean")
    if m.kind == "enum":
        if isinstance(raw, bool):
            text = "true" if raw else "false"
        elif isinstance(raw, int | float) and float(raw).is_integer():
            text = str(int(raw))
        else:
            text = str(raw)
        value = m.aliases.get(text, text)
        if value not in m.choices:
            raise PayloadError(f"{m.key}: {raw!r} is not one of {', '.join(m.choices)}")
        return value
    value = _number(m, raw)
    source = device_unit or m.sent_unit
    if m.unit is not None and source is not None and source != m.unit:
        value = convert(value, source, m.unit)
    lo = -math.inf if m.minimum is None else m.minimum
    hi = math.inf if m.maximum is None else m.maximum
    if not lo <= value <= hi:
        unit = f" {m.unit}" if m.unit else ""
        raise PayloadError(
            f"{m.key}: {value:g}{unit} is outside the range of {m.attribute} [{lo:g}, {hi:g}]"
        )
    if m.kind == "integer":
        if not value.is_integer():
            raise PayloadError(f"{m.key}: {raw!r} is not an integer")
        return int(value)
    return round(value, 6)


def to_attributes(
    prof: Profile,
    group: MeasureGroup,
    observed_at: str,
    units: dict[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """The NGSI-LD Properties (with ``observedAt`` and ``unitCode``) of one measure group.

    Every problem in the group is reported at once; a group with any problem is refused whole.

    Raises
    ------
    PayloadError
        For unknown keys or bad values, listing each.
    """
    units = units or {}
    attrs: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    for key, raw in group.values.items():
        m = prof.measure(key)
        if m is None:
            known = ", ".join(x.key for x in prof.measures)
            problems.append(f"unknown key {key!r} for profile {prof.name} (known: {known})")
            continue
        try:
            value = convert_value(m, raw, units.get(m.key))
        except PayloadError as exc:
            problems.append(exc.detail)
            continue
        prop: dict[str, Any] = {"type": "Property", "value": value, "observedAt": observed_at}
        if m.unit is not None and m.kind in ("number", "integer"):
            prop["unitCode"] = m.unit
        attrs[m.attribute] = prop
    if problems:
        raise PayloadError("; ".join(problems))
    return attrs
