"""Geo-queries and GeoJSON validation (ETSI GS CIM 009 §4.7, §4.10, §4.5.16)."""

from __future__ import annotations

import copy
import pickle
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from cityos.core.errors import BadRequestData
from cityos.hub.geo import (
    GEOMETRY_TYPES,
    GeoQuery,
    bounding_box,
    feature,
    feature_collection,
    parse_geoquery,
    parse_geoquery_object,
    to_shape,
    validate_geojson,
)

GEOD = Geod(ellps="WGS84")
PROPERTY = settings(max_examples=200, deadline=None)

# A neighbourhood of Sejong 5-1 (about 1.8 km x 2.2 km), shapes with known relations.
CENTRE = [127.30, 36.49]
SQUARE = [[[127.29, 36.48], [127.31, 36.48], [127.31, 36.50], [127.29, 36.50], [127.29, 36.48]]]
SQUARE_ROTATED = [
    [[127.31, 36.48], [127.31, 36.50], [127.29, 36.50], [127.29, 36.48], [127.31, 36.48]]
]
INNER = [
    [[127.295, 36.485], [127.305, 36.485], [127.305, 36.495], [127.295, 36.495], [127.295, 36.485]]
]
SHIFTED = [[[127.30, 36.49], [127.32, 36.49], [127.32, 36.51], [127.30, 36.51], [127.30, 36.49]]]
FAR = [[[127.40, 36.60], [127.41, 36.60], [127.41, 36.61], [127.40, 36.61], [127.40, 36.60]]]


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def polygon(rings: list[Any]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": rings}


def line(*positions: list[float]) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": list(positions)}


def query(georel: str, geometry: dict[str, Any], distance: float | None = None) -> GeoQuery:
    if georel.startswith("near;"):
        kind = georel.split(";")[1]
        return GeoQuery("near", kind, distance, geometry)
    return GeoQuery(georel, None, None, geometry)


def geod_m(a: list[float], b: list[float]) -> float:
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2])


# --- topological georels --------------------------------------------------------------------

INSIDE = point(127.30, 36.49)
ON_EDGE = point(127.29, 36.49)
OUTSIDE = point(127.35, 36.49)
CROSSING = line([127.28, 36.49], [127.32, 36.49])
LINE_INSIDE = line([127.295, 36.49], [127.305, 36.49])


