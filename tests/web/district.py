"""A small synthetic district of Sejong 5-1 for the map's tests and screenshots.

It follows the twin generator's entity contract (types, attribute names and values) but is made
here, so the browser tests do not depend on the generator: a ring road around a car-restricted
core, a north-south BRT axis, blocks of buildings with mixed uses, stops, facilities, parking,
sensors, a river and air-quality observations in every Korean index band.
"""

from __future__ import annotations

import math
import random
from typing import Any

#: Centre of the district [degrees].
CENTRE_LON, CENTRE_LAT = 127.305, 36.497
_M_PER_DEG_LAT = 111_320.0
_M_PER_DEG_LON = _M_PER_DEG_LAT * math.cos(math.radians(CENTRE_LAT))

RING_RADIUS_M = 460.0
BLOCK_M = 120.0
OBSERVED_AT = "2026-11-23T09:00:00Z"


def lonlat(x: float, y: float) -> list[float]:
    """Degrees of a point ``x`` metres east and ``y`` metres north of the centre."""
    return [
        round(CENTRE_LON + x / _M_PER_DEG_LON, 7),
        round(CENTRE_LAT + y / _M_PER_DEG_LAT, 7),
    ]


def _prop(value: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value, **extra}


def _geo(geometry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "GeoProperty", "value": geometry}


def _point(x: float, y: float) -> dict[str, Any]:
    return _geo({"type": "Point", "coordinates": lonlat(x, y)})


def _line(points: list[tuple[float, float]]) -> dict[str, Any]:
    return _geo({"type": "LineString", "coordinates": [lonlat(x, y) for x, y in points]})


def _polygon(points: list[tuple[float, float]]) -> dict[str, Any]:
    ring = [lonlat(x, y) for x, y in points]
    ring.append(ring[0])
    return _geo({"type": "Polygon", "coordinates": [ring]})


def _rect(cx: float, cy: float, w: float, h: float) -> list[tuple[float, float]]:
    return [
        (cx - w / 2, cy - h / 2),
        (cx + w / 2, cy - h / 2),
        (cx + w / 2, cy + h / 2),
        (cx - w / 2, cy + h / 2),
    ]


def _circle(radius: float, n: int = 48) -> list[tuple[float, float]]:
    return [
        (radius * math.cos(2 * math.pi * i / n), 0.82 * radius * math.sin(2 * math.pi * i / n))
        for i in range(n)
    ]


def _urn(kind: str, name: str) -> str:
    return f"urn:ngsi-ld:{kind}:Sejong51:{name}"


def roads() -> list[dict[str, Any]]:
    """Ring, BRT axis, national road, arterials, interior grid, pedestrian, PM and footpaths."""
    out: list[dict[str, Any]] = []

    def road(
        name: str,
        cls: str,
        pts: list[tuple[float, float]],
        width: float,
        lanes: int,
        speed: int,
        korean: str | None = None,
    ):
        out.append(
            {
                "id": _urn("RoadSegment", name),
                "type": "RoadSegment",
                "name": _prop(name.replace("-", " ")),
                **({"alternateName": _prop(korean)} if korean else {}),
                "roadClass": _prop(cls),
                "width": _prop(width, unitCode="MTR"),
                "totalLaneNumber": _prop(lanes),
                "maximumAllowedSpeed": _prop(speed, unitCode="KMH"),
                "location": _line(pts),
            }
        )

    ring = _circle(RING_RADIUS_M, 64)
    road("Ring-Road", "ring", [*ring, ring[0]], 24, 4, 50, korean="순환도로")
    road("BRT-Axis", "brt", [(0, -820), (0, 820)], 20, 2, 50, korean="BRT 중앙축")
    road(
        "National-Road-1",
        "nationalRoad",
        [(-900, -600), (-300, -640), (300, -660), (900, -700)],
        22,
        4,
        70,
    )
    road("Arterial-West", "arterial", [(-700, -700), (-690, 0), (-700, 700)], 16, 4, 60)
    road("Arterial-East", "arterial", [(700, -720), (690, 0), (700, 700)], 16, 4, 60)
    limit = RING_RADIUS_M - 30
    for i, x in enumerate(range(-360, 361, int(BLOCK_M))):
        if x == 0:
            continue
        half = 0.82 * math.sqrt(max(limit**2 - x**2, 0))
        road(f"Interior-NS-{i}", "interior", [(x, -half), (x, half)], 8, 2, 30)
    for i, y in enumerate(range(-300, 301, int(BLOCK_M))):
        half = math.sqrt(max(limit**2 - (y / 0.82) ** 2, 0))
        cls = "pedestrian" if y == -60 else "interior"
        road(f"Interior-EW-{i}", cls, [(-half, y), (half, y)], 10 if y == -60 else 8, 2, 20)
    road("PM-Lane-1", "pm", [(-60, -340), (-60, 340)], 3, 1, 25)
    road("PM-Lane-2", "pm", [(-300, 60), (300, 60)], 3, 1, 25)
    road("Footpath-Park", "footpath", [(-420, 250), (-300, 330), (-180, 360)], 2, 0, 5)
    road("Footpath-River", "footpath", [(200, -500), (420, -430), (650, -380)], 2, 0, 5)
    return out


