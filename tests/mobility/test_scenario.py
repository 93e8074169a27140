"""Scenario files: built-ins load, invalid files fail with the field named, runs reproduce."""

from __future__ import annotations

from pathlib import Path

import pytest

from cityos.twin.mobility.scenario import (
    ScenarioError,
    builtin_names,
    load_scenario,
    parse_scenario,
)


def test_builtins_load() -> None:
    names = builtin_names()
    assert {"baseline", "smart-5-1", "zone-eighth", "fewer-shuttles", "no-free-transfer"} <= set(
        names
    )
    base = load_scenario("baseline")
    assert not base.zone.car_restricted and base.cars_per_household.inside == 1.18
    assert not base.shuttle.enabled
    eighth = load_scenario("zone-eighth")
    assert eighth.zone.area_fraction == 0.125
    assert load_scenario("fewer-shuttles").shuttle.fleet < load_scenario("smart-5-1").shuttle.fleet
    assert not load_scenario("no-free-transfer").fares.free_transfer


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("name: x\nshuttle:\n  fleet: -3\n", "shuttle.fleet: Input should be greater than"),
        ("name: x\nshuttle:\n  max_wait: 600\n", "shuttle.max_wait: Extra inputs"),
        ("name: x\nzone:\n  area_fraction: 0.9\n", "zone.area_fraction"),
        ("name: x\ncars_per_household:\n  inside: lots\n", "cars_per_household.inside"),
        ("description: no name\n", "name: Field required"),
        ("name: 'bad name!'\n", "name: String should match pattern"),
        ("- just\n- a list\n", "must be a mapping"),
        ("name: x\nshuttle: [unclosed\n", "not valid YAML at line"),
    ],
)
def test_invalid_files_name_the_field(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=words) as info:
        load_scenario(path)
    assert info.value.status == 400 and "bad.yaml" in info.value.detail


def test_unknown_name_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="unknown scenario 'smart'; built-in: baseline"):
        load_scenario("smart")
    with pytest.raises(ScenarioError, match="does not exist"):
        load_scenario(tmp_path / "none.yaml")
    with pytest.raises(ScenarioError, match="must be a mapping"):
        parse_scenario("text")


def test_defaults_are_the_plan() -> None:
    s = parse_scenario({"name": "custom"})
    assert s.shuttle.max_wait_s == 600 and s.shuttle.detour_factor == 1.3
    assert s.zone.car_restricted and s.fares.free_transfer