@pytest.mark.parametrize(
    ("georel", "reference", "entity", "expected"),
    [
        # within: the entity lies within the reference geometry
        ("within", polygon(SQUARE), INSIDE, True),
        ("within", polygon(SQUARE), ON_EDGE, False),
        ("within", polygon(SQUARE), OUTSIDE, False),
        ("within", polygon(SQUARE), polygon(INNER), True),
        ("within", polygon(SQUARE), polygon(SHIFTED), False),
        ("within", polygon(SQUARE), LINE_INSIDE, True),
        ("within", polygon(SQUARE), CROSSING, False),
        ("within", polygon(INNER), polygon(SQUARE), False),
        # contains: the entity contains the reference geometry
        ("contains", INSIDE, polygon(SQUARE), True),
        ("contains", INSIDE, polygon(INNER), True),
        ("contains", INSIDE, polygon(FAR), False),
        ("contains", ON_EDGE, polygon(SQUARE), False),
        ("contains", polygon(INNER), polygon(SQUARE), True),
        ("contains", polygon(SQUARE), polygon(INNER), False),
        ("contains", polygon(INNER), polygon(SHIFTED), False),
        ("contains", INSIDE, LINE_INSIDE, True),
        # intersects
        ("intersects", polygon(SQUARE), ON_EDGE, True),
        ("intersects", polygon(SQUARE), INSIDE, True),
        ("intersects", polygon(SQUARE), OUTSIDE, False),
        ("intersects", polygon(SQUARE), CROSSING, True),
        ("intersects", polygon(SQUARE), polygon(SHIFTED), True),
        ("intersects", polygon(SQUARE), polygon(FAR), False),
        ("intersects", CROSSING, line([127.30, 36.48], [127.30, 36.50]), True),
        # disjoint
        ("disjoint", polygon(SQUARE), polygon(FAR), True),
        ("disjoint", polygon(SQUARE), OUTSIDE, True),
        ("disjoint", polygon(SQUARE), ON_EDGE, False),
        ("disjoint", polygon(SQUARE), INSIDE, False),
        ("disjoint", polygon(SQUARE), CROSSING, False),
        # equals (topological: vertex order does not matter)
        ("equals", polygon(SQUARE), polygon(SQUARE_ROTATED), True),
        ("equals", polygon(SQUARE), polygon(INNER), False),
        ("equals", INSIDE, point(127.30, 36.49), True),
        ("equals", INSIDE, ON_EDGE, False),
        ("equals", CROSSING, line([127.32, 36.49], [127.30, 36.49], [127.28, 36.49]), True),
        # overlaps: same dimension, interiors meet, neither contains the other
        ("overlaps", polygon(SQUARE), polygon(SHIFTED), True),
        ("overlaps", polygon(SQUARE), polygon(INNER), False),
        ("overlaps", polygon(SQUARE), polygon(FAR), False),
        ("overlaps", polygon(SQUARE), INSIDE, False),
        ("overlaps", CROSSING, line([127.30, 36.49], [127.34, 36.49]), True),
        (
            "overlaps",
            {"type": "MultiPoint", "coordinates": [CENTRE, [127.35, 36.49]]},
            {"type": "MultiPoint", "coordinates": [CENTRE, [127.25, 36.49]]},
            True,
        ),
    ],
)
def test_topological_georels(
    georel: str, reference: dict[str, Any], entity: dict[str, Any], expected: bool
) -> None:
    q = query(georel, reference)
    assert q.matches(entity) is expected
    if expected and (box := q.prefilter_box()) is not None:
        assert boxes_intersect(box, bounding_box(entity))


def test_prefilter_box_per_georel() -> None:
    square = polygon(SQUARE)
    for georel in ("within", "contains", "intersects", "equals", "overlaps"):
        assert query(georel, square).prefilter_box() == (127.29, 127.31, 36.48, 36.50)
    assert query("disjoint", square).prefilter_box() is None
    assert query("near;minDistance", point(*CENTRE), 10).prefilter_box() is None
    box = query("near;maxDistance", point(*CENTRE), 1000).prefilter_box()
    assert box is not None
    west, east, south, north = box
    # 1 km is about 0.009 deg of latitude and 0.0112 deg of longitude at 36.49 N.
    assert 0.0090 < north - CENTRE[1] < 0.0092
    assert 0.0111 < east - CENTRE[0] < 0.0113
    assert CENTRE[0] - west == pytest.approx(east - CENTRE[0])
    assert CENTRE[1] - south == pytest.approx(north - CENTRE[1])


def test_prefilter_box_gives_up_near_poles_and_antimeridian() -> None:
    assert query("near;maxDistance", point(179.99, 10.0), 5000).prefilter_box() is None
    assert query("near;maxDistance", point(-179.99, 10.0), 5000).prefilter_box() is None
    assert query("near;maxDistance", point(0.0, 89.99), 5000).prefilter_box() is None
    assert query("near;maxDistance", point(0.0, -89.99), 5000).prefilter_box() is None


# --- near -----------------------------------------------------------------------------------


def test_near_point_to_point_is_the_wgs84_geodesic() -> None:
    q = query("near;maxDistance", point(*CENTRE), 500)
    east = [127.305, 36.49]
    assert q.distance_m_to(point(*east)) == pytest.approx(geod_m(CENTRE, east), abs=1e-6)
    assert q.matches(point(*east)) is (geod_m(CENTRE, east) <= 500)