USES = [
    ("residential", {"living": 0.85, "social": 0.1, "public": 0.05}),
    ("residential", {"living": 0.7, "social": 0.25, "public": 0.05}),
    ("commercial", {"living": 0.2, "social": 0.75, "public": 0.05}),
    ("office", {"living": 0.0, "social": 0.9, "public": 0.1}),
]


def buildings(rng: random.Random) -> list[dict[str, Any]]:
    """Two to four buildings in each block inside the ring, taller towards the BRT axis."""
    out: list[dict[str, Any]] = []
    special = {
        (60, 0): ("public", "Urban Integrated Data AI Center", "dataCenter", 38.0),
        (-300, 120): ("school", "Sejong 5-1 Elementary School", "school", 14.0),
        (180, -120): ("public", "Community Welfare Centre", "welfare", 12.0),
        (-180, -240): ("school", "Sejong 5-1 Middle School", "school", 16.0),
    }
    korean = {
        "Urban Integrated Data AI Center": "도시통합데이터 AI센터",
        "Sejong 5-1 Elementary School": "세종 5-1 초등학교",
        "Community Welfare Centre": "주민복지센터",
        "Sejong 5-1 Middle School": "세종 5-1 중학교",
    }
    n = 0
    for b, (cx, cy) in enumerate(_block_centres()):
        if (int(cx), int(cy)) in special:
            use, name, facility, height = special[(int(cx), int(cy))]
            n += 1
            building = _building(
                n, cx, cy, 70, 55, use, name, height, facility=facility, block=b + 1
            )
            building["alternateName"] = _prop(korean[name])
            out.append(building)
            continue
        axis = max(0.0, 1 - abs(cx) / 420)
        for k in range(rng.choice([2, 3, 4])):
            use, mix = rng.choice(USES)
            if axis > 0.75 and rng.random() < 0.5:
                use, mix = "office", {"living": 0.05, "social": 0.85, "public": 0.1}
            ox = (-25 if k % 2 == 0 else 25) + rng.uniform(-4, 4)
            oy = (-25 if k < 2 else 25) + rng.uniform(-4, 4)
            floors = int(3 + rng.random() * 6 + axis * 18)
            n += 1
            out.append(
                _building(
                    n,
                    cx + ox,
                    cy + oy,
                    rng.uniform(26, 40),
                    rng.uniform(22, 36),
                    use,
                    f"Block {b + 1} building {k + 1}",
                    round(floors * 3.3, 1),
                    mix=mix,
                    floors=floors,
                    block=b + 1,
                )
            )
    return out


