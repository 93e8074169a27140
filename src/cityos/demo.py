"""The demo: the generated Sejong 5-1 twin (``cityos.twin``) plus sample sensor observations.

Later layers grow the demo; it must always run on embedded defaults (SQLite, in-process).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from cityos.hub.broker import Hub

#: Centre of the 5-1 living zone (Hapgang-ri, Sejong), as in the twin's site [degrees].
CENTRE_LON, CENTRE_LAT = 127.304, 36.494


def map_url(host: str, port: int) -> str:
    """The address to open the control-centre map at, for a server bound to ``host``:``port``.

    A wildcard bind (``0.0.0.0``, ``::``, empty) is answered on loopback too, so the URL names
    ``127.0.0.1``; an IPv6 address is bracketed (RFC 3986 §3.2.2).
    """
    name = host.strip()
    if name in ("", "0.0.0.0", "::", "[::]"):
        name = "127.0.0.1"
    elif ":" in name and not name.startswith("["):
        name = f"[{name}]"
    return f"http://{name}:{port}/"


def _stations() -> list[tuple[str, str, float, float, float]]:
    """(name, twin device key, pm25, pm10, no2) of the sample observations."""
    return [
        ("Station-North", "AirQuality-Z2", 18.0, 31.0, 0.021),
        ("Station-Centre", "AirQuality-Centre", 24.0, 40.0, 0.018),
        ("Station-South", "AirQuality-Z3", 35.0, 52.0, 0.025),
    ]


def sample_entities() -> list[dict[str, Any]]:
    """Air-quality observations at three of the twin's stations, normalized NGSI-LD.

    Each observation sits where its station ``Device`` of the generated twin stands and refers
    to it with ``refDevice``.
    """
    from cityos.twin.amenities import devices
    from cityos.twin.blocks import development_zones
    from cityos.twin.entities import point_geojson, urn
    from cityos.twin.site import LocalFrame, SiteParameters

    site = SiteParameters()
    frame = LocalFrame(site)
    where = {d.key: (d.x, d.y) for d in devices(frame, development_zones(frame), [])}
    observed = "2026-11-23T09:00:00Z"
    entities: list[dict[str, Any]] = []
    for name, device, pm25, pm10, no2 in _stations():
        x, y = where[device]
        entities.append(
            {
                "id": f"urn:ngsi-ld:AirQualityObserved:{site.name}:{name}",
                "type": "AirQualityObserved",
                "name": {"type": "Property", "value": f"5-1 {name.replace('-', ' ')}"},
                "location": {"type": "GeoProperty", "value": point_geojson(frame, x, y)},
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
                "refDevice": {"type": "Relationship", "object": urn("Device", site.name, device)},
            }
        )
    return entities


def seed(hub: Hub, progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Generate the 5-1 twin (default parameters) and load it with the sample observations.

    Loads into the default tenant, all or nothing (:func:`cityos.twin.loader.load_entities`);
    returns entity type -> count written. ``progress`` receives one line per step.
    """
    from cityos.twin.generator import count_by_type, generate
    from cityos.twin.loader import load_entities

    say = progress or (lambda line: None)
    started = time.perf_counter()
    city = generate()
    entities = city.entities() + sample_entities()
    say(f"generated {len(entities)} entities in {time.perf_counter() - started:.1f} s")
    last = [-1]

    def loaded(done: int, total: int) -> None:
        tenth = done * 10 // total
        if tenth != last[0]:
            last[0] = tenth
            say(f"loaded {done}/{total}")

    load_entities(hub, entities, progress=loaded)
    return count_by_type(entities)
