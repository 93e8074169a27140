"""Opinion groups: two camps are found as they are, the statement everyone agrees with is the
consensus, the ones that split them are divisive; bad votes are refused."""

from __future__ import annotations

import random

import pytest

from cityos.services.governance.deliberation import DeliberationError, analyse

STATEMENTS = [f"s{j}" for j in range(11)]


def _camps(noise: float = 0.1, seed: int = 3) -> dict[str, dict[str, int]]:
    """Camp A agrees with s0-s4 and disagrees with s5-s9, camp B the opposite; everyone agrees
    with s10. Some votes flip or are passed."""
    rng = random.Random(seed)
    votes: dict[str, dict[str, int]] = {}
    for camp, size in (("a", 30), ("b", 20)):
        for n in range(size):
            row = {}
            for j in range(10):
                value = 1 if (j < 5) == (camp == "a") else -1
                if rng.random() < noise:
                    value = rng.choice([0, -value])
                row[f"s{j}"] = value
            row["s10"] = 1
            votes[f"{camp}{n}"] = row
    votes["lurker"] = {"s0": 1}
    return votes


def test_two_camps_common_ground_and_divides():
    result = analyse(STATEMENTS, _camps())
    camps = sorted(sorted({m[0] for m in g.members}) for g in result.groups)
    assert camps == [["a"], ["b"]]  # each group is one camp, whole
    assert sorted(len(g.members) for g in result.groups) == [20, 30]
    assert result.consensus == ["s10"]
    assert set(result.divisive) == {f"s{j}" for j in range(10)}
    group_a = next(g for g in result.groups if g.members[0].startswith("a"))
    assert set(group_a.representative) <= {"s0", "s1", "s2", "s3", "s4"}
    assert group_a.agreement["s10"] == 1.0 and group_a.agreement["s0"] > 0.8
    assert result.left_out == ["lurker"]  # one vote is too few to be placed
    assert set(result.coordinates) == {p for p in _camps() if p != "lurker"}


def test_the_analysis_is_reproducible():
    first, second = analyse(STATEMENTS, _camps()), analyse(STATEMENTS, _camps())
    assert [g.members for g in first.groups] == [g.members for g in second.groups]


@pytest.mark.parametrize(
    ("votes", "message"),
    [
        ({"p": {"s0": 2}}, "-1, 0 or 1"),
        ({"p": {"s0": True}}, "-1, 0 or 1"),
        ({"p": {"nope": 1}}, "unknown statement"),
        ({"p": {"s0": 1, "s1": 1, "s2": 1}}, "3 are needed"),
    ],
)
def test_bad_votes_are_refused(votes, message):
    with pytest.raises(DeliberationError, match=message):
        analyse(STATEMENTS, votes)
    with pytest.raises(DeliberationError, match="unique"):
        analyse(["s0", "s0"], {})
