"""Rewards for taking part: the ledger's ``governance`` rule (5 SJC per action, at most 50 SJC a
month) paid for counted participation — a vote that counted, a proposal, a support signature.

Anti-gaming comes from the ledger itself: the monthly cap is part of its state machine (an
auditor replaying the log applies it too), and each payment's claim id names the action
(``vote:<election>``, ``support:<proposal>``), so re-voting, retrying or signing the same
proposal again is never paid twice. A participant without a ledger account gets one opened.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from cityos.ledger.accounts import RewardCapReached

RULE = "governance"


def claim_id(did: str, action: str, action_id: str) -> str:
    """The ledger claim of one participation: a hash, as claim ids are short."""
    digest = hashlib.sha256(f"{did}\n{action}\n{action_id}".encode()).hexdigest()[:40]
    return f"{action[:16]}:{digest}"


class ParticipationRewards:
    """Pays participation rewards through a :class:`cityos.ledger.service.Ledger`."""

    def __init__(self, ledger: Any, clock: Callable[[], float] = time.time) -> None:
        self.ledger = ledger
        self.clock = clock

    def reward(self, did: str, action: str, action_id: str) -> str:
        """Pay one unit for ``action`` (``vote``, ``proposal``, ``support``) on ``action_id``;
        ``committed``, ``duplicate`` (already paid) or ``capped`` (the month's cap is reached)."""
        if self.ledger.currency.account(did) is None:
            self.ledger.open_account(did)
        period = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m")
        try:
            outcome = self.ledger.reward(did, RULE, 1, period, claim_id(did, action, action_id))
        except RewardCapReached:
            return "capped"
        return outcome.status

    def reward_voters(self, election_id: str, voters: Iterable[str]) -> dict[str, int]:
        """Reward each voter whose ballot counted in a closed election, once per election."""
        tally: dict[str, int] = {}
        for voter in dict.fromkeys(voters):
            status = self.reward(voter, "vote", election_id)
            tally[status] = tally.get(status, 0) + 1
        return tally
