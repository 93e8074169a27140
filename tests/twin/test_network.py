"""The network: speed caps per mode, zone access rules, routing, and the 600 m school walk."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import LineString, Polygon

from cityos.twin.network import MODES, Network, NoRoute, mode_profile
from cityos.twin.roads import CLASSES, Road
from cityos.twin.zone import CarRestrictedZone


def _speeds(city, mode):
    net = city.network
    for u, v, data in net.graph.edges(data=True):
        speed = net.speed_kmh(u, v, data, mode)
        if speed is not None:
            yield data, speed


@pytest.mark.parametrize("mode", sorted(MODES))
def test_speed_caps_per_mode(city, mode):
    seen = 0
    for data, speed in _speeds(city, mode):
        seen += 1
        assert 0 < speed <= MODES[mode].top_speed_kmh
        assert speed <= data["limit"]
        if data["inside_ring"]:
            assert speed <= 30, data["road_class"]
        if mode == "pm":
            assert speed <= 25
        if mode == "shuttle" and data["road_class"] in ("pedestrian", "pm"):
            assert speed <= 20  # walkway shuttles
        if mode == "shuttle" and data["road_class"] == "ring":
            assert speed <= 40
        if mode in ("service", "sharedCar") and data["in_zone"]:
            assert speed <= 20  # tagged service vehicles
    assert seen > 0


def test_ring_shuttles_reach_40_and_walkway_shuttles_20(city):
    speeds = {}
    for data, speed in _speeds(city, "shuttle"):
        speeds.setdefault(data["road_class"], set()).add(speed)
    assert max(speeds["ring"]) == 40
    assert max(speeds["pedestrian"]) == 20


def test_private_cars_never_enter_the_zone(city):
    assert not any(data["in_zone"] for data, _ in _speeds(city, "car"))
    net = city.network
    inside = city.building(_facility(city, "dataAICenter")).polygon.centroid
    route = net.route((-900.0, 500.0), (inside.x, inside.y), "car")
    assert not city.zone.polygon.buffer(-1).intersects(route.line)


def test_service_vehicles_enter_only_through_gates(city):
    net = city.network
    gates = net.gate_nodes
    assert len(gates) == 4
    for u, v, data in net.graph.edges(data=True):
        if data["in_zone"] and net.speed_kmh(u, v, data, "service") is not None:
            entry = {u, v} & net.boundary_nodes
            assert entry <= gates
    target = city.building(_facility(city, "welfareCentre")).polygon.centroid
    route = net.route((-900.0, 500.0), (target.x, target.y), "service")
    assert set(route.nodes) & gates


def test_emergency_vehicles_are_free_and_shared_cars_reach_only_the_tower(city):
    net = city.network
    in_zone = sum(1 for data, _ in _speeds(city, "emergency") if data["in_zone"])
    shared = sum(1 for data, _ in _speeds(city, "sharedCar") if data["in_zone"])
    assert in_zone > 20 and 0 < shared < in_zone
    tower = city.building(_facility(city, "sharedCarTower")).polygon.centroid
    route = net.route((-900.0, 500.0), (tower.x, tower.y), "sharedCar")
    assert route.nodes[-1] == net.nearest_node((tower.x, tower.y), "sharedCar")


def test_shortest_time_routing_prefers_faster_modes(city):
    net = city.network
    a, b = (-850.0, -450.0), (700.0, 450.0)
    walk = net.route(a, b, "walk")
    pm = net.route(a, b, "pm")
    assert walk.time_s > pm.time_s > 0
    assert walk.length_m >= np.hypot(b[0] - a[0], b[1] - a[1]) - 200
    assert walk.time_s == pytest.approx(walk.length_m / (4.8 / 3.6), rel=1e-6)


def test_unknown_mode_and_unreachable_places():
    with pytest.raises(ValueError, match="unknown mode 'hovercraft'"):
        mode_profile("hovercraft")
    design = CLASSES["interior"]
    roads = [
        Road(
            k,
            "interior",
            "Interior Road",
            LineString(c),
            False,
            design.width_m,
            design.lanes,
            design.speed_kmh,
            design.vehicles,
        )
        for k, c in (("A", [(0, 0), (100, 0)]), ("B", [(500, 0), (600, 0)]))
    ]
    zone = CarRestrictedZone(polygon=Polygon([(1000, 1000), (1100, 1000), (1100, 1100)]))
    net = Network(roads, zone)
    assert net.route((0, 0), (100, 0), "car").length_m == pytest.approx(100)
    with pytest.raises(NoRoute):
        net.route((0, 0), (600, 0), "car")


def test_every_home_is_within_600_m_walk_of_an_elementary_school(city):
    homes = [b for b in city.buildings if b.households > 0]
    assert homes
    schools = [(s.polygon.centroid.x, s.polygon.centroid.y) for s in city.schools()]
    places = np.array([[h.polygon.centroid.x, h.polygon.centroid.y] for h in homes])
    walk = city.network.walk_distance_to(schools, places)
    assert walk.max() <= 600.0
    assert walk.mean() > 150  # a real walk, not a trivial one


def _facility(city, code):
    return next(b.key for b in city.buildings if b.facility == code)
