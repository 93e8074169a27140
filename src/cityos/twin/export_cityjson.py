"""CityJSON 2.0 export of the buildings at LoD1 (extruded footprints), and a structural checker.

Each building is a ``Building`` city object with one ``Solid`` of LoD ``"1"``: the footprint at
ground elevation (from the DEM) extruded by the building height, with semantic surfaces
(GroundSurface, RoofSurface, WallSurface). Coordinates are EPSG:5186 easting/northing and
elevation [m], stored as integers with a 1 mm transform (CityJSON 2.0 §3, §4).

:func:`check_cityjson` performs the checks of the official validator that apply to such files
(required members, vertex indices, semantics arrays, unused and duplicate vertices) and, on top,
that every solid shell is closed and outward oriented (each edge used once in each direction).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
from shapely.geometry import Polygon
from shapely.geometry.polygon import orient

from cityos.twin.entities import urn
from cityos.twin.site import LOCAL_CRS

if TYPE_CHECKING:
    from cityos.twin.generator import City

#: CityJSON version written.
CITYJSON_VERSION = "2.0"
#: Integer coordinates are in millimetres.
SCALE = 0.001
SEMANTICS = [{"type": "GroundSurface"}, {"type": "RoofSurface"}, {"type": "WallSurface"}]


def _rings(polygon: Polygon) -> list[list[tuple[float, float]]]:
    poly = orient(polygon, 1.0)
    rings = [list(poly.exterior.coords)[:-1]]
    rings += [list(r.coords)[:-1] for r in poly.interiors]
    return rings


def solid(
    polygon: Polygon, ground: float, top: float, vertices: list[tuple[float, float, float]]
) -> dict[str, Any]:
    """An LoD1 Solid of an extruded footprint; appends its vertices to ``vertices``."""
    rings = _rings(polygon)
    bottom_idx: list[list[int]] = []
    top_idx: list[list[int]] = []
    for ring in rings:
        start = len(vertices)
        vertices.extend((x, y, ground) for x, y in ring)
        bottom_idx.append(list(range(start, start + len(ring))))
        start = len(vertices)
        vertices.extend((x, y, top) for x, y in ring)
        top_idx.append(list(range(start, start + len(ring))))
    ground_face = [r[::-1] for r in bottom_idx]
    roof_face = [list(r) for r in top_idx]
    walls = []
    for bottom, upper in zip(bottom_idx, top_idx, strict=True):
        n = len(bottom)
        for i in range(n):
            j = (i + 1) % n
            walls.append([[bottom[i], bottom[j], upper[j], upper[i]]])
    shell = [ground_face, roof_face, *walls]
    return {
        "type": "Solid",
        "lod": "1",
        "boundaries": [shell],
        "semantics": {"surfaces": SEMANTICS, "values": [[0, 1] + [2] * len(walls)]},
    }


def cityjson(city: City) -> dict[str, Any]:
    """The CityJSON 2.0 document of the city's buildings."""
    site = city.params.site.name
    vertices: list[tuple[float, float, float]] = []
    objects: dict[str, Any] = {}
    origin = np.asarray(city.frame.origin)
    for b in city.buildings:
        footprint = Polygon(
            np.asarray(b.polygon.exterior.coords) + origin,
            [np.asarray(r.coords) + origin for r in b.polygon.interiors],
        )
        ground = round(b.ground_m, 3)
        geometry = solid(footprint, ground, round(ground + b.height_m, 3), vertices)
        attributes: dict[str, Any] = {
            "name": b.name,
            "measuredHeight": b.height_m,
            "storeysAboveGround": b.floors,
            "yearOfConstruction": b.built_year,
            "roofType": "flat",
            "category": b.category,
            "useMix": b.use_mix,
            "households": b.households,
            "ngsiLdId": urn("Building", site, b.key),
        }
        if b.facility:
            attributes["facility"] = b.facility
        objects[f"{site}-{b.key}"] = {
            "type": "Building",
            "attributes": attributes,
            "geometry": [geometry],
        }
    xyz = np.asarray(vertices, dtype=float).reshape(-1, 3)
    lo = np.floor(xyz.min(axis=0)) if len(xyz) else np.zeros(3)
    ints = np.round((xyz - lo) / SCALE).astype(np.int64)
    extent = [*(xyz.min(axis=0)), *(xyz.max(axis=0))] if len(xyz) else [0.0] * 6
    epsg = LOCAL_CRS.split(":")[1]
    return {
        "type": "CityJSON",
        "version": CITYJSON_VERSION,
        "transform": {"scale": [SCALE, SCALE, SCALE], "translate": [float(v) for v in lo]},
        "metadata": {
            "title": f"CityOS digital twin of {site}: buildings LoD1 (seed {city.params.seed})",
            "referenceSystem": f"https://www.opengis.net/def/crs/EPSG/0/{epsg}",
            "geographicalExtent": [round(float(v), 3) for v in extent],
        },
        "CityObjects": objects,
        "vertices": ints.tolist(),
    }


