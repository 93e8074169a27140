"""Generate the digital twin of Sejong 5-1: deterministic for a given seed.

:func:`generate` runs every stage in order and returns a :class:`City`; nothing is written
anywhere. Each stage draws from its own random stream (:func:`cityos.twin.site.rng_for`), so the
same parameters always give the same city and a different seed a different one (the terrain, the
rivers and the road plan are site facts and do not depend on the seed).

Stages: terrain -> nature -> roads -> car-restricted zone -> network -> blocks -> schools ->
buildings (typology per block, homes only within walking reach of an elementary school) ->
facilities -> households and persons -> amenities -> block use mixes.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import shapely

from cityos.twin import amenities as am
from cityos.twin.blocks import (
    Block,
    DevelopmentZone,
    build_blocks,
    development_zones,
    summarise_blocks,
)
from cityos.twin.buildings import SETBACK_M, Building, layout_block, make_non_residential
from cityos.twin.facilities import convert_facilities, school_blocks, school_building
from cityos.twin.nature import NaturalArea, natural_areas, preserved
from cityos.twin.network import Network
from cityos.twin.population import Population, house, populate
from cityos.twin.roads import Road, build_roads, footpath_area
from cityos.twin.site import GeneratorParameters, LocalFrame, rng_for, validate
from cityos.twin.terrain import Dem, dem
from cityos.twin.zone import CarRestrictedZone, build_zone

#: Version of the generator; part of the fingerprint, bumped when output changes.
GENERATOR_VERSION = "1"
#: Outside blocks smaller than this stay parks [m²].
PARK_BELOW_M2 = 9000.0
#: Number of outside blocks laid out as detached houses.
DETACHED_BLOCKS = 1

Progress = Callable[[str, float], None]


@dataclass
class City:
    """A generated city, in the local frame (see :mod:`cityos.twin.site`)."""

    params: GeneratorParameters
    frame: LocalFrame
    dem: Dem
    nature: list[NaturalArea]
    roads: list[Road]
    zone: CarRestrictedZone
    network: Network
    zones: list[DevelopmentZone]
    blocks: list[Block]
    buildings: list[Building]
    population: Population
    amenities: list[am.Amenity] = field(default_factory=list)

    def entities(self) -> list[dict[str, Any]]:
        """Every entity of the city as normalized NGSI-LD (see :mod:`cityos.twin.entities`)."""
        from cityos.twin.entities import to_entities

        return to_entities(self)

    def building(self, key: str) -> Building:
        """The building with a given key."""
        return next(b for b in self.buildings if b.key == key)

    def schools(self) -> list[Building]:
        """The elementary schools."""
        return [b for b in self.buildings if b.facility == "school"]


def fingerprint(params: GeneratorParameters) -> str:
    """A short hash of the parameters and generator version (equal output, equal fingerprint)."""
    body = orjson.dumps({"v": GENERATOR_VERSION, "p": repr(params)})
    return hashlib.blake2b(body, digest_size=8).hexdigest()


def count_by_type(entities: list[dict[str, Any]]) -> dict[str, int]:
    """Entity type -> count."""
    return dict(sorted(Counter(e["type"] for e in entities).items()))


def generate(params: GeneratorParameters | None = None, progress: Progress | None = None) -> City:
    """Generate the city for ``params`` (defaults: Sejong 5-1).

    Raises :class:`~cityos.twin.site.TwinParameterError` for bad parameters before any work.
    ``progress`` is called with a stage name and the fraction done [0-1].
    """
    params = params or GeneratorParameters()
    validate(params)
    report = progress or (lambda stage, done: None)
    site = params.site
    frame = LocalFrame(site)
    report("terrain", 0.05)
    surface = dem(params)
    nature = natural_areas(frame)
    keep_out = preserved(nature)
    report("roads", 0.15)
    roads = build_roads(frame, nature)
    zone = build_zone(frame, roads)
    network = Network(roads, zone)
    report("blocks", 0.3)
    zones = development_zones(frame)
    blocks = build_blocks(frame, roads, keep_out, zones)
    paths = footpath_area(roads)
    buildable = {
        b.key: b.polygon.buffer(-SETBACK_M).difference(paths).difference(keep_out) for b in blocks
    }
    report("buildings", 0.4)
    buildings = _layout(params, frame, network, zone, blocks, buildable)
    ground = surface.sample(
        np.array([[b.polygon.centroid.x, b.polygon.centroid.y] for b in buildings])
    )
    for b, z in zip(buildings, ground, strict=True):
        b.ground_m = float(z)
    report("population", 0.6)
    house(buildings, params)
    population = populate(buildings, params, rng_for(params.seed, "people"))
    report("amenities", 0.85)
    tower = next(b for b in buildings if b.facility == "sharedCarTower")
    stops = am.transit_stops(frame)
    parks = am.car_parks(frame, tower, rng_for(params.seed, "parks"))
    pois = am.points_of_interest(frame, roads, blocks, buildings, stops, parks)
    devices = am.devices(frame, zones, pois)
    summarise_blocks(blocks, buildings)
    report("done", 1.0)
    return City(
        params=params,
        frame=frame,
        dem=surface,
        nature=nature,
        roads=roads,
        zone=zone,
        network=network,
        zones=zones,
        blocks=blocks,
        buildings=buildings,
        population=population,
        amenities=[*stops, *parks, *pois, *devices],
    )


def _layout(
    params: GeneratorParameters,
    frame: LocalFrame,
    network: Network,
    zone: CarRestrictedZone,
    blocks: list[Block],
    buildable: dict[str, Any],
) -> list[Building]:
    """Buildings of every block: schools, typologies, reach rule, detached houses, facilities."""
    rng = rng_for(params.seed, "buildings")
    years = (params.start_year, params.end_year)
    buildings: list[Building] = []
    for spec, block in school_blocks(frame, zone, blocks, buildable):
        year = int(rng.integers(*years)) if years[0] < years[1] else years[0]
        buildings.append(school_building(spec, block, buildable[block.key], "S", year))
    schools = [
        (b.polygon.centroid.x, b.polygon.centroid.y) for b in buildings if b.facility == "school"
    ]
    counter = 1
    by_block: dict[str, list[Building]] = {}
    for block in blocks:
        if block.kind == "civic":
            continue
        if not block.inside_ring and block.polygon.area < PARK_BELOW_M2:
            continue  # a pocket park
        kind = "mixed" if block.inside_ring else "residential"
        block.kind = kind
        placed = layout_block(block, kind, buildable[block.key], rng, years, counter)
        counter += len(placed)
        by_block[block.key] = placed
    flat = [b for bs in by_block.values() for b in bs]
    walk = network.walk_distance_to(schools, _centroids(flat))
    for b, d in zip(flat, walk, strict=True):
        b.walk_to_school_m = float(d)
    limit = params.site.max_school_walk_m
    residential = []
    for block in blocks:
        placed = by_block.get(block.key, [])
        if not placed:
            continue
        reach = np.mean([b.walk_to_school_m <= limit for b in placed])
        if not block.inside_ring and reach < 0.5:
            block.kind = "employment"
            placed = layout_block(block, "employment", buildable[block.key], rng, years, counter)
            counter += len(placed)
            by_block[block.key] = placed
        elif not block.inside_ring:
            residential.append(block)
    east_first = sorted(residential, key=lambda b: (-b.polygon.centroid.x, b.key))
    for block in east_first[:DETACHED_BLOCKS]:
        block.kind = "detached"
        placed = layout_block(block, "detached", buildable[block.key], rng, years, counter)
        counter += len(placed)
        by_block[block.key] = placed
    flat = [b for bs in by_block.values() for b in bs]
    walk = network.walk_distance_to(schools, _centroids(flat))
    for b, d in zip(flat, walk, strict=True):
        b.walk_to_school_m = float(d)
    for b in flat:
        if b.use_mix["living"] > 0 and b.walk_to_school_m > limit:
            make_non_residential(b, rng)
    flat = [b for b in flat if not (b.typology == "detached" and b.use_mix["living"] == 0)]
    buildings.extend(flat)
    convert_facilities(frame, zone, buildings)
    buildings.sort(
        key=lambda b: (b.block_key, -round(b.polygon.centroid.y), round(b.polygon.centroid.x))
    )
    for index, b in enumerate(buildings, start=1):
        b.key = f"H{index:04d}"
    walk = network.walk_distance_to(schools, _centroids(buildings))
    for b, d in zip(buildings, walk, strict=True):
        b.walk_to_school_m = float(d)
    return buildings


def _centroids(buildings: list[Building]) -> np.ndarray:
    if not buildings:
        return np.zeros((0, 2))
    return shapely.get_coordinates(shapely.centroid([b.polygon for b in buildings]))
