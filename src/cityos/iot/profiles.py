"""Device profiles: how each device type's keys map onto a FIWARE Smart Data Model.

One table (:data:`PROFILES`) names, per profile, the entity type of the observations and, per
device key, the model attribute, its kind, the model's unit (UN/CEFACT code), the unit devices
send by default and the admissible range. Attribute names, units and ranges follow the Smart Data
Models specifications (smartdatamodels.org: dataModel.Environment, dataModel.Weather,
dataModel.Transportation, dataModel.Parking, dataModel.WaterQuality, dataModel.Energy,
dataModel.WasteManagement, dataModel.Streetlighting, dataModel.Device). A device may override the
unit of a key at provisioning (a US weather station reporting °F); values are converted to the
model's unit before the range check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from cityos.iot.units import convertible

Kind = Literal["number", "integer", "text", "boolean", "enum"]


@dataclass(frozen=True)
class Measure:
    """One device key and the model attribute it feeds.

    ``unit`` is the model's unit code (None: dimensionless or text), ``device_unit`` what devices
    send unless told otherwise (default: the model's unit), ``minimum``/``maximum`` the model's
    range in the model's unit, ``choices`` the enumeration of an ``enum`` and ``aliases`` the
    short codes devices may send for its values.
    """

    key: str
    attribute: str
    kind: Kind = "number"
    unit: str | None = None
    device_unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)

    @property
    def sent_unit(self) -> str | None:
        return self.device_unit or self.unit


@dataclass(frozen=True)
class Profile:
    """A device type: the entity type its observations are written as, and its measures."""

    name: str
    entity_type: str
    description: str
    measures: tuple[Measure, ...]
    commands: tuple[str, ...] = ()

    def measure(self, key: str) -> Measure | None:
        """The measure for a device key or for the model attribute's own name."""
        for m in self.measures:
            if m.key == key or m.attribute == key:
                return m
        return None


def _m(key: str, attribute: str, unit: str | None = None, lo: float | None = None,
       hi: float | None = None, sent: str | None = None) -> Measure:  # fmt: skip
    return Measure(key, attribute, "number", unit, sent, lo, hi)


def _int(key: str, attribute: str, lo: float, hi: float, unit: str | None = None) -> Measure:
    return Measure(key, attribute, "integer", unit, None, lo, hi)


def _enum(key: str, attribute: str, choices: tuple[str, ...], **aliases: str) -> Measure:
    return Measure(key, attribute, "enum", choices=choices, aliases=aliases)


_HUMIDITY = _m("h", "relativeHumidity", "C62", 0.0, 1.0, sent="P1")
_TEMPERATURE = _m("t", "temperature", "CEL", -50.0, 60.0)

#: Every profile, by name (the ``profile`` of a provisioned device).
PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "AirQualityObserved",
            "AirQualityObserved",
            "Air-quality station: particulates, gases, temperature and humidity.",
            (
                _m("pm10", "pm10", "GQ", 0.0, 2000.0),
                _m("pm25", "pm25", "GQ", 0.0, 1000.0),
                _m("no2", "no2", "59", 0.0, 2.0, sent="61"),
                _m("o3", "o3", "59", 0.0, 1.0, sent="61"),
                _m("co", "co", "59", 0.0, 100.0),
                _m("so2", "so2", "59", 0.0, 2.0, sent="61"),
                _TEMPERATURE,
                _HUMIDITY,
                _m("alt", "height", "MTR", 0.0, 500.0),
            ),
            commands=("purifier",),
        ),
        Profile(
            "WeatherObserved",
            "WeatherObserved",
            "Weather station, including visibility for fog.",
            (
                _TEMPERATURE,
                _HUMIDITY,
                _m("p", "atmosphericPressure", "A97", 800.0, 1100.0),
                _m("ws", "windSpeed", "MTS", 0.0, 100.0, sent="KMH"),
                _m("wd", "windDirection", "DD", 0.0, 360.0),
                _m("r", "precipitation", "MMT", 0.0, 500.0),
                _m("vis", "visibility", "MTR", 0.0, 100000.0),
                _m("sr", "solarRadiation", "D54", 0.0, 1500.0),
            ),
        ),
        Profile(
            "TrafficFlowObserved",
            "TrafficFlowObserved",
            "Traffic counter on a lane: vehicles per period, occupancy, mean speed.",
            (
                _int("c", "intensity", 0, 10000, "E50"),
                _m("o", "occupancy", "C62", 0.0, 1.0, sent="P1"),
                _m("s", "averageVehicleSpeed", "KMH", 0.0, 250.0),
                _int("l", "laneId", 0, 20),
                _enum("dir", "laneDirection", ("forward", "backward"), f="forward", b="backward"),
                _enum("cg", "congested", ("true", "false"), **{"1": "true", "0": "false"}),
            ),
        ),
        Profile(
            "ParkingSpot",
            "ParkingSpot",
            "Occupancy sensor of one parking spot.",
            (
                _enum(
                    "st",
                    "status",
                    ("free", "occupied", "closed", "unknown"),
                    **{"0": "free", "1": "occupied"},
                ),
            ),
        ),
        Profile(
            "NoiseLevelObserved",
            "NoiseLevelObserved",
            "Sound-level meter: equivalent, maximum and slow-weighted levels.",
            (
                _m("laeq", "LAeq", "2N", 0.0, 194.0),
                _m("lamax", "LAmax", "2N", 0.0, 194.0),
                _m("las", "LAS", "2N", 0.0, 194.0),
            ),
        ),
        Profile(
            "WaterQualityObserved",
            "WaterQualityObserved",
            "Water or sewage probe.",
            (
                _m("t", "temperature", "CEL", -5.0, 60.0),
                _m("ph", "pH", None, 0.0, 14.0),
                _m("cond", "conductivity", "H61", 0.0, 100000.0),
                _m("tur", "turbidity", None, 0.0, 4000.0),
                _m("o2", "O2", "M1", 0.0, 50.0),
                _m("lvl", "waterLevel", "MTR", 0.0, 50.0),
            ),
        ),
        Profile(
            "ElectricityMeter",
            "ElectricityMeter",
            "Smart electricity meter or rooftop PV inverter (import/export energy, power).",
            (
                _m("ei", "totalActiveEnergyImport", "KWH", 0.0, 1e9),
                _m("ee", "totalActiveEnergyExport", "KWH", 0.0, 1e9),
                _m("p", "totalActivePower", "KWT", -10000.0, 10000.0, sent="WTT"),
                _m("v", "voltage", "VLT", 0.0, 1000.0),
            ),
        ),
        Profile(
            "WasteContainer",
            "WasteContainer",
            "Food-waste bin with a load cell and a fill-level sensor.",
            (
                _m("fl", "fillingLevel", "C62", 0.0, 1.0, sent="P1"),
                _m("w", "cargoWeight", "KGM", 0.0, 5000.0),
                _TEMPERATURE,
                _enum(
                    "st",
                    "status",
                    ("ok", "lidOpen", "dropped", "moved", "burning", "door_open"),
                ),
            ),
        ),
        Profile(
            "Streetlight",
            "Streetlight",
            "Street light controller.",
            (
                _enum("pw", "powerState", ("on", "off", "low", "bootingUp"),
                      **{"1": "on", "0": "off"}),
                _m("il", "illuminanceLevel", "C62", 0.0, 1.0, sent="P1"),
                _m("lux", "ambientIlluminance", "LUX", 0.0, 200000.0),
                _enum("st", "status", ("ok", "defectiveLamp", "columnIssue", "brokenLantern")),
            ),
            commands=("power", "dim"),
        ),
        Profile(
            "DeviceMeasurement",
            "DeviceMeasurement",
            "Any other sensor: one numeric or text value (PM dock load, gas pressure, ...).",
            (
                _m("v", "numValue"),
                Measure("tv", "textValue", "text"),
            ),
        ),
    )
}  # fmt: skip


def profile(name: str) -> Profile:
    """The profile called ``name``; ValueError naming the known profiles otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ValueError(f"unknown device profile {name!r}; known: {known}") from None


def check_unit_override(prof: Profile, key: str, code: str) -> None:
    """Check that a device may send ``key`` of ``prof`` in unit ``code``.

    Raises
    ------
    ValueError
        If the key is unknown, carries no unit, or ``code`` measures another quantity.
    """
    m = prof.measure(key)
    if m is None:
        raise ValueError(f"profile {prof.name} has no measure {key!r}")
    if m.unit is None:
        raise ValueError(f"measure {key!r} of profile {prof.name} has no unit")
    if not convertible(code, m.unit):
        raise ValueError(f"unit {code!r} cannot express {m.attribute} (in {m.unit})")
