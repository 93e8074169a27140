"""Buildings: footprints on land, never on rivers or habitats; heights, mixes and categories."""

from __future__ import annotations

import shapely

from cityos.twin.nature import preserved


def test_no_building_stands_in_a_river_or_habitat(city):
    keep_out = shapely.union_all([a.polygon for a in city.nature])
    for b in city.buildings:
        assert not b.polygon.intersects(keep_out), b.key
    clearance = preserved(city.nature)
    assert not any(b.polygon.intersects(clearance) for b in city.buildings)
    assert any(a.category == "river" for a in city.nature)
    assert any(a.category == "habitat" for a in city.nature)


def test_buildings_stand_in_their_blocks_and_do_not_overlap(city):
    blocks = {b.key: b.polygon for b in city.blocks}
    for b in city.buildings:
        assert blocks[b.block_key].contains(b.polygon), b.key
    tree = shapely.STRtree([b.polygon for b in city.buildings])
    pairs = tree.query([b.polygon for b in city.buildings], predicate="overlaps")
    assert pairs.shape[1] == 0


def test_attributes_are_plausible(city):
    for b in city.buildings:
        assert abs(sum(b.use_mix.values()) - 1) < 1e-6
        assert 1 <= b.floors <= 40
        assert b.height_m >= b.floors * 2.9
        assert 2025 <= b.built_year <= 2029
        assert b.footprint_m2 > 50
        assert b.ground_m > 10
        if b.households:
            assert b.use_mix["living"] > 0 and b.facility is None
    homes = [b for b in city.buildings if b.households]
    assert any(b.typology == "detached" and b.households == 1 for b in homes)
    assert any("commercial" in b.category and "residential" in b.category for b in homes)
    school = city.schools()[0]
    assert school.category == ["school"] and school.use_mix["public"] == 1.0
