"""Unit conversion between the units devices send and the units of the Smart Data Models.

Units are named by their UN/CEFACT Common Codes (Recommendation 20), as NGSI-LD ``unitCode``
does. Each code belongs to one quantity; conversion goes through the quantity's base unit with
``base = value * scale + offset``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Unit:
    """A unit: its UN/CEFACT code, quantity, and the affine map to the quantity's base unit."""

    code: str
    quantity: str
    symbol: str
    scale: float = 1.0
    offset: float = 0.0


#: The units the profiles use, by UN/CEFACT code (base unit of each quantity first).
UNITS: dict[str, Unit] = {
    u.code: u
    for u in (
        Unit("CEL", "temperature", "°C"),
        Unit("FAH", "temperature", "°F", 5 / 9, -32 * 5 / 9),
        Unit("KEL", "temperature", "K", 1.0, -273.15),
        Unit("GQ", "mass concentration", "µg/m³"),
        Unit("GP", "mass concentration", "mg/m³", 1000.0),
        Unit("59", "volume fraction", "ppm"),
        Unit("61", "volume fraction", "ppb", 1e-3),
        Unit("C62", "ratio", "1"),
        Unit("P1", "ratio", "%", 0.01),
        Unit("MTS", "speed", "m/s"),
        Unit("KMH", "speed", "km/h", 1 / 3.6),
        Unit("A97", "pressure", "hPa"),
        Unit("PAL", "pressure", "Pa", 0.01),
        Unit("KPA", "pressure", "kPa", 10.0),
        Unit("MTR", "length", "m"),
        Unit("KMT", "length", "km", 1000.0),
        Unit("MMT", "precipitation", "mm"),
        Unit("DD", "angle", "°"),
        Unit("2N", "sound level", "dB"),
        Unit("KWH", "energy", "kWh"),
        Unit("WHR", "energy", "Wh", 1e-3),
        Unit("KWT", "power", "kW"),
        Unit("WTT", "power", "W", 1e-3),
        Unit("VLT", "voltage", "V"),
        Unit("KGM", "mass", "kg"),
        Unit("GRM", "mass", "g", 1e-3),
        Unit("D54", "irradiance", "W/m²"),
        Unit("H61", "conductivity", "µS/cm"),
        Unit("M1", "mass per volume", "mg/L"),
        Unit("LUX", "illuminance", "lx"),
        Unit("E50", "count", "vehicles"),
    )
}


def unit(code: str) -> Unit:
    """The unit with UN/CEFACT code ``code``; ValueError naming the known codes otherwise."""
    try:
        return UNITS[code]
    except KeyError:
        known = ", ".join(sorted(UNITS))
        raise ValueError(f"unknown unit code {code!r}; known: {known}") from None


def convertible(source: str, target: str) -> bool:
    """Whether values in ``source`` can be expressed in ``target`` (same quantity)."""
    return unit(source).quantity == unit(target).quantity


def convert(value: float, source: str, target: str) -> float:
    """``value`` in unit ``source`` expressed in unit ``target`` (UN/CEFACT codes).

    >>> round(convert(68.0, "FAH", "CEL"), 6)
    20.0
    >>> convert(36.0, "KMH", "MTS")
    10.0

    Raises
    ------
    ValueError
        For unknown codes or units of different quantities.
    """
    if source == target:
        return value
    a, b = unit(source), unit(target)
    if a.quantity != b.quantity:
        raise ValueError(f"cannot convert {a.quantity} ({source}) to {b.quantity} ({target})")
    base = value * a.scale + a.offset
    return (base - b.offset) / b.scale
