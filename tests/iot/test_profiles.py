"""Payload decoding (JSON, UltraLight 2.0), unit conversion and every device profile."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityos.iot.errors import PayloadError
from cityos.iot.mapping import to_attributes
from cityos.iot.payloads import (
    MeasureGroup,
    decode,
    decode_command,
    encode_command,
    encode_ultralight,
    parse_time,
)
from cityos.iot.profiles import PROFILES, check_unit_override, profile
from cityos.iot.units import UNITS, convert

T = "2026-11-23T09:00:00.000Z"

#: One valid raw sample per profile, the attributes expected from it (model units).
SAMPLES = {
    "AirQualityObserved": (
        {"pm10": "80", "pm25": "35.5", "no2": "21", "o3": "30", "co": "0.4", "so2": "3",
         "t": "12.5", "h": "55", "alt": "30"},
        {"pm10": 80.0, "pm25": 35.5, "no2": 0.021, "o3": 0.03, "co": 0.4, "so2": 0.003,
         "temperature": 12.5, "relativeHumidity": 0.55, "height": 30.0},
    ),
    "WeatherObserved": (
        {"t": "-3", "h": "97", "p": "1013.2", "ws": "18", "wd": "270", "r": "0.2",
         "vis": "150", "sr": "0"},
        {"temperature": -3.0, "relativeHumidity": 0.97, "atmosphericPressure": 1013.2,
         "windSpeed": 5.0, "windDirection": 270.0, "precipitation": 0.2, "visibility": 150.0,
         "solarRadiation": 0.0},
    ),
    "TrafficFlowObserved": (
        {"c": "42", "o": "12.5", "s": "38", "l": "1", "dir": "f", "cg": "0"},
        {"intensity": 42, "occupancy": 0.125, "averageVehicleSpeed": 38.0, "laneId": 1,
         "laneDirection": "forward", "congested": "false"},
    ),
    "ParkingSpot": ({"st": "1"}, {"status": "occupied"}),
    "NoiseLevelObserved": (
        {"laeq": "55.2", "lamax": "71", "las": "50"},
        {"LAeq": 55.2, "LAmax": 71.0, "LAS": 50.0},
    ),
    "WaterQualityObserved": (
        {"t": "14", "ph": "7.2", "cond": "420", "tur": "3.1", "o2": "8.5", "lvl": "1.2"},
        {"temperature": 14.0, "pH": 7.2, "conductivity": 420.0, "turbidity": 3.1, "O2": 8.5,
         "waterLevel": 1.2},
    ),
    "ElectricityMeter": (
        {"ei": "1520.5", "ee": "310", "p": "2500", "v": "229"},
        {"totalActiveEnergyImport": 1520.5, "totalActiveEnergyExport": 310.0,
         "totalActivePower": 2.5, "voltage": 229.0},
    ),
    "WasteContainer": (
        {"fl": "80", "w": "61.5", "t": "18", "st": "lidOpen"},
        {"fillingLevel": 0.8, "cargoWeight": 61.5, "temperature": 18.0, "status": "lidOpen"},
    ),
    "Streetlight": (
        {"pw": "1", "il": "70", "lux": "3", "st": "ok"},
        {"powerState": "on", "illuminanceLevel": 0.7, "ambientIlluminance": 3.0, "status": "ok"},
    ),
    "DeviceMeasurement": ({"v": "12", "tv": "dock 3 full"}, {"numValue": 12.0,
                                                             "textValue": "dock 3 full"}),
}  # fmt: skip


def test_every_profile_has_a_sample():
    assert set(SAMPLES) == set(PROFILES)
    assert len(PROFILES) == 10


@pytest.mark.parametrize("name", sorted(SAMPLES))
@pytest.mark.parametrize("fmt", ["ul", "json"])
def test_each_profile_maps_ul_and_json(name: str, fmt: str):
    raw, expected = SAMPLES[name]
    if fmt == "ul":
        payload = "|".join(f"{k}|{v}" for k, v in raw.items()).encode()
    else:
        payload = ("{" + ",".join(f'"{k}": "{v}"' for k, v in raw.items()) + "}").encode()
    (group,) = decode(payload, fmt)
    attrs = to_attributes(profile(name), group, T)
    got = {k: a["value"] for k, a in attrs.items()}
    assert got.keys() == expected.keys()
    for key, want in expected.items():
        if isinstance(want, float):
            assert got[key] == pytest.approx(want), key
        else:
            assert got[key] == want, key
    assert all(a["observedAt"] == T and a["type"] == "Property" for a in attrs.values())
    for m in profile(name).measures:
        if m.attribute in attrs and m.unit and m.kind in ("number", "integer"):
            assert attrs[m.attribute]["unitCode"] == m.unit


def test_ultralight_multi_measure_with_timestamps():
    groups = decode(b"2026-11-23T09:00:00+09:00|t|1#t|2#2026-11-23T01:00:00Z|t|3", "ul")
    assert [g.values["t"] for g in groups] == ["1", "2", "3"]
    assert groups[0].observed_at == "2026-11-23T00:00:00.000Z"
    assert groups[1].observed_at is None
    assert groups[2].observed_at == "2026-11-23T01:00:00.000Z"


def test_json_list_and_time_instant():
    groups = decode(b'[{"t": 1, "TimeInstant": "2026-11-23T09:00:00Z"}, {"t": 2}]', "json")
    assert groups == [
        MeasureGroup({"t": 1}, "2026-11-23T09:00:00.000Z"),
        MeasureGroup({"t": 2}, None),
    ]


@pytest.mark.parametrize(
    ("payload", "fmt", "reason"),
    [
        (b"", "ul", "empty payload"),
        (b"t|1|h", "ul", "odd number of fields"),
        (b"t|1||", "ul", "empty key"),
        (b"t|1|t|2", "ul", "repeats the key"),
        (b"t|1##t|2", "ul", "group 2 is empty"),
        (b"\xff\xfe", "ul", "not UTF-8"),
        (b"2026-13-01T00:00:00Z|t|1", "ul", "invalid timestamp"),
        (b"2026-11-01T00:00:00|t|1", "ul", "no UTC offset"),
        (b"{nope", "json", "not valid JSON"),
        (b"[]", "json", "empty list"),
        (b"[1]", "json", "not a JSON object"),
        (b'{"TimeInstant": "2026-11-23T09:00:00Z"}', "json", "no measures"),
        (b'{"t": 1, "TimeInstant": 5}', "json", "timestamp must be a string"),
        (b"x" * 70000, "json", "exceeds"),
    ],
)
def test_bad_payloads_name_the_reason(payload: bytes, fmt: str, reason: str):
    with pytest.raises(PayloadError, match=reason):
        decode(payload, fmt)


def test_unknown_format_is_a_value_error():
    with pytest.raises(ValueError, match="known: ul, json"):
        decode(b"t|1", "xml")


@pytest.mark.parametrize(
    ("name", "values", "reason"),
    [
        ("AirQualityObserved", {"pm25": "-1"}, "outside the range of pm25"),
        ("AirQualityObserved", {"pm25": "abc"}, "is not a number"),
        ("AirQualityObserved", {"pm25": "nan"}, "not a finite number"),
        ("AirQualityObserved", {"xx": "1"}, "unknown key 'xx'"),
        ("AirQualityObserved", {"h": "140"}, "outside the range of relativeHumidity"),
        ("TrafficFlowObserved", {"c": "2.5"}, "not an integer"),
        ("ParkingSpot", {"st": "maybe"}, "not one of free, occupied"),
        ("DeviceMeasurement", {"tv": 5}, "expected a text"),
        ("NoiseLevelObserved", {"laeq": True}, "got a boolean"),
    ],
)
def test_bad_values_are_refused_with_the_key(name: str, values: dict, reason: str):
    with pytest.raises(PayloadError, match=reason):
        to_attributes(profile(name), MeasureGroup(values), T)


def test_all_problems_of_a_group_are_reported_together():
    with pytest.raises(PayloadError) as info:
        to_attributes(profile("AirQualityObserved"), MeasureGroup({"pm25": "-1", "q": 1}), T)
    assert "pm25" in info.value.detail and "'q'" in info.value.detail


def test_device_unit_override_converts_before_the_range_check():
    prof = profile("WeatherObserved")
    with pytest.raises(PayloadError, match="outside the range"):
        to_attributes(prof, MeasureGroup({"t": "68"}), T)  # 68 °C: too hot for a city
    attrs = to_attributes(prof, MeasureGroup({"t": "68", "ws": "10"}), T, {"t": "FAH", "ws": "MTS"})
    assert attrs["temperature"]["value"] == pytest.approx(20.0)
    assert attrs["windSpeed"]["value"] == 10.0  # sent in m/s instead of the default km/h
    with pytest.raises(PayloadError, match="outside the range"):
        to_attributes(prof, MeasureGroup({"t": "212"}), T, {"t": "FAH"})  # 100 °C


def test_unit_override_checks():
    prof = profile("WeatherObserved")
    check_unit_override(prof, "t", "KEL")
    with pytest.raises(ValueError, match="cannot express"):
        check_unit_override(prof, "t", "KMH")
    with pytest.raises(ValueError, match="unknown unit code"):
        check_unit_override(prof, "t", "XYZ")
    with pytest.raises(ValueError, match="no measure"):
        check_unit_override(prof, "zz", "CEL")


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(ValueError, match="known: AirQualityObserved"):
        profile("Toaster")


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        (32.0, "FAH", "CEL", 0.0),
        (0.0, "CEL", "KEL", 273.15),
        (100.0, "KMH", "MTS", 27.7777778),
        (1500.0, "WTT", "KWT", 1.5),
        (50.0, "P1", "C62", 0.5),
        (25.0, "61", "59", 0.025),
        (101325.0, "PAL", "A97", 1013.25),
    ],
)
def test_unit_conversion_published_values(value, source, target, expected):
    assert convert(value, source, target) == pytest.approx(expected)


def test_conversion_across_quantities_is_refused():
    with pytest.raises(ValueError, match="cannot convert"):
        convert(1.0, "CEL", "KWH")


@given(
    st.sampled_from(sorted(UNITS)),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
)
def test_conversion_round_trips(code: str, value: float):
    base = next(u.code for u in UNITS.values() if u.quantity == UNITS[code].quantity)
    assert convert(convert(value, code, base), base, code) == pytest.approx(value, abs=1e-6)


_keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=8)
_values = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-", min_size=0, max_size=10)


@given(st.dictionaries(_keys, _values, min_size=1, max_size=8))
def test_ultralight_round_trip(values: dict[str, str]):
    (group,) = decode(encode_ultralight(values), "ul")
    assert group.values == values


def test_time_normalisation():
    assert parse_time("2026-11-23T18:00:00.5+09:00") == "2026-11-23T09:00:00.500Z"


@pytest.mark.parametrize("fmt", ["ul", "json"])
def test_command_encoding_round_trip(fmt: str):
    payload = encode_command("light-1", "power", "on", fmt)
    assert decode_command(payload if fmt == "json" else b"light-1@power|OK", fmt, "light-1") == (
        ("power", "on") if fmt == "json" else ("power", "OK")
    )
    if fmt == "ul":
        assert payload == b"light-1@power|on"


@pytest.mark.parametrize(
    ("payload", "fmt", "reason"),
    [
        (b"light-2@power|OK", "ul", "names device 'light-2'"),
        (b"power|OK", "ul", "reads <device>@<command>"),
        (b'{"a": 1, "b": 2}', "json", "exactly one member"),
        (b"{", "json", "not valid JSON"),
    ],
)
def test_bad_command_results(payload: bytes, fmt: str, reason: str):
    with pytest.raises(PayloadError, match=reason):
        decode_command(payload, fmt, "light-1")