def test_sejong_500_m_selects_exactly_the_geodesic_disc() -> None:
    """Points within 500 m of a centre in Sejong are exactly those whose Geod distance <= 500 m."""
    rng = random.Random(20240501)
    candidates = [
        [CENTRE[0] + i * 0.0004, CENTRE[1] + j * 0.0004]
        for i in range(-20, 21)
        for j in range(-20, 21)
    ]
    for _ in range(2000):  # a dense ring straddling the 500 m circle
        lon, lat, _ = GEOD.fwd(CENTRE[0], CENTRE[1], rng.uniform(0, 360), rng.uniform(495, 505))
        candidates.append([lon, lat])
    q = parse_geoquery("near;maxDistance==500", "Point", "[127.30,36.49]", None)
    assert q is not None
    box = q.prefilter_box()
    assert box is not None
    selected = {i for i, c in enumerate(candidates) if q.matches(point(*c))}
    truth = {i for i, c in enumerate(candidates) if geod_m(CENTRE, c) <= 500}
    assert selected == truth
    assert 400 < len(truth) < len(candidates)
    assert all(box[0] <= candidates[i][0] <= box[1] for i in selected)
    assert all(box[2] <= candidates[i][1] <= box[3] for i in selected)
    farther = parse_geoquery("near;minDistance==500", "Point", "[127.30,36.49]", None)
    assert farther is not None
    outside = {i for i, c in enumerate(candidates) if farther.matches(point(*c))}
    assert outside == {i for i, c in enumerate(candidates) if geod_m(CENTRE, c) >= 500}


def test_near_point_to_line_and_polygon_within_half_a_percent() -> None:
    q = query("near;maxDistance", point(*CENTRE), 1000)
    meridian = line([127.305, 36.48], [127.305, 36.50])
    expected = geod_m(CENTRE, [127.305, 36.49])
    assert q.distance_m_to(meridian) == pytest.approx(expected, rel=0.005)
    east_of_square = [127.32, 36.49]
    to_square = query("near;maxDistance", polygon(SQUARE), 1000)
    expected = geod_m([127.31, 36.49], east_of_square)
    assert to_square.distance_m_to(point(*east_of_square)) == pytest.approx(expected, rel=0.005)
    assert to_square.matches(point(*east_of_square)) is (expected <= 1000)
    assert to_square.distance_m_to(INSIDE) == 0.0
    assert to_square.distance_m_to(polygon(SHIFTED)) == 0.0


def test_near_multipoint_uses_the_closest_member() -> None:
    q = query("near;maxDistance", point(*CENTRE), 300)
    members = {"type": "MultiPoint", "coordinates": [[127.35, 36.49], [127.302, 36.49]]}
    assert q.distance_m_to(members) == pytest.approx(geod_m(CENTRE, [127.302, 36.49]), abs=1e-6)
    assert q.matches(members)
    reverse = query("near;minDistance", members, 100)
    assert reverse.distance_m_to(point(*CENTRE)) == pytest.approx(q.distance_m_to(members))


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (polygon([[[0, 0], [1, 0], [1, 1], [0, 1]]]), "not closed"),
        (polygon([[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]), "Self-intersection"),
        (polygon([[[0, 0], [1, 0], [0, 0]]]), "at least 4 positions"),
        (
            polygon([[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], [[5, 5], [6, 5], [6, 6], [5, 5]]]),
            "Hole lies outside shell",
        ),
        (point(127.0, 91.0), "latitude 91.0 is outside [-90, 90]"),
        (point(181, 36), "longitude 181 is outside [-180, 180]"),
        ({"type": "Point", "coordinates": [[127.0, 36.0]]}, "wrong nesting depth for Point"),
        (
            {"type": "LineString", "coordinates": [127.0, 36.0]},
            "wrong nesting depth for LineString",
        ),
        ({"type": "Polygon", "coordinates": [[127.0, 36.0], [1, 2]]}, "wrong nesting depth"),
        ({"type": "MultiPolygon", "coordinates": SQUARE}, "wrong nesting depth for MultiPolygon"),
        (line([127.0, 36.0]), "at least 2 positions"),
        (line([127.0, 36.0], [127.0, 36.0]), "2 distinct positions"),
        ({"type": "Point", "coordinates": ["127.3", "36.49"]}, "must be a number, got string"),
        ({"type": "Point", "coordinates": [True, 36.49]}, "must be a number, got boolean"),
        ({"type": "Point", "coordinates": [float("nan"), 36.49]}, "finite"),
        ({"type": "Point", "coordinates": [127.3]}, "2 or 3 numbers"),
        ({"type": "Point", "coordinates": [127.3, 36.5, 10, 4]}, "2 or 3 numbers"),
        (line([127.0, 36.0, 5.0], [127.1, 36.1]), "mixes 2D and 3D"),
        ({"type": "Circle", "coordinates": [127.3, 36.49]}, "unknown geometry type 'Circle'"),
        ({"type": ["Point"], "coordinates": [127.3, 36.49]}, "unknown geometry type"),
        ({"type": "GeometryCollection", "geometries": []}, "GeometryCollection is not supported"),
        ({"coordinates": [127.3, 36.49]}, "no 'type'"),
        ({"type": "Point"}, "no 'coordinates'"),
        ([127.3, 36.49], "must be a GeoJSON geometry object, got array"),
        ({"type": "MultiPoint", "coordinates": []}, "at least 1 positions"),
        ({"type": "Point", "coordinates": [1, 2], "bbox": [1, 2]}, "bbox"),
    ],
)
def test_invalid_geometries_are_rejected(value: object, message: str) -> None:
    with pytest.raises(BadRequestData) as caught:
        validate_geojson(value, where="location")
    assert message in caught.value.detail
    assert caught.value.detail.startswith("location")