def _block_centres() -> list[tuple[float, float]]:
    """Centres of the blocks inside the ring: between the streets, off the BRT axis [m]."""
    return [
        (float(cx), float(cy))
        for cx in range(-420, 421, int(BLOCK_M))
        for cy in range(-240, 241, int(BLOCK_M))
        if (cx / RING_RADIUS_M) ** 2 + (cy / (0.82 * RING_RADIUS_M)) ** 2 <= 0.78
    ]


def _building(
    n: int,
    cx: float,
    cy: float,
    w: float,
    h: float,
    use: str,
    name: str,
    height: float,
    *,
    facility: str | None = None,
    mix: dict[str, float] | None = None,
    floors: int | None = None,
    block: int | None = None,
) -> dict[str, Any]:
    floors = floors or max(1, round(height / 3.5))
    entity: dict[str, Any] = {
        "id": _urn("Building", f"B{n:03d}"),
        "type": "Building",
        "name": _prop(name),
        "category": _prop([use]),
        "height": _prop(height, unitCode="MTR"),
        "floorsAboveGround": _prop(floors),
        "useMix": _prop(mix or {"living": 0.0, "social": 0.2, "public": 0.8}),
        "roofArea": _prop(round(w * h, 1), unitCode="MTK"),
        "builtYear": _prop(2027 + n % 4),
        "location": _polygon(_rect(cx, cy, w, h)),
    }
    if use == "residential":
        entity["households"] = _prop(int(w * h * floors / 95))
    if facility:
        entity["facility"] = _prop(facility)
    if block is not None:
        entity["refBlock"] = {
            "type": "Relationship",
            "object": _urn("UrbanBlock", f"UB{block:02d}"),
        }
    return entity


def areas() -> list[dict[str, Any]]:
    """Car-restricted zone, development zones, urban blocks and natural areas."""
    out: list[dict[str, Any]] = [
        {
            "id": _urn("CarRestrictedZone", "Core"),
            "type": "CarRestrictedZone",
            "name": _prop("Car-restricted core"),
            "rules": _prop(["noPrivateCars", "shuttleOnly", "pmAllowed"]),
            "gates": _prop(4),
            "location": _polygon(_circle(RING_RADIUS_M - 14, 64)),
        },
        {
            "id": _urn("DevelopmentZone", "Phase-1"),
            "type": "DevelopmentZone",
            "name": _prop("Phase 1"),
            "location": _polygon([(-800, -800), (0, -800), (0, 800), (-800, 800)]),
        },
        {
            "id": _urn("DevelopmentZone", "Phase-2"),
            "type": "DevelopmentZone",
            "name": _prop("Phase 2"),
            "location": _polygon([(0, -800), (800, -800), (800, 800), (0, 800)]),
        },
        {
            "id": _urn("NaturalArea", "River"),
            "type": "NaturalArea",
            "name": _prop("Geum river tributary"),
            "category": _prop(["river"]),
            "location": _polygon(
                [
                    (-1000, -880),
                    (-400, -820),
                    (200, -860),
                    (1000, -800),
                    (1000, -900),
                    (200, -960),
                    (-400, -920),
                    (-1000, -980),
                ]
            ),
        },
        {
            "id": _urn("NaturalArea", "Habitat-North"),
            "type": "NaturalArea",
            "name": _prop("Wetland habitat"),
            "category": _prop(["habitat"]),
            "location": _polygon([(-650, 450), (-420, 520), (-360, 700), (-560, 760), (-720, 620)]),
        },
    ]
    for n, (cx, cy) in enumerate(_block_centres(), start=1):
        out.append(
            {
                "id": _urn("UrbanBlock", f"UB{n:02d}"),
                "type": "UrbanBlock",
                "useMix": _prop({"living": 0.6, "social": 0.3, "public": 0.1}),
                "location": _polygon(_rect(cx, cy, BLOCK_M - 14, BLOCK_M - 14)),
            }
        )
    return out


