"""Korean names (``alternateName``) of the twin's named places, for labels in Korean."""

from __future__ import annotations

import re

import pytest

from cityos.twin.names_ko import korean_name

HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.mark.parametrize(
    ("english", "korean"),
    [
        ("Ring Road", "순환도로"),
        ("National Road 96", "국도 96호선"),
        ("Elementary school 2", "제2초등학교"),
        ("Community centre, zone 3", "커뮤니티센터 3구역"),
        ("Ring transfer car park 4", "순환도로 환승주차장 4"),
        ("Ring east island stop", "순환도로 동측 섬식 정류장"),
        ("5-1 Central (BRT)", "5-1 중앙 (BRT)"),
    ],
)
def test_phrases_and_patterns(english, korean):
    assert korean_name(english) == korean


@pytest.mark.parametrize(
    "english", ["Office building B001-21", "Ring up island stop", "Elementary school x", ""]
)
def test_other_names_have_none(english):
    assert korean_name(english) is None


def test_every_labelled_place_of_the_city_has_a_korean_name(entities):
    labelled = [
        e
        for e in entities
        if e["type"] in ("TransitStop", "OffStreetParking", "RoadSegment") or "facility" in e
    ]
    assert len(labelled) > 350
    for entity in labelled:
        assert HANGUL.search(entity["alternateName"]["value"]), entity["id"]
    others = [e for e in entities if e["type"] in ("Person", "Household", "UrbanBlock")]
    assert not any("alternateName" in e for e in others)
    plain = [e for e in entities if e["type"] == "Building" and "facility" not in e]
    assert not any("alternateName" in e for e in plain)
