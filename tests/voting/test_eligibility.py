"""Eligibility from the ledger's verifiable credentials: residents vote, others are refused with
the reason, revoked or forged credentials do not count, and a credential about someone else
cannot be borrowed."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cityos.core.settings import Settings
from cityos.hub.backends import open_hub
from cityos.ledger.credentials import verify_credential
from cityos.ledger.did import did_of
from cityos.ledger.service import open_ledger
from cityos.services.governance.voting.ballots import encrypt_ballot
from cityos.services.governance.voting.election import Election, ElectionError, Manifest
from cityos.services.governance.voting.eligibility import CredentialEligibility
from cityos.services.governance.voting.trustees import key_ceremony


def _did() -> str:
    return did_of(Ed25519PrivateKey.generate())


@pytest.fixture
def ledger(tmp_path: Path):
    hub = open_hub(Settings(data_dir=tmp_path))
    yield open_ledger(hub.storage, tmp_path)
    hub.storage.close()


def test_only_residents_with_live_credentials_vote(ledger):
    issuer = ledger.credentials
    resident, visitor, moved_out, borrower = _did(), _did(), _did(), _did()
    residency = issuer.issue("residency", resident)
    senior_only = issuer.issue("age_over_65", visitor)
    revoked = issuer.issue("residency", moved_out)
    index = verify_credential(revoked, ledger.issuer_did, issuer.status_list()).status_index
    issuer.revoke(index)
    rule = CredentialEligibility(ledger.issuer_did, issuer.status_list())

    rule.register(resident, [residency])
    with pytest.raises(ElectionError, match="lacks ResidencyCredential"):
        rule.register(visitor, [senior_only])
    with pytest.raises(ElectionError, match="revoked"):
        rule.register(moved_out, [revoked])
    with pytest.raises(ElectionError, match="not the voter"):
        rule.register(borrower, [residency])  # someone else's credential
    forged = residency[:-4] + ("AAAA" if not residency.endswith("AAAA") else "BBBB")
    with pytest.raises(ElectionError, match="credential 0"):
        rule.register(borrower, [forged])
    other_city = CredentialEligibility(_did(), issuer.status_list())
    with pytest.raises(ElectionError, match="credential 0"):
        other_city.register(resident, [residency])  # not the trusted issuer

    _, published = key_ceremony(1, 1, "ref-cred")
    election = Election(Manifest("ref-cred", "q", ("yes", "no"), 1, 1), published, rule)
    ok = encrypt_ballot("ref-cred", election.public_key, resident, 2, 0)
    assert len(election.cast(ok, resident)) == 64
    refused = encrypt_ballot("ref-cred", election.public_key, visitor, 2, 1)
    with pytest.raises(ElectionError, match="not eligible"):
        election.cast(refused, visitor)
    assert len(election.ballots) == 1
