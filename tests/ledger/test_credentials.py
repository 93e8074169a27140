"""Verifiable credentials: issued by the city, verified offline; forged, foreign, expired and
revoked ones refused."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cityos.ledger.credentials import CredentialError, CredentialIssuer, verify_credential
from cityos.ledger.did import InvalidDid, did_of
from cityos.ledger.status_list import MIN_BITS, StatusListError, bit, decode_list, encode_list

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


@pytest.fixture
def librarian():
    return did_of(Ed25519PrivateKey.generate())


def _claims(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_issue_and_verify_offline(ledger, librarian):
    issuer = ledger.credentials
    token = issuer.issue("age_over_65", librarian, now=NOW)
    vc = _claims(token)
    assert vc["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert "birthDate" not in json.dumps(vc)
    result = verify_credential(token, ledger.issuer_did, issuer.status_list(now=NOW), now=NOW)
    assert result.vc_type == "AgeOver65Credential" and result.subject == librarian
    assert result.claims == {"ageOver": 65}
    residency = issuer.issue("residency", librarian, now=NOW)
    assert (
        verify_credential(
            residency, ledger.issuer_did, issuer.status_list(now=NOW), now=NOW
        ).status_index
        == result.status_index + 1
    )


def test_revocation_via_the_status_list(ledger, librarian):
    issuer = ledger.credentials
    keep = issuer.issue("residency", librarian, now=NOW)
    drop = issuer.issue("disability_support", librarian, now=NOW)
    old_list = issuer.status_list(now=NOW)
    index = int(_claims(drop)["credentialStatus"]["statusListIndex"])
    issuer.revoke(index)
    issuer.revoke(index)  # idempotent
    new_list = issuer.status_list(now=NOW)
    verify_credential(keep, ledger.issuer_did, new_list, now=NOW)
    with pytest.raises(CredentialError, match="revoked"):
        verify_credential(drop, ledger.issuer_did, new_list, now=NOW)
    verify_credential(drop, ledger.issuer_did, old_list, now=NOW)  # a stale list, still in date
    with pytest.raises(CredentialError, match="out of date"):
        verify_credential(drop, ledger.issuer_did, old_list, now=NOW + timedelta(days=2))
    with pytest.raises(CredentialError, match="status list is needed"):
        verify_credential(keep, ledger.issuer_did, None, now=NOW)
    with pytest.raises(CredentialError, match="no credential was issued"):
        issuer.revoke(99)


def test_forged_foreign_expired_and_malformed_credentials(ledger, librarian):
    issuer = ledger.credentials
    status = issuer.status_list(now=NOW)
    token = issuer.issue("residency", librarian, valid_days=30, now=NOW)
    header, _, signature = token.split(".")
    claims = _claims(token)
    claims["credentialSubject"]["id"] = did_of(Ed25519PrivateKey.generate())
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    for bad in (f"{header}.{forged_payload}.{signature}", "not-a-jwt", token[:-4] + "AAAA"):
        with pytest.raises(CredentialError):
            verify_credential(bad, ledger.issuer_did, status, now=NOW)
    # Another "city" with its own key issues a credential claiming to be ours.
    rogue_key = Ed25519PrivateKey.generate()
    rogue = CredentialIssuer(ledger.db, rogue_key, issuer.status_url)
    fake = rogue.issue("residency", librarian, now=NOW)
    with pytest.raises(CredentialError):
        verify_credential(fake, ledger.issuer_did, status, now=NOW)
    with pytest.raises(CredentialError):  # its status list cannot vouch for ours either
        verify_credential(token, ledger.issuer_did, rogue.status_list(now=NOW), now=NOW)
    with pytest.raises(CredentialError, match="expired"):
        verify_credential(token, ledger.issuer_did, status, now=NOW + timedelta(days=31))
    with pytest.raises(CredentialError, match="not valid before"):
        verify_credential(token, ledger.issuer_did, status, now=NOW - timedelta(days=1))
    with pytest.raises(CredentialError, match="unknown credential kind"):
        issuer.issue("wizard", librarian)
    with pytest.raises(InvalidDid):
        issuer.issue("residency", "did:web:someone.example")
    with pytest.raises(CredentialError, match="valid_days"):
        issuer.issue("residency", librarian, valid_days=0)


def test_status_list_encoding():
    encoded = encode_list({0, 7, 8, 131_071})
    raw = decode_list(encoded)
    assert len(raw) * 8 == MIN_BITS
    assert raw[0] == 0b1000_0001 and raw[1] == 0b1000_0000  # left-most bit first
    assert [bit(raw, i) for i in (0, 1, 7, 8, 9, 131_071)] == [1, 0, 1, 1, 0, 1]
    assert len(decode_list(encode_list({200_000}))) * 8 >= 200_001
    short = "u" + base64.urlsafe_b64encode(gzip.compress(b"\0" * 10)).rstrip(b"=").decode()
    for bad in ("zabc", "u!!", short, 5):
        with pytest.raises(StatusListError):
            decode_list(bad)
    with pytest.raises(StatusListError):
        bit(raw, MIN_BITS)


def test_revocations_are_recorded_on_the_log(ledger, librarian):
    token = ledger.credentials.issue("disability_support", librarian, now=NOW)
    index = int(_claims(token)["credentialStatus"]["statusListIndex"])
    size = ledger.log.latest().size
    first = ledger.revoke_credential(index)
    assert first.status == "committed" and first.seq == size
    tx = json.loads(ledger.log.entry(first.seq).body)["tx"]
    assert tx["type"] == "revoke_credential" and tx["status_index"] == index
    assert ledger.revoke_credential(index).status == "duplicate"
    with pytest.raises(CredentialError, match="revoked"):
        verify_credential(token, ledger.issuer_did, ledger.credentials.status_list())
    with pytest.raises(CredentialError, match="no credential was issued"):
        ledger.revoke_credential(index + 1)
    assert ledger.log.latest().size == size + 1  # a refused revocation leaves no entry
    ledger.audit()