def test_error_paths_point_at_the_offending_position() -> None:
    bad = {"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]], [[0, 0], [1, "x"]]]}
    with pytest.raises(BadRequestData, match=r"location\.coordinates\[1\]\[1\]\[1\] must be"):
        validate_geojson(bad, where="location")


def test_validation_normalises() -> None:
    raw = {"type": "Point", "coordinates": (127, 36.49), "bbox": [127, 36.49, 127, 36.49], "x": 1}
    assert validate_geojson(raw) == {"type": "Point", "coordinates": [127, 36.49]}
    assert isinstance(validate_geojson(raw)["coordinates"][0], int)
    three_d = line([127.0, 36.0, 10], [127.1, 36.1, 12.5])
    assert validate_geojson(three_d) == three_d
    assert validate_geojson(polygon(SQUARE)) == polygon(SQUARE)


def test_bounding_box_and_shape() -> None:
    assert bounding_box(point(*CENTRE)) == (127.30, 127.30, 36.49, 36.49)
    assert bounding_box(polygon(SQUARE)) == (127.29, 127.31, 36.48, 36.50)
    multi = {"type": "MultiPolygon", "coordinates": [SQUARE, FAR]}
    assert bounding_box(multi) == (127.29, 127.41, 36.48, 36.61)
    assert to_shape(point(*CENTRE)).equals(shapely.Point(127.30, 36.49))
    assert to_shape(multi).geom_type == "MultiPolygon"


# --- query parameters -----------------------------------------------------------------------


def test_parse_geoquery_forms() -> None:
    assert parse_geoquery(None, None, None, None) is None
    assert parse_geoquery(None, None, None, "location") is None
    q = parse_geoquery("near;maxDistance==500", "Point", "[127.3,36.49]", None)
    assert q == GeoQuery("near", "maxDistance", 500.0, point(127.3, 36.49), "location")
    encoded = parse_geoquery("near%3BmaxDistance%3D%3D500", "point", "%5B127.3%2C36.49%5D", None)
    assert encoded == q
    assert parse_geoquery("near;maxDistance==500", "Point", [127.3, 36.49], " location ") == q
    within = parse_geoquery("within", "Polygon", SQUARE, "position")
    assert within is not None and within.georel == "within" and within.geoproperty == "position"
    assert within.distance_kind is None and within.distance_m is None
    fraction = parse_geoquery("near;minDistance==12.5", "Point", "[127.3,36.49]", None)
    assert fraction is not None and fraction.distance_m == 12.5
    assert fraction.georel_expression == "near;minDistance==12.5"
    assert q.georel_expression == "near;maxDistance==500"


@pytest.mark.parametrize(
    ("georel", "geometry", "coordinates", "message"),
    [
        ("near;maxDistance==500", None, "[127.3,36.49]", "geometry missing"),
        ("within", None, None, "geometry and coordinates missing"),
        (None, "Point", "[127.3,36.49]", "georel missing"),
        ("nearby", "Point", "[127.3,36.49]", "Unknown georel 'nearby'"),
        ("", "Point", "[127.3,36.49]", "Unknown georel ''"),
        ("near", "Point", "[127.3,36.49]", "needs a distance modifier"),
        ("near;distance==5", "Point", "[127.3,36.49]", "Invalid near modifier"),
        ("near;maxDistance=5", "Point", "[127.3,36.49]", "Invalid near modifier"),
        ("near;maxDistance==-5", "Point", "[127.3,36.49]", ">= 0"),
        ("near;maxDistance==abc", "Point", "[127.3,36.49]", "must be a number of metres"),
        ("near;maxDistance==1e999", "Point", "[127.3,36.49]", "finite"),
        ("near;maxDistance==5;minDistance==1", "Point", "[127.3,36.49]", "number of metres"),
        ("within;maxDistance==5", "Polygon", "[]", "takes no modifier"),
        ("within", "Circle", "[127.3,36.49]", "Unsupported geometry 'Circle'"),
        ("within", "Point", "127.3,36.49", "not a JSON array"),
        ("within", "Point", "[127.3,36.49", "not a JSON array"),
        ("within", "Point", '{"lon": 127.3}', "must be a JSON array, got object"),
        ("within", "Point", "[[127.3,36.49]]", "wrong nesting depth for Point"),
        ("within", "LineString", "[127.3,36.49]", "wrong nesting depth for LineString"),
        ("within", "Polygon", "[[[0,0],[1,1],[1,0],[0,1],[0,0]]]", "Self-intersection"),
        ("within", "Point", "[127.3,96.49]", "latitude 96.49 is outside"),
    ],
)
def test_parse_geoquery_errors(
    georel: str | None, geometry: str | None, coordinates: str | None, message: str
) -> None:
    with pytest.raises(BadRequestData) as caught:
        parse_geoquery(georel, geometry, coordinates, None)
    assert message in caught.value.detail


def test_parse_geoquery_object() -> None:
    body = {"geometry": "Point", "coordinates": [127.3, 36.49], "georel": "near;maxDistance==500"}
    q = parse_geoquery_object(body)
    assert q == parse_geoquery("near;maxDistance==500", "Point", "[127.3,36.49]", None)
    assert parse_geoquery_object({**body, "coordinates": "[127.3,36.49]"}) == q
    assert parse_geoquery_object(q.to_object()) == q
    assert q.to_object() == {**body, "geoproperty": "location"}
    for broken, message in [
        ({"geometry": "Point", "coordinates": [127.3, 36.49]}, "geoQ.georel is missing"),
        ({**body, "coordinates": 5}, "geoQ.coordinates has the wrong type"),
        ({**body, "geoproperty": 3}, "geoQ.geoproperty must be a string"),
        ({**body, "georel": "near"}, "needs a distance modifier"),
    ]:
        with pytest.raises(BadRequestData, match=message):
            parse_geoquery_object(broken)
    with pytest.raises(BadRequestData, match="geoQ must be a JSON object"):
        parse_geoquery_object([body])  # type: ignore[arg-type]


def test_geoquery_checks_its_fields() -> None:
    with pytest.raises(BadRequestData, match="Unknown georel"):
        GeoQuery("inside", None, None, point(*CENTRE))
    with pytest.raises(BadRequestData, match="needs maxDistance or minDistance"):
        GeoQuery("near", None, None, point(*CENTRE))
    with pytest.raises(BadRequestData, match="takes no distance"):
        GeoQuery("within", "maxDistance", 5.0, polygon(SQUARE))
    with pytest.raises(BadRequestData, match=">= 0"):
        GeoQuery("near", "maxDistance", -1.0, point(*CENTRE))
    with pytest.raises(BadRequestData, match="geometry: unknown geometry type"):
        GeoQuery("within", None, None, {"type": "Box", "coordinates": []})


def test_geoquery_copies_and_hashes_after_use() -> None:
    q = query("within", polygon(SQUARE))
    assert q.matches(INSIDE)
    clone = copy.deepcopy(q)
    assert clone == q and hash(clone) == hash(q)
    restored = pickle.loads(pickle.dumps(q))
    assert restored == q and restored.matches(INSIDE) and not restored.matches(OUTSIDE)


def test_matching_from_many_threads() -> None:
    q = query("within", polygon(SQUARE))
    entities = [point(127.28 + i * 0.0001, 36.49) for i in range(400)]
    expected = [q.matches(e) for e in entities]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: [q.matches(e) for e in entities], range(16)))
    assert all(r == expected for r in results)


