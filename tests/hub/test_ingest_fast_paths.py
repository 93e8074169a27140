"""The ingest fast paths give exactly what the general validation gives, and refuse the same."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityos.core.errors import BadRequestData
from cityos.hub import geo
from cityos.hub.model import parse_attributes, parse_instance

NOW = "2026-12-01T00:00:00Z"
VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"


def expand(term: str) -> str:
    return term if ":" in term else VOCAB + term


def general(raw: object) -> dict:
    return parse_instance(raw, expand, name="a", now=NOW)


SAME = [
    {"type": "Property", "value": 1.5},
    {"type": "Property", "value": 3},
    {"type": "Property", "value": True},
    {"type": "Property", "value": "good"},
    {"type": "Property", "value": ""},
    {"type": "Property", "value": 2, "unitCode": "GQ"},
    {"type": "Property", "value": 2, "observedAt": "2026-11-01T10:00:00Z", "unitCode": "GQ"},
    {"type": "Property", "unitCode": "GQ", "value": 2, "observedAt": "2026-11-01T10:00:00Z"},
    {"observedAt": "2026-11-01T10:00:00.5+09:00", "type": "Property", "value": "x"},
    {"type": "Relationship", "object": "urn:ngsi-ld:Building:1"},
    {"type": "Relationship", "object": "urn:ngsi-ld:B:1", "observedAt": "2026-11-01T10:00:00Z"},
    {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [127.3, 36.49]}},
    {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [-180, 90]}},
    {"type": "GeoProperty", "value": {"coordinates": [1, 2], "type": "Point"}},
    {
        "type": "GeoProperty",
        "value": {"type": "Point", "coordinates": [1.0, 2.0]},
        "observedAt": "2026-11-01T10:00:00Z",
    },
    # shapes the fast path hands over to the general path
    {"type": "Property", "value": {"@value": 4}},
    {"type": "Property", "value": [1, 2]},
    {"type": "Property", "value": {"a": 1}},
    {"type": "Property", "value": 1, "datasetId": "urn:ngsi-ld:Dataset:a"},
    {"type": "Property", "value": 1, "createdAt": "2020-01-01T00:00:00Z"},
    {"type": "Property", "value": 1, "sub": {"type": "Property", "value": 2}},
    {"type": "Relationship", "object": ["urn:a:1", "urn:a:2"]},
    {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [1, 2, 3]}},
    {
        "type": "GeoProperty",
        "value": {"type": "Point", "coordinates": [1, 2], "bbox": [1, 2, 1, 2]},
    },
    {"type": "GeoProperty", "value": {"type": "LineString", "coordinates": [[1, 2], [3, 4]]}},
    {"value": 5},
    {"object": "urn:a:1"},
    7,
    "text",
]


@pytest.mark.parametrize("raw", SAME)
def test_fast_path_equals_general_path(raw: object) -> None:
    got = parse_attributes({"a": raw}, expand, now=NOW)
    want = general(raw)
    assert got == {VOCAB + "a": [want]}
    assert list(got[VOCAB + "a"][0]) == list(want)  # same member order, so the same stored JSON


REFUSED = [
    {"type": "Property", "value": 1, "observedAt": "yesterday"},
    {"type": "Property", "value": 1, "observedAt": 5},
    {"type": "Property", "value": 1, "unitCode": ""},
    {"type": "Property", "value": 1, "unitCode": 3},
    {"type": "Property", "value": None},
    {"type": "Relationship", "object": "not a uri"},
    {"type": "Relationship", "object": 5},
    {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [181, 0]}},
    {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [0, -91]}},
    {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [math.nan, 0]}},
    {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [math.inf, 0]}},
    {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [True, 0]}},
    {"type": "GeoProperty", "value": {"type": "Point", "coordinates": ["1", 0]}},
    {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [1]}},
    {"type": "GeoProperty", "value": {"type": "Pt", "coordinates": [1, 2]}},
    {"type": "Property", "value": 1, "id": "urn:a:1"},
]


@pytest.mark.parametrize("raw", REFUSED)
def test_fast_path_refuses_what_the_general_path_refuses(raw: object) -> None:
    with pytest.raises(BadRequestData) as general_error:
        general(raw)
    with pytest.raises(BadRequestData) as error:
        parse_attributes({"a": raw}, expand, now=NOW)
    assert error.value.detail == general_error.value.detail


def test_plain_point_matches_validate_geojson() -> None:
    point = {"type": "Point", "coordinates": [127, 36.5]}
    fast = geo.plain_point(point)
    assert fast == geo.validate_geojson(point)
    assert fast is not None and fast["coordinates"] is not point["coordinates"]  # a copy
    assert geo.plain_point({"type": "Point", "coordinates": [1, 2], "bbox": [1, 2, 1, 2]}) is None


scalars = st.one_of(
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
)
members = st.fixed_dictionaries(
    {},
    optional={
        "observedAt": st.sampled_from(["2026-11-01T10:00:00Z", "2026-13-01T00:00:00Z", "x"]),
        "unitCode": st.sampled_from(["GQ", "", 5]),
    },
)


@settings(max_examples=300, deadline=None)
@given(value=scalars, extra=members, lon=st.floats(-200, 200), lat=st.floats(-100, 100))
def test_fast_and_general_paths_agree(value: object, extra: dict, lon: float, lat: float) -> None:
    shapes = [
        {"type": "Property", "value": value, **extra},
        {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}, **extra},
    ]
    for raw in shapes:
        try:
            want: object = general(raw)
        except BadRequestData as exc:
            want = exc.detail
        try:
            got: object = parse_attributes({"a": raw}, expand, now=NOW)[VOCAB + "a"][0]
        except BadRequestData as exc:
            got = exc.detail
        assert got == want
