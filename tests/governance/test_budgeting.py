"""Participatory budgeting: greedy by votes against the method of equal shares, explanations for
every project, and bad inputs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityos.services.governance.budgeting import (
    BudgetingError,
    Project,
    _payment,
    equal_shares,
    greedy,
)


def _two_groups() -> tuple[list[Project], dict[str, set[str]]]:
    """70 voters want parks (P1-P5), 30 want a library wing (L1-L5); each project costs 20."""
    projects = [Project(f"P{i}", 20) for i in range(1, 6)] + [
        Project(f"L{i}", 20) for i in range(1, 6)
    ]
    ballots = {f"m{n}": {f"P{i}" for i in range(1, 6)} for n in range(70)}
    ballots |= {f"w{n}": {f"L{i}" for i in range(1, 6)} for n in range(30)}
    return projects, ballots


def test_greedy_lets_the_majority_take_everything():
    projects, ballots = _two_groups()
    out = greedy(projects, 100, ballots)
    assert out.funded == ["P1", "P2", "P3", "P4", "P5"] and out.left == 0
    assert "only 0 was left" in out.explanations["L1"]


def test_equal_shares_gives_the_minority_its_share():
    projects, ballots = _two_groups()
    out = equal_shares(projects, 100, ballots)
    assert out.funded[:3] == ["P1", "P2", "P3"]  # 70 voters x 1.0 buy three parks
    assert "L1" in out.funded  # the 30 % buy one project with their own shares
    assert out.spent == 100 and len(out.funded) == 5
    assert "paid at most 0.666667 each" in out.explanations["L1"]
    assert "in the completion" in out.explanations["P4"]  # leftovers spent by votes
    why = out.explanations["L2"]  # the minority's shares are spent; nothing left for a second
    assert "supporters had 10 of their shares left" in why and "not funded in the completion" in why


def test_payment_is_the_smallest_equal_share():
    assert _payment(0.9, [0.1, 0.5, 0.5]) == pytest.approx(0.4)  # the poorest pays all it has
    assert _payment(0.9, [0.3, 0.3, 0.3]) == pytest.approx(0.3)
    assert _payment(1.0, [0.3, 0.3, 0.3]) is None


@pytest.mark.parametrize(
    ("projects", "budget", "ballots", "message"),
    [
        ([Project("a", 1), Project("a", 2)], 5, {"v": {"a"}}, "listed twice"),
        ([Project("a", -1)], 5, {"v": {"a"}}, "positive amount"),
        ([Project("a", 1)], 0, {"v": {"a"}}, "budget must be"),
        ([Project("a", 1)], float("nan"), {"v": {"a"}}, "budget must be"),
        ([Project("a", 1)], 5, {"v": {"b"}}, "unknown projects"),
    ],
)
def test_bad_inputs(projects, budget, ballots, message):
    for rule in (greedy, equal_shares):
        with pytest.raises(BudgetingError, match=message):
            rule(projects, budget, ballots)
    with pytest.raises(BudgetingError, match="no ballots"):
        equal_shares([Project("a", 1)], 5, {})


@settings(max_examples=60, deadline=None)
@given(
    costs=st.lists(st.integers(1, 50), min_size=1, max_size=8),
    budget=st.integers(1, 120),
    ballots=st.lists(st.sets(st.integers(0, 7), max_size=4), min_size=1, max_size=25),
)
def test_never_overspends_and_explains_every_project(costs, budget, ballots):
    projects = [Project(f"p{i}", c) for i, c in enumerate(costs)]
    votes = {f"v{n}": {f"p{i}" for i in b if i < len(costs)} for n, b in enumerate(ballots)}
    for rule in (greedy, equal_shares):
        out = rule(projects, budget, votes)
        assert out.spent <= budget + 1e-9 and len(set(out.funded)) == len(out.funded)
        assert set(out.explanations) == {p.id for p in projects}
        approved = set().union(*votes.values())
        assert set(out.funded) <= approved  # nothing nobody asked for