# --- GeoJSON output -------------------------------------------------------------------------


def test_feature_and_collection() -> None:
    attrs = {
        "id": "ignored",
        "@context": "ignored",
        "location": {"type": "GeoProperty", "value": point(*CENTRE)},
        "name": {"type": "Property", "value": "Sejong"},
    }
    single = feature(
        "urn:ngsi-ld:Park:1", "Park", point(*CENTRE), attrs, context="https://ctx.example/c"
    )
    assert single == {
        "id": "urn:ngsi-ld:Park:1",
        "type": "Feature",
        "geometry": point(*CENTRE),
        "properties": {
            "type": "Park",
            "location": {"type": "GeoProperty", "value": point(*CENTRE)},
            "name": {"type": "Property", "value": "Sejong"},
        },
        "@context": "https://ctx.example/c",
    }
    unlocated = feature("urn:ngsi-ld:Park:2", ["Park", "Garden"], None, {})
    assert unlocated["geometry"] is None and "@context" not in unlocated
    assert unlocated["properties"] == {"type": ["Park", "Garden"]}
    collection = feature_collection([unlocated], context=["https://ctx.example/c"])
    assert collection == {
        "type": "FeatureCollection",
        "features": [unlocated],
        "@context": ["https://ctx.example/c"],
    }
    assert feature_collection([]) == {"type": "FeatureCollection", "features": []}


