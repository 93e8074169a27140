"""The car-restricted zone: rules, gates, and its extent as a policy parameter."""

from __future__ import annotations

import numpy as np
import pytest

from cityos.twin.generator import generate
from cityos.twin.site import GeneratorParameters, LocalFrame, SiteParameters, TwinParameterError
from cityos.twin.zone import RULE_VALUES, ZONE_RULES


def test_rules_cover_the_vehicle_classes_of_the_plan(city):
    rules = city.zone.rules
    assert rules["car"] == "banned"
    assert rules["emergencyVehicle"] == "free"
    for gated in ("serviceVehicle", "deliveryVehicle", "disabledDriverVehicle"):
        assert rules[gated] == "gated"
    assert rules["sharedCar"] == "parkingTowerOnly"
    assert set(rules.values()) <= set(RULE_VALUES)
    assert city.zone.rule("tank") == "banned"  # default deny


def test_default_zone_is_the_ring_interior(city):
    ring = city.frame.ring_polygon
    assert city.zone.polygon.within(ring)
    assert city.zone.polygon.area / ring.area > 0.9
    assert len(city.zone.gates) == 4
    assert city.zone.contains(*city.zone.tower_site)


@pytest.fixture(scope="module")
def eighth():
    params = GeneratorParameters(population=3_000, households=1_300).replace(
        zone_area_fraction=1 / 8
    )
    return generate(params)


def test_the_zone_can_shrink_to_an_eighth_of_the_site(eighth, city):
    area = eighth.zone.polygon.area
    assert area == pytest.approx(eighth.frame.site_polygon.area / 8, rel=1e-3)
    assert area < city.zone.polygon.area
    assert eighth.zone.gates and eighth.zone.polygon.within(eighth.frame.ring_polygon)
    zone_entity = next(e for e in eighth.entities() if e["type"] == "CarRestrictedZone")
    assert zone_entity["area"]["value"] == pytest.approx(2_741_000 / 8, rel=2e-3)


def test_a_smaller_zone_opens_ring_roads_to_cars(eighth, city):
    def car_edges_inside_ring(c):
        net = c.network
        return sum(
            1
            for u, v, d in net.graph.edges(data=True)
            if d["inside_ring"] and d["length"] > 20 and net.speed_kmh(u, v, d, "car") is not None
        )  # the short stubs between the ring and its inner kerb do not count

    assert car_edges_inside_ring(city) == 0
    assert car_edges_inside_ring(eighth) > 0
    for u, v, d in eighth.network.graph.edges(data=True):
        if d["inside_ring"] and eighth.network.speed_kmh(u, v, d, "car") is not None:
            assert eighth.network.speed_kmh(u, v, d, "car") <= 30


def test_a_zone_polygon_in_wgs84_is_accepted():
    site = SiteParameters()
    frame = LocalFrame(site)
    square = np.array([[-300, -200], [200, -200], [200, 200], [-300, 200], [-300, -200]])
    ring = tuple(map(tuple, frame.to_wgs84(square).tolist()))
    params = GeneratorParameters(population=3_000, households=1_300).replace(zone_polygon=ring)
    c = generate(params)
    assert c.zone.polygon.area == pytest.approx(500 * 400, rel=1e-3)
    assert len(c.zone.gates) >= 2


def test_a_zone_outside_the_site_is_refused():
    frame = LocalFrame(SiteParameters())
    far = np.array([[5000, 5000], [5100, 5000], [5100, 5100], [5000, 5100], [5000, 5000]])
    ring = tuple(map(tuple, frame.to_wgs84(far).tolist()))
    with pytest.raises(TwinParameterError, match="outside the site"):
        generate(GeneratorParameters().replace(zone_polygon=ring))


def test_each_zone_gets_its_own_rules(city):
    assert city.zone.rules == ZONE_RULES
    assert city.zone.rules is not ZONE_RULES
