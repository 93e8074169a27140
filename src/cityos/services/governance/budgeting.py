"""Participatory budgeting: which projects a budget funds, by two documented rules, with an
explanation for every project.

Voters approve projects (approval ballots); the budget is shared out by

* **greedy by votes** — projects by number of approvals (then cheaper first, then id), each
  funded if it still fits in what is left: simple, but a 51 % majority can take everything;
* **the method of equal shares** (Peters & Skowron 2020; equalshares.net) — every voter holds an
  equal share ``budget / voters``; a project is bought by its supporters, each paying the same
  amount ``rho`` or all they have left if less, and the project bought next is the one whose
  supporters pay the least ``rho`` (approval utilities: one unit of satisfaction per supporter).
  When no project can be bought any more, what is left is spent greedily by votes
  ("utilitarian completion"). A group of 30 % of the voters who agree controls about 30 % of the
  budget, whatever the majority wants.

Inputs are plain (``Project``, ballots as sets of project ids), not tied to 5-1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


class BudgetingError(ValueError):
    """Inconsistent inputs: unknown or repeated projects, non-positive costs or budget."""


@dataclass(frozen=True)
class Project:
    id: str
    cost: float


@dataclass
class Outcome:
    """Funded projects in the order they were chosen, what is left, and an explanation for
    every project."""

    rule: str
    funded: list[str] = field(default_factory=list)
    spent: float = 0.0
    left: float = 0.0
    explanations: dict[str, str] = field(default_factory=dict)


def _check(projects: Sequence[Project], budget: float,
           ballots: Mapping[str, set[str]]) -> dict[str, Project]:  # fmt: skip
    if not (math.isfinite(budget) and budget > 0):
        raise BudgetingError(f"the budget must be a positive amount, not {budget}")
    by_id: dict[str, Project] = {}
    for p in projects:
        if p.id in by_id:
            raise BudgetingError(f"project {p.id!r} is listed twice")
        if not (math.isfinite(p.cost) and p.cost > 0):
            raise BudgetingError(f"project {p.id!r} must cost a positive amount")
        by_id[p.id] = p
    for voter, approved in ballots.items():
        unknown = set(approved) - set(by_id)
        if unknown:
            raise BudgetingError(f"voter {voter!r} approves unknown projects {sorted(unknown)}")
    return by_id


def _approvals(by_id: Mapping[str, Project], ballots: Mapping[str, set[str]]) -> dict[str, int]:
    votes = dict.fromkeys(by_id, 0)
    for approved in ballots.values():
        for pid in approved:
            votes[pid] += 1
    return votes


def _greedy_order(by_id: Mapping[str, Project], votes: Mapping[str, int]) -> list[str]:
    return sorted(by_id, key=lambda pid: (-votes[pid], by_id[pid].cost, pid))


def greedy(projects: Sequence[Project], budget: float,
           ballots: Mapping[str, set[str]]) -> Outcome:  # fmt: skip
    """Fund projects by number of approvals while they fit."""
    by_id = _check(projects, budget, ballots)
    votes = _approvals(by_id, ballots)
    out = Outcome("greedy", left=budget)
    _fill_greedily(out, by_id, votes, _greedy_order(by_id, votes), "")
    return out


def _fill_greedily(out: Outcome, by_id: Mapping[str, Project], votes: Mapping[str, int],
                   order: Sequence[str], stage: str) -> None:  # fmt: skip
    for pid in order:
        if pid in out.funded:
            continue
        cost = by_id[pid].cost
        if votes[pid] == 0:
            reason = "not funded: nobody approved it"
        elif cost <= out.left + 1e-9:
            out.funded.append(pid)
            out.spent += cost
            out.left -= cost
            reason = f"funded{stage}: {votes[pid]} approvals, cost {cost:g}"
        else:
            reason = (
                f"not funded{stage}: costs {cost:g} but only {out.left:g} was left "
                f"({votes[pid]} approvals)"
            )
        earlier = out.explanations.get(pid)
        out.explanations[pid] = f"{earlier}; {reason}" if earlier else reason


def equal_shares(projects: Sequence[Project], budget: float,
                 ballots: Mapping[str, set[str]]) -> Outcome:  # fmt: skip
    """The method of equal shares with utilitarian completion (see the module docstring)."""
    by_id = _check(projects, budget, ballots)
    votes = _approvals(by_id, ballots)
    voters = list(ballots)
    if not voters:
        raise BudgetingError("no ballots")
    money = dict.fromkeys(voters, budget / len(voters))
    supporters = {pid: [v for v in voters if pid in ballots[v]] for pid in by_id}
    out = Outcome("equal-shares", left=budget)
    open_ = {pid for pid in by_id if votes[pid] > 0}
    while True:
        best: tuple[float, int, float, str] | None = None
        for pid in open_:
            rho = _payment(by_id[pid].cost, [money[v] for v in supporters[pid]])
            if rho is not None:
                key = (rho, -votes[pid], by_id[pid].cost, pid)
                best = key if best is None or key < best else best
        if best is None:
            break
        rho, _, cost, pid = best
        for v in supporters[pid]:
            money[v] -= min(money[v], rho)
        open_.discard(pid)
        out.funded.append(pid)
        out.spent += cost
        out.left -= cost
        out.explanations[pid] = (
            f"funded by equal shares: its {votes[pid]} supporters paid at most {rho:g} each"
        )
    for pid in sorted(open_):
        held = sum(money[v] for v in supporters[pid])
        out.explanations[pid] = (
            f"its {votes[pid]} supporters had {held:g} of their shares left, it costs "
            f"{by_id[pid].cost:g}"
        )
    completion = [pid for pid in _greedy_order(by_id, votes) if pid not in out.funded]
    _fill_greedily(out, by_id, votes, completion, " in the completion")
    return out


def _payment(cost: float, budgets: Sequence[float]) -> float | None:
    """The smallest ``rho`` with ``Σ min(b, rho) = cost`` over the supporters' budgets, or None
    if they cannot afford the project together."""
    if sum(budgets) < cost - 1e-9:
        return None
    remaining, ordered = cost, sorted(budgets)
    for k, b in enumerate(ordered):
        payers = len(ordered) - k
        if b * payers >= remaining - 1e-12:
            return remaining / payers
        remaining -= b
    return None
