"""The generator: determinism, the plan's counts, and a picture of the city."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from cityos.twin.generator import count_by_type, fingerprint, generate
from cityos.twin.site import GeneratorParameters

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _small(seed: int) -> GeneratorParameters:
    return GeneratorParameters(seed=seed, population=2_000, households=900)


def test_same_seed_gives_an_identical_city():
    first = orjson.dumps(generate(_small(7)).entities())
    second = orjson.dumps(generate(_small(7)).entities())
    assert first == second


def test_another_seed_gives_another_city(entities):
    other = generate(GeneratorParameters(seed=52)).entities()
    assert orjson.dumps(other) != orjson.dumps(entities)
    buildings = {e["id"]: e["height"]["value"] for e in entities if e["type"] == "Building"}
    changed = {e["id"]: e["height"]["value"] for e in other if e["type"] == "Building"}
    assert buildings != changed
    # the site facts do not depend on the seed
    roads = [e for e in entities if e["type"] == "RoadSegment"]
    assert roads == [e for e in other if e["type"] == "RoadSegment"]


def test_fingerprint_follows_the_parameters():
    assert fingerprint(GeneratorParameters()) == fingerprint(GeneratorParameters())
    assert fingerprint(GeneratorParameters(seed=1)) != fingerprint(GeneratorParameters())


def test_counts_of_the_plan(city, entities):
    counts = count_by_type(entities)
    assert counts["Person"] == 20_164
    assert counts["Household"] == 8_714
    assert counts["CarRestrictedZone"] == 1
    assert counts["DevelopmentZone"] == 4
    stops = [a for a in city.amenities if a.kind == "TransitStop"]
    assert sum(s.category == "brt" for s in stops) == 2
    assert sum(s.category == "shuttle" for s in stops) == 4
    parks = [a for a in city.amenities if a.kind == "OffStreetParking"]
    assert sum(p.category == "publicCarPark" for p in parks) == 5
    assert sum(p.category == "sharedCarTower" for p in parks) == 1
    facilities = [b.facility for b in city.buildings if b.facility]
    assert facilities.count("school") == 2
    for code in (
        "dataAICenter",
        "innovationValley",
        "incubationCentre",
        "welfareCentre",
        "healthCentre",
        "emergencyControlCentre",
        "k12School",
        "lifelongLearningCentre",
        "verticalSmartFarm",
        "energyStorage",
        "sharedCarTower",
    ):
        assert facilities.count(code) == 1, code
    assert facilities.count("communityCentre") == 4
    pois = {a.category for a in city.amenities if a.kind == "PointOfInterest"}
    assert pois == {"pmStation", "evCharger", "cctv"}
    devices = {a.category for a in city.amenities if a.kind == "Device"}
    assert devices == {"cctv", "airQualityStation"}
    assert sum(b.households for b in city.buildings) == 8_714


def test_progress_is_reported():
    stages = []
    generate(_small(3), progress=lambda stage, done: stages.append((stage, done)))
    assert stages[-1] == ("done", 1.0)
    assert [d for _, d in stages] == sorted(d for _, d in stages)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_plot_of_the_city(city):
    """Draw the city (terrain, nature, blocks, roads, buildings, amenities) for a person to see."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {
        "nationalRoad": "#c0392b",
        "arterial": "#e67e22",
        "brt": "#8e44ad",
        "ring": "#111111",
        "interior": "#7f8c8d",
        "pedestrian": "#e84393",
        "pm": "#00a8cc",
        "footpath": "#8d6e63",
    }
    dem = city.dem
    fig, ax = plt.subplots(figsize=(12, 9))
    ax.contourf(dem.x, dem.y, dem.z, levels=20, cmap="terrain", alpha=0.45)
    ax.contour(dem.x, dem.y, dem.z, levels=range(20, 200, 10), colors="k", linewidths=0.2)
    for area in city.nature:
        colour = "#3867d6" if area.category == "river" else "#20bf6b"
        ax.fill(*area.polygon.exterior.xy, color=colour, alpha=0.45, lw=0)
    for block in city.blocks:
        shade = {"park": "#b8e994", "civic": "#f8c291"}.get(block.kind, "#f5f0dc")
        ax.fill(*block.polygon.exterior.xy, color=shade, alpha=0.8, lw=0)
    for road in city.roads:
        ax.plot(*road.line.xy, color=colours[road.road_class], lw=max(0.4, road.width_m / 12))
    ax.plot(*city.zone.polygon.exterior.xy, "r--", lw=0.8)
    for b in city.buildings:
        colour = "#c0392b" if b.facility else ("#a0522d" if b.households else "#7f8fa6")
        ax.fill(*b.polygon.exterior.xy, color=colour, lw=0)
    markers = {"brt": "s", "shuttle": "^", "publicCarPark": "P", "sharedCarTower": "X"}
    for a in city.amenities:
        if a.category in markers:
            ax.plot(a.x, a.y, markers[a.category], color="k", ms=7)
    ax.set_aspect("equal")
    ax.set_title("CityOS twin of Sejong 5-1 (seed 51), local metres")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "twin_city.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    assert path.stat().st_size > 50_000
