"""Participation rewards through the ledger: paid once per action, capped per month, and
replayable from the log."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cityos.core.settings import Settings
from cityos.hub.backends import open_hub
from cityos.ledger.did import did_of
from cityos.ledger.service import open_ledger
from cityos.services.governance.rewards import ParticipationRewards
from cityos.services.governance.voting.ballots import encrypt_ballot
from cityos.services.governance.voting.election import Election, Manifest
from cityos.services.governance.voting.trustees import key_ceremony

NOV = 1_764_547_200.0  # 2025-12-01T00:00Z


@pytest.fixture
def ledger(tmp_path: Path):
    hub = open_hub(Settings(data_dir=tmp_path))
    yield open_ledger(hub.storage, tmp_path)
    hub.storage.close()


def test_voters_are_paid_once_per_election_and_capped_monthly(ledger):
    rewards = ParticipationRewards(ledger, clock=lambda: NOV)
    kim, lee = did_of(Ed25519PrivateKey.generate()), did_of(Ed25519PrivateKey.generate())
    _, published = key_ceremony(1, 1, "ref-r")
    election = Election(Manifest("ref-r", "q", ("yes", "no"), 1, 1), published)
    for voter, choice in ((kim, 0), (lee, 1), (kim, 1)):  # kim votes again
        election.cast(encrypt_ballot("ref-r", election.public_key, voter, 2, choice), voter)
    election.close()
    counted = [b.voter for b in election.counted()]
    assert rewards.reward_voters("ref-r", counted) == {"committed": 2}
    assert rewards.reward_voters("ref-r", counted) == {"duplicate": 2}  # a retry pays nothing
    assert ledger.currency.balance(kim) == 500  # 5 SJC, once, despite two ballots
    for n in range(9):
        assert rewards.reward(kim, "support", f"proposal-{n}") == "committed"
    assert ledger.currency.balance(kim) == 5_000  # the 50 SJC monthly cap
    assert rewards.reward(kim, "proposal", "p-10") == "capped"
    next_month = ParticipationRewards(ledger, clock=lambda: NOV + 31 * 86_400)
    assert next_month.reward(kim, "proposal", "p-10") == "committed"
    ledger.audit()  # every payment is on the log and replays to the same balances
