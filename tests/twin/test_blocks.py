"""Blocks, development zones and the form-based code (> 10 % use change check)."""

from __future__ import annotations

import numpy as np
import pytest

from cityos.twin.blocks import USES, check_use_mix, use_mix_changes


def test_blocks_are_about_150_m_inside_the_ring_and_larger_outside(city):
    inside = [b.polygon for b in city.blocks if b.inside_ring]
    outside = [b.polygon for b in city.blocks if not b.inside_ring]
    span = lambda p: max(p.bounds[2] - p.bounds[0], p.bounds[3] - p.bounds[1])  # noqa: E731
    assert 110 <= np.median([span(p) for p in inside]) <= 160
    assert np.median([p.area for p in outside]) > 1.5 * np.median([p.area for p in inside])


def test_four_development_zones_span_inside_and_outside_the_ring(city):
    assert len(city.zones) == 4
    for zone in city.zones:
        sides = {b.inside_ring for b in city.blocks if b.zone_key == zone.key}
        assert sides == {True, False}, zone.key


def test_each_block_has_a_use_mix_summing_to_one(city):
    for block in city.blocks:
        check_use_mix(block.use_mix)
        if block.kind != "park":
            assert block.floor_area_m2 > 0
    mixed = [b.use_mix for b in city.blocks if b.kind == "mixed"]
    assert np.mean([m["social"] for m in mixed]) > 0.1  # shops and offices below homes


def test_a_change_above_10_percent_is_flagged():
    before = {"B001": {"living": 0.6, "social": 0.3, "public": 0.1}}
    small = {"B001": {"living": 0.55, "social": 0.33, "public": 0.12}}
    large = {"B001": {"living": 0.45, "social": 0.45, "public": 0.10}}
    assert use_mix_changes(before, small) == []
    flagged = use_mix_changes(before, large)
    assert [(c.block, c.use) for c in flagged] == [("B001", "living"), ("B001", "social")]
    assert flagged[0].delta == pytest.approx(-0.15)


def test_exactly_10_percent_is_allowed_and_new_blocks_are_flagged():
    before = {"B001": {"living": 0.6, "social": 0.3, "public": 0.1}}
    edge = {"B001": {"living": 0.5, "social": 0.4, "public": 0.1}}
    assert use_mix_changes(before, edge) == []
    grown = {**before, "B002": {"living": 1.0, "social": 0.0, "public": 0.0}}
    assert [(c.block, c.use) for c in use_mix_changes(before, grown)] == [("B002", "living")]


def test_the_check_compares_two_generated_versions(city):
    before = {b.key: b.use_mix for b in city.blocks}
    after = {k: dict(v) for k, v in before.items()}
    key = next(k for k, v in after.items() if v["living"] > 0.5)
    after[key] = {"living": 0.2, "social": 0.7, "public": 0.1}
    assert {c.block for c in use_mix_changes(before, after)} == {key}
    assert use_mix_changes(before, before) == []


def test_bad_mixes_and_thresholds_are_refused():
    with pytest.raises(ValueError, match="sum to 1"):
        check_use_mix({"living": 0.5, "social": 0.2, "public": 0.2})
    with pytest.raises(ValueError, match="exactly the uses"):
        check_use_mix({"living": 1.0})
    with pytest.raises(ValueError, match="threshold"):
        use_mix_changes({}, {}, threshold=1.5)
    assert USES == ("living", "social", "public")
