"""Reward rules: money the city issues for verified civic activity, capped per month.

Each rule pays a fixed amount per verified unit (a volunteer hour, a PM trip, a day the walking goal
was met, a governance action) up to a monthly cap per citizen. The rules are part of the ledger's
state machine, so an auditor replaying the log applies the same caps. Choose a rule by name from
:data:`RULES`; an unknown name raises :class:`UnknownRule` listing the known ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from cityos.ledger._errors import LedgerError


class UnknownRule(LedgerError):
    """No reward rule has this name."""

    title = "Unknown reward rule"
    status = 400


@dataclass(frozen=True)
class RewardRule:
    """``amount_per_unit`` [minor units] per ``unit``, at most ``monthly_cap`` [minor units]."""

    name: str
    unit: str
    amount_per_unit: int
    monthly_cap: int
    description: str


RULES: dict[str, RewardRule] = {
    rule.name: rule
    for rule in (
        RewardRule(
            "volunteer",
            "verified volunteer hour",
            10_000,
            200_000,
            "100 SJC per volunteer hour, at most 20 hours (2,000 SJC) a month",
        ),
        RewardRule(
            "pm_trip",
            "personal-mobility trip",
            200,
            10_000,
            "2 SJC per shared PM trip instead of a car, at most 100 SJC a month",
        ),
        RewardRule(
            "walking",
            "day the walking goal was met",
            300,
            9_000,
            "3 SJC per day of 8,000 steps, at most 90 SJC a month",
        ),
        RewardRule(
            "governance",
            "vote, proposal or deliberation",
            500,
            5_000,
            "5 SJC per participation in city governance, at most 50 SJC a month",
        ),
    )
}


def rule_named(name: str) -> RewardRule:
    """The rule called ``name``."""
    try:
        return RULES[name]
    except KeyError:
        raise UnknownRule(f"unknown reward rule {name!r}; known: {', '.join(RULES)}") from None


def reward_amount(rule: RewardRule, units: int, already: int) -> int:
    """What ``units`` earn this month when ``already`` [minor units] was paid: capped, >= 0."""
    return max(0, min(units * rule.amount_per_unit, rule.monthly_cap - already))