def points() -> list[dict[str, Any]]:
    """Stops, facilities, parking, devices and air-quality observations."""
    out: list[dict[str, Any]] = []
    for i, y in enumerate((-600, -300, 0, 300, 600)):
        out.append(
            {
                "id": _urn("TransitStop", f"BRT-{i + 1}"),
                "type": "TransitStop",
                "name": _prop(f"BRT 5-1 stop {i + 1}"),
                "alternateName": _prop(f"BRT 5-1 정류장 {i + 1}"),
                "stopKind": _prop("brt"),
                "location": _point(14, y),
            }
        )
    for i, (x, y) in enumerate(
        [(-240, -120), (-240, 240), (240, 240), (240, -240), (-120, -300), (360, 0)]
    ):
        out.append(
            {
                "id": _urn("TransitStop", f"Shuttle-{i + 1}"),
                "type": "TransitStop",
                "name": _prop(f"Shuttle stop {i + 1}"),
                "alternateName": _prop(f"셔틀 정류장 {i + 1}"),
                "stopKind": _prop("shuttle"),
                "location": _point(x + 6, y + 6),
            }
        )
    pois = [
        ("pmStation", (-66, -180)),
        ("pmStation", (-66, 180)),
        ("pmStation", (300, 66)),
        ("pmStation", (-300, 66)),
        ("cctv", (120, 0)),
        ("cctv", (-120, 120)),
        ("evCharger", (480, -60)),
        ("evCharger", (-480, 60)),
        ("evCharger", (120, -360)),
    ]
    for i, (category, (x, y)) in enumerate(pois):
        out.append(
            {
                "id": _urn("PointOfInterest", f"{category}-{i + 1}"),
                "type": "PointOfInterest",
                "name": _prop(f"{category} {i + 1}"),
                "category": _prop([category]),
                "location": _point(x, y),
            }
        )
    for i, (x, y, total, free) in enumerate(
        [(520, 40, 420, 133), (-520, -40, 380, 21), (60, 440, 260, 90), (-60, -440, 300, 4)]
    ):
        out.append(
            {
                "id": _urn("OffStreetParking", f"RingHub-{i + 1}"),
                "type": "OffStreetParking",
                "name": _prop(f"Shared transfer parking {i + 1}"),
                "category": _prop(["shared", "transferHub"]),
                "totalSpotNumber": _prop(total),
                "availableSpotNumber": _prop(free, observedAt=OBSERVED_AT),
                "location": _point(x, y),
            }
        )
    stations = [
        ("North", -200, 320, 12),
        ("Centre", 40, 20, 24),
        ("East", 380, -120, 48),
        ("South", -150, -520, 82),
    ]
    for name, x, y, pm25 in stations:
        out.append(
            {
                "id": _urn("Device", f"AQ-{name}"),
                "type": "Device",
                "name": _prop(f"Air-quality station {name}"),
                "controlledProperty": _prop(["pm25", "pm10", "no2"]),
                "location": _point(x + 18, y + 18),
            }
        )
        out.append(
            {
                "id": _urn("AirQualityObserved", f"Station-{name}"),
                "type": "AirQualityObserved",
                "name": _prop(f"5-1 Station {name}"),
                "pm25": _prop(pm25, unitCode="GQ", observedAt=OBSERVED_AT),
                "pm10": _prop(round(pm25 * 1.7), unitCode="GQ", observedAt=OBSERVED_AT),
                "no2": _prop(0.021, unitCode="59", observedAt=OBSERVED_AT),
                "location": _point(x, y),
            }
        )
    for i, (x, y) in enumerate([(-360, -240), (360, 240)]):
        out.append(
            {
                "id": _urn("Device", f"CCTV-{i + 1}"),
                "type": "Device",
                "name": _prop(f"CCTV camera {i + 1}"),
                "controlledProperty": _prop(["video"]),
                "category": _prop(["cctv"]),
                "location": _point(x, y),
            }
        )
    return out


def district(seed: int = 51) -> list[dict[str, Any]]:
    """Every entity of the district, normalized NGSI-LD, deterministic for a seed."""
    rng = random.Random(seed)
    return [*areas(), *roads(), *buildings(rng), *points()]