# --- properties -----------------------------------------------------------------------------


def boxes_intersect(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1] and a[2] <= b[3] and b[2] <= a[3]


@PROPERTY
@given(
    lon=st.floats(-180, 180),
    lat=st.floats(-90, 90),
    distance=st.one_of(st.floats(0, 2000), st.floats(0, 3_000_000)),
    azimuth=st.floats(-180, 180),
    fraction=st.floats(0, 1.5),
)
def test_prefilter_never_loses_a_near_point(
    lon: float, lat: float, distance: float, azimuth: float, fraction: float
) -> None:
    q = query("near;maxDistance", point(lon, lat), distance)
    far_lon, far_lat, _ = GEOD.fwd(lon, lat, azimuth, distance * fraction)
    target = point(float(far_lon), float(far_lat))
    box = q.prefilter_box()
    if q.matches(target) and box is not None:
        assert box[0] <= target["coordinates"][0] <= box[1]
        assert box[2] <= target["coordinates"][1] <= box[3]


@PROPERTY
@given(
    lon=st.floats(-170, 170),
    lat=st.floats(-80, 80),
    size=st.floats(0.0001, 0.05),
    distance=st.floats(0, 20_000),
    azimuth=st.floats(-180, 180),
    fraction=st.floats(0, 1.2),
    reference_is_polygon=st.booleans(),
)
def test_prefilter_never_loses_a_near_shape(
    lon: float,
    lat: float,
    size: float,
    distance: float,
    azimuth: float,
    fraction: float,
    reference_is_polygon: bool,
) -> None:
    square = polygon(
        [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]]
    )
    reference = square if reference_is_polygon else point(lon, lat)
    q = query("near;maxDistance", reference, distance)
    # an entity segment starting at a point near the reference's corner
    x, y, _ = GEOD.fwd(lon, lat, azimuth, distance * fraction)
    x2, y2, _ = GEOD.fwd(x, y, azimuth + 90, 500.0)
    entity = line([float(x), float(y)], [float(x2), float(y2)])
    box = q.prefilter_box()
    if box is not None and q.matches(entity):
        assert boxes_intersect(box, bounding_box(entity))


