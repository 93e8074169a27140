"""The demo: seed a handful of Sejong 5-1 entities (FIWARE Smart Data Models shapes) into the hub.

Later layers grow the demo; it must always run on embedded defaults (SQLite, in-process).
"""

from __future__ import annotations

from typing import Any

from cityos.hub.broker import Hub

#: Approximate centre of the 5-1 living zone (Hapgang-ri, Sejong) [degrees].
CENTRE_LON, CENTRE_LAT = 127.305, 36.497


def _point(dlon: float, dlat: float) -> dict[str, Any]:
    return {
        "type": "GeoProperty",
        "value": {
            "type": "Point",
            "coordinates": [round(CENTRE_LON + dlon, 6), round(CENTRE_LAT + dlat, 6)],
        },
    }


def sample_entities() -> list[dict[str, Any]]:
    """Air-quality stations, parking sites and buildings of 5-1, normalized NGSI-LD."""
    observed = "2026-11-23T09:00:00Z"
    stations = [
        ("Station-North", 0.002, 0.006, 18.0, 31.0, 0.021),
        ("Station-Centre", 0.0, 0.0, 24.0, 40.0, 0.018),
        ("Station-South", -0.003, -0.007, 35.0, 52.0, 0.025),
    ]
    entities: list[dict[str, Any]] = []
    for name, dlon, dlat, pm25, pm10, no2 in stations:
        entities.append(
            {
                "id": f"urn:ngsi-ld:AirQualityObserved:Sejong51:{name}",
                "type": "AirQualityObserved",
                "name": {"type": "Property", "value": f"5-1 {name.replace('-', ' ')}"},
                "location": _point(dlon, dlat),
                "dateObserved": {"type": "Property", "value": observed},
                "pm25": {
                    "type": "Property",
                    "value": pm25,
                    "unitCode": "GQ",
                    "observedAt": observed,
                },
                "pm10": {
                    "type": "Property",
                    "value": pm10,
                    "unitCode": "GQ",
                    "observedAt": observed,
                },
                "no2": {"type": "Property", "value": no2, "unitCode": "59", "observedAt": observed},
            }
        )
    parkings = [
        ("RingHub-East", 0.009, 0.001, 420, 133),
        ("RingHub-West", -0.010, 0.000, 380, 41),
    ]
    for name, dlon, dlat, total, free in parkings:
        entities.append(
            {
                "id": f"urn:ngsi-ld:OffStreetParking:Sejong51:{name}",
                "type": "OffStreetParking",
                "name": {"type": "Property", "value": f"Shared transfer parking {name}"},
                "location": _point(dlon, dlat),
                "totalSpotNumber": {"type": "Property", "value": total},
                "availableSpotNumber": {"type": "Property", "value": free, "observedAt": observed},
                "allowedVehicleType": {"type": "Property", "value": ["car", "bicycle"]},
            }
        )
    buildings = [
        ("DataAICenter", 0.001, 0.002, "office", 7, "Urban Integrated Data AI Center"),
        ("School-1", -0.004, 0.004, "school", 4, "Elementary school 1"),
        ("Housing-B12", 0.003, -0.002, "residential", 15, "Mixed-use block B12"),
    ]
    for name, dlon, dlat, category, floors, label in buildings:
        entities.append(
            {
                "id": f"urn:ngsi-ld:Building:Sejong51:{name}",
                "type": "Building",
                "name": {"type": "Property", "value": label},
                "category": {"type": "Property", "value": [category]},
                "floorsAboveGround": {"type": "Property", "value": floors},
                "location": _point(dlon, dlat),
                "address": {
                    "type": "Property",
                    "value": {
                        "addressLocality": "Hapgang-ri, Yeongi-myeon",
                        "addressRegion": "Sejong",
                        "addressCountry": "KR",
                    },
                },
            }
        )
    entities[-1]["refNearestAirQuality"] = {
        "type": "Relationship",
        "object": "urn:ngsi-ld:AirQualityObserved:Sejong51:Station-Centre",
    }
    return entities


def seed(hub: Hub) -> int:
    """Upsert the sample entities into the default tenant; returns how many were written."""
    result = hub.batch_upsert(sample_entities(), hub.context())
    if result.errors:
        first_id, first_error = result.errors[0]
        raise RuntimeError(f"demo seed failed for {first_id}: {first_error.detail}")
    return len(result.success)