def write_cityjson(city: City, path: Path) -> Path:
    """Write ``cityjson(city)`` to ``path`` (``.city.json``); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(cityjson(city)))
    return path


def check_cityjson(doc: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Check a CityJSON 2.0 document of LoD1 solids: (errors, warnings).

    Errors: missing or wrong root members, bad transform, bad city objects, vertex indices out
    of range, surfaces with fewer than three distinct vertices, semantics arrays whose shape or
    values do not match the geometry, shells that are not closed and consistently oriented.
    Warnings: unused and duplicate vertices (as the official validator reports them).
    """
    errors: list[str] = []
    warnings: list[str] = []
    if doc.get("type") != "CityJSON":
        errors.append("root 'type' must be 'CityJSON'")
    if doc.get("version") != CITYJSON_VERSION:
        errors.append(f"'version' must be '{CITYJSON_VERSION}'")
    extra = set(doc) - {
        "type",
        "version",
        "transform",
        "metadata",
        "CityObjects",
        "vertices",
        "extensions",
        "appearance",
        "geometry-templates",
    }
    if extra:
        warnings.append(f"extra root properties: {sorted(extra)}")
    transform = doc.get("transform", {})
    if len(transform.get("scale", [])) != 3 or len(transform.get("translate", [])) != 3:
        errors.append("'transform' needs 3 scale and 3 translate numbers")
    vertices = doc.get("vertices")
    if not isinstance(vertices, list) or any(
        not isinstance(v, list) or len(v) != 3 or not all(isinstance(c, int) for c in v)
        for v in vertices
    ):
        errors.append("'vertices' must be an array of integer triples")
        return errors, warnings
    objects = doc.get("CityObjects")
    if not isinstance(objects, dict):
        errors.append("'CityObjects' must be an object")
        return errors, warnings
    used = np.zeros(len(vertices), dtype=bool)
    for key, obj in objects.items():
        if obj.get("type") != "Building":
            errors.append(f"{key}: unexpected type {obj.get('type')!r}")
        for child in obj.get("children", []):
            if key not in objects.get(child, {}).get("parents", []):
                errors.append(f"{key}: child {child} does not name it as parent")
        for geom in obj.get("geometry", []):
            errors += [f"{key}: {e}" for e in _check_solid(geom, len(vertices), used)]
    unused = int((~used).sum())
    if unused:
        warnings.append(f"{unused} unused vertices")
    unique = len({tuple(v) for v in vertices})
    if unique != len(vertices):
        warnings.append(f"{len(vertices) - unique} duplicate vertices")
    return errors, warnings


def _check_solid(geom: dict[str, Any], count: int, used: np.ndarray) -> list[str]:
    if geom.get("type") != "Solid":
        return [f"geometry type {geom.get('type')!r} is not Solid"]
    if not isinstance(geom.get("lod"), str):
        return ["'lod' must be a string"]
    errors = []
    shells = geom.get("boundaries", [])
    values = geom.get("semantics", {}).get("values")
    surfaces = geom.get("semantics", {}).get("surfaces", [])
    if values is not None and (
        len(values) != len(shells)
        or any(len(v) != len(s) for v, s in zip(values, shells, strict=False))
    ):
        errors.append("semantics 'values' do not match the shells")
    for si, shell in enumerate(shells):
        edges: dict[tuple[int, int], int] = {}
        for fi, face in enumerate(shell):
            if values is not None and si < len(values) and fi < len(values[si]):
                v = values[si][fi]
                if v is not None and not 0 <= v < len(surfaces):
                    errors.append(f"semantic value {v} is out of range")
            for ring in face:
                if any(not 0 <= i < count for i in ring):
                    errors.append("vertex index out of range")
                    continue
                if len(set(ring)) < 3:
                    errors.append("a surface ring has fewer than 3 distinct vertices")
                used[ring] = True
                for a, b in zip(ring, ring[1:] + ring[:1], strict=True):
                    edges[(a, b)] = edges.get((a, b), 0) + 1
        for (a, b), n in edges.items():
            if n != 1 or edges.get((b, a), 0) != 1:
                errors.append(f"shell {si} is not closed and oriented at edge {a}-{b}")
                break
    return errors