def _coordinate(scale: int = 1_000) -> st.SearchStrategy[float | int]:
    return st.one_of(
        st.integers(-179, 179),
        st.integers(-179 * scale, 179 * scale).map(lambda v: v / scale),
    )


def _position(three_d: bool) -> st.SearchStrategy[list[float | int]]:
    lon = _coordinate()
    lat = st.integers(-89_000, 89_000).map(lambda v: v / 1_000)
    if three_d:
        return st.tuples(lon, lat, st.floats(-500, 9000, allow_nan=False)).map(list)
    return st.tuples(lon, lat).map(list)


@st.composite
def rectangle(draw: st.DrawFn, x0: float, y0: float, with_hole: bool) -> list[Any]:
    width = draw(st.integers(10, 5_000)) / 1_000
    height = draw(st.integers(10, 5_000)) / 1_000
    x1, y1 = x0 + width, y0 + height
    rings = [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]
    if with_hole:
        hx0, hy0, hx1, hy1 = x0 + width / 4, y0 + height / 4, x1 - width / 4, y1 - height / 4
        rings.append([[hx0, hy0], [hx0, hy1], [hx1, hy1], [hx1, hy0], [hx0, hy0]])
    return rings


@st.composite
def geometries(draw: st.DrawFn) -> dict[str, Any]:
    gtype = draw(st.sampled_from(GEOMETRY_TYPES))
    three_d = draw(st.booleans()) and gtype not in ("Polygon", "MultiPolygon")
    position = _position(three_d)

    def a_line() -> list[Any]:
        positions = draw(st.lists(position, min_size=2, max_size=6))
        if all(p[:2] == positions[0][:2] for p in positions):
            positions[-1] = [
                positions[0][0] + (1 if positions[0][0] < 0 else -1),
                *positions[0][1:],
            ]
        return positions

    if gtype == "Point":
        coordinates: Any = draw(position)
    elif gtype == "MultiPoint":
        coordinates = draw(st.lists(position, min_size=1, max_size=6))
    elif gtype == "LineString":
        coordinates = a_line()
    elif gtype == "MultiLineString":
        coordinates = [a_line() for _ in range(draw(st.integers(1, 3)))]
    elif gtype == "Polygon":
        x0, y0 = draw(st.integers(-170, 160)), draw(st.integers(-80, 70))
        coordinates = draw(rectangle(x0, y0, draw(st.booleans())))
    else:
        x0, y0 = draw(st.integers(-170, 150)), draw(st.integers(-80, 70))
        coordinates = [draw(rectangle(x0 + 6 * i, y0, draw(st.booleans()))) for i in range(3)]
    return {"type": gtype, "coordinates": coordinates}


def _as_floats(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_as_floats(v) for v in value]
    return float(value)


@PROPERTY
@given(geometry=geometries())
def test_geometry_round_trip(geometry: dict[str, Any]) -> None:
    valid = validate_geojson(geometry)
    assert valid == geometry
    assert validate_geojson(valid) == valid
    mapped = shapely.geometry.mapping(to_shape(valid))
    assert mapped["type"] == valid["type"]
    assert _as_floats(mapped["coordinates"]) == _as_floats(valid["coordinates"])
    min_lon, max_lon, min_lat, max_lat = bounding_box(valid)
    bounds = to_shape(valid).bounds
    assert (min_lon, min_lat, max_lon, max_lat) == pytest.approx(bounds)


@PROPERTY
@given(
    a=st.tuples(st.floats(-180, 180), st.floats(-90, 90)),
    b=st.tuples(st.floats(-180, 180), st.floats(-90, 90)),
)
def test_point_distance_is_geodesic(a: tuple[float, float], b: tuple[float, float]) -> None:
    q = query("near;minDistance", point(*a), 0)
    assert q.distance_m_to(point(*b)) == pytest.approx(geod_m(list(a), list(b)), abs=1e-6)
