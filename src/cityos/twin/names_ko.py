"""Korean names of the twin's named places, stored as ``alternateName`` (Smart Data Models).

The map labels facilities, transit stops, car parks and roads in the language of the interface;
Sejong's staff and residents read Korean first (MISSION.md §6.12, plain language in both
languages). Names are translated from the English names the generator gives, by exact phrase or
by the few patterns it uses (numbered schools, zones, car parks; ring stops by direction).
Persons, households, blocks and ordinary buildings get none.
"""

from __future__ import annotations

import re

#: English name -> Korean name, for names used as they are.
PHRASES: dict[str, str] = {
    # roads (by name, not class)
    "National Road 96": "국도 96호선",
    "Outer Arterial": "외곽 간선도로",
    "Ring Road": "순환도로",
    "BRT Spine": "BRT 중앙축",
    "Interior Road": "내부도로",
    "Central Pedestrian Axis": "중앙 보행축",
    "Central PM Way": "중앙 PM 전용로",
    "PM Way": "PM 전용로",
    "Mid-block Footpath": "블록 내 보행로",
    "Riverside Trail": "강변 산책로",
    "Hill Trail": "언덕 산책로",
    # facilities
    "Urban Integrated Data AI Center": "도시통합데이터 AI센터",
    "Innovation valley": "혁신밸리",
    "Startup incubation centre": "창업보육센터",
    "Welfare centre": "복지센터",
    "Health centre": "보건소",
    "Emergency control centre": "응급관제센터",
    "K-12 school": "K-12 통합학교",
    "Lifelong-learning centre (life-cycle academy)": "평생학습센터 (생애주기 아카데미)",
    "Vertical smart farm": "수직형 스마트팜",
    "Energy storage station (ESS)": "에너지저장장치 (ESS)",
    "Shared-car parking tower": "공유차 주차타워",
    "Shared-car parking tower (underground)": "공유차 주차타워 (지하)",
    # transit stops
    "5-1 Central (BRT)": "5-1 중앙 (BRT)",
    "5-1 West (BRT)": "5-1 서측 (BRT)",
}

_DIRECTIONS = {"north": "북측", "east": "동측", "south": "남측", "west": "서측"}

#: (pattern, Korean template) for the numbered and directional names.
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^Elementary school (\d+)$"), "제{0}초등학교"),
    (re.compile(r"^Community centre, zone (\d+)$"), "커뮤니티센터 {0}구역"),
    (re.compile(r"^Ring transfer car park (\d+)$"), "순환도로 환승주차장 {0}"),
    (re.compile(r"^Ring (north|east|south|west) island stop$"), "순환도로 {0} 섬식 정류장"),
)


def korean_name(english: str) -> str | None:
    """The Korean name of a place the generator names ``english``, or None if it has none."""
    found = PHRASES.get(english)
    if found is not None:
        return found
    for pattern, template in PATTERNS:
        match = pattern.match(english)
        if match:
            return template.format(*(_DIRECTIONS.get(g, g) for g in match.groups()))
    return None
