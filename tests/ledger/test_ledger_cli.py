"""``cityos ledger``: export, receipts, consistency proofs, audit and the offline verifier."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from cityos.cli import app
from cityos.hub.backends import open_storage
from cityos.ledger.did import did_of
from cityos.ledger.service import open_ledger


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYOS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CITYOS_DATABASE_URL", raising=False)
    storage = open_storage(f"sqlite:///{tmp_path / 'hub.db'}")
    ledger = open_ledger(storage, tmp_path)
    for b in range(4):  # 4 batches of 2, 3, 4 and 5 entries: 14 entries, 4 checkpoints
        people = [did_of(Ed25519PrivateKey.generate()) for _ in range(b + 2)]
        ledger.currency.commit(
            [
                ledger.signed(
                    {
                        "type": "open_account",
                        "did": d,
                        "kind": "citizen",
                        "idempotency_key": f"open:{d}",
                    }
                )
                for d in people
            ]
        )
    storage.close()
    return tmp_path


def run(*args):
    return CliRunner().invoke(app, ["ledger", *map(str, args)])


def test_export_and_verify_a_whole_log(data_dir):
    key = run("keygen").output.strip().splitlines()[-1]
    out = data_dir / "export.json"
    assert run("export", "--out", out).exit_code == 0
    result = run("verify", out, "--key", key)
    assert result.exit_code == 0, result.output
    assert "14 entries reproduce all 4 signed checkpoints" in result.output

    doc = json.loads(out.read_text())
    doc["entries"][3], doc["entries"][4] = doc["entries"][4], doc["entries"][3]
    out.write_text(json.dumps(doc))
    result = run("verify", out, "--key", key)
    assert result.exit_code == 1 and "FAILED" in result.output


def test_receipt_and_consistency_verify_offline(data_dir):
    key = run("keygen").output.strip().splitlines()[-1]
    receipt = data_dir / "r.json"
    assert run("receipt", 6, "--out", receipt).exit_code == 0
    result = run("verify", receipt, "--key", key)
    assert result.exit_code == 0 and "entry 6 is included" in result.output
    proof = data_dir / "c.json"
    assert run("consistency", 5, "--out", proof).exit_code == 0
    result = run("verify", proof, "--key", key)
    assert result.exit_code == 0 and "extends the tree of 5 entries" in result.output
    result = run("verify", proof)
    assert result.exit_code == 0 and "warning: trusting the log key" in result.output


def test_bad_requests_and_files_exit_non_zero(data_dir):
    assert run("receipt", 99).exit_code == 1
    assert run("consistency", 9, 5).exit_code == 1
    assert run("verify", data_dir / "missing.json").exit_code == 2
    (data_dir / "junk.json").write_text("{not json")
    assert run("verify", data_dir / "junk.json").exit_code == 2
    (data_dir / "other.json").write_text('{"format": "something/1"}')
    result = run("verify", data_dir / "other.json")
    assert result.exit_code == 1 and "unknown document format" in result.output


def test_tampered_database_is_caught_by_audit_and_by_the_verifier(data_dir):
    key = run("keygen").output.strip().splitlines()[-1]
    assert run("audit").exit_code == 0
    storage = open_storage(f"sqlite:///{data_dir / 'hub.db'}")
    with storage.write() as conn:
        conn.execute("UPDATE ledger_entries SET body = ? WHERE seq = 2", (b"forged",))
    storage.close()
    result = run("audit")
    assert result.exit_code == 1 and "leaf hash" in result.output
    out = data_dir / "export.json"
    assert run("export", "--out", out).exit_code == 0
    assert run("verify", out, "--key", key).exit_code == 1


def test_notarised_document_receipt_verifies_offline(data_dir):
    key = run("keygen").output.strip().splitlines()[-1]
    doc = data_dir / "minutes.pdf"
    doc.write_bytes(b"%PDF minutes of the citizen committee, 2026-12-07")
    receipt = data_dir / "receipt.json"
    result = run("notarise", doc, "--title", "committee minutes", "--out", receipt)
    assert result.exit_code == 0, result.output
    result = run("verify", receipt, "--key", key, "--document", doc)
    assert result.exit_code == 0 and "it notarises SHA-256" in result.output
    # Notarising it again returns the same entry, not a second one.
    again = data_dir / "again.json"
    assert run("notarise", doc, "--title", "committee minutes", "--out", again).exit_code == 0
    assert json.loads(again.read_text())["index"] == json.loads(receipt.read_text())["index"]
    # A changed document, a receipt for another entry, and a forged checkpoint all fail.
    doc.write_bytes(b"%PDF minutes of the citizen committee, 2026-12-08")
    assert run("verify", receipt, "--key", key, "--document", doc).exit_code == 1
    other = data_dir / "other.json"
    assert run("receipt", 0, "--out", other).exit_code == 0
    assert run("verify", other, "--key", key, "--document", doc).exit_code == 1
    forged = json.loads(receipt.read_text())
    forged["checkpoint"] = forged["checkpoint"].replace("\n15\n", "\n16\n")
    receipt.write_text(json.dumps(forged))
    assert run("verify", receipt, "--key", key).exit_code == 1
    assert run("notarise", data_dir / "absent.pdf").exit_code == 2


def test_anchor_to_a_file_witness(data_dir):
    witness = data_dir / "witness"
    result = run("anchor", witness)
    assert result.exit_code == 0, result.output
    assert "\u2014 witness.cityos.example " in result.output
    assert run("anchor", witness).exit_code == 0  # nothing new: the same size again
    (witness / "witness.key").write_text("garbage")
    assert run("anchor", witness).exit_code == 2


def test_issue_revoke_and_verify_credentials_on_the_command_line(data_dir):
    holder = did_of(Ed25519PrivateKey.generate())
    vc, ok, revoked = data_dir / "vc.jwt", data_dir / "status.jwt", data_dir / "status2.jwt"
    assert run("issue-credential", "residency", holder, "--out", vc).exit_code == 0
    assert run("status-list", "--out", ok).exit_code == 0
    issuer = run("keygen").output.split("issuing DID: ")[1].split()[0]
    result = run("revoke-credential", 0)
    assert result.exit_code == 0 and "revoked (log entry 14, committed)" in result.output
    assert run("revoke-credential", 7).exit_code == 1
    assert run("status-list", "--out", revoked).exit_code == 0
    assert run("issue-credential", "wizard", holder).exit_code == 2
    assert run("issue-credential", "residency", "did:web:x").exit_code == 2
    result = run("verify-credential", vc, "--issuer", issuer, "--status", ok)
    assert result.exit_code == 0 and "ResidencyCredential of " + holder in result.output
    result = run("verify-credential", vc, "--issuer", issuer, "--status", revoked)
    assert result.exit_code == 1 and "revoked" in result.output
    other = did_of(Ed25519PrivateKey.generate())
    assert run("verify-credential", vc, "--issuer", other, "--status", ok).exit_code == 1
    assert run("verify-credential", data_dir / "none.jwt", "--issuer", issuer).exit_code == 2


def test_anchor_audit_command(data_dir):
    result = run("anchor-audit")
    assert result.exit_code == 0 and "nothing to anchor" in result.output
    from cityos.privacy.audit import AuditEntry, AuditTrail
    from cityos.privacy.database import PrivacyDatabase

    storage = open_storage(f"sqlite:///{data_dir / 'hub.db'}")
    AuditTrail(PrivacyDatabase(storage)).append(
        AuditEntry(1, "", "op", ("operator",), "read", "released")
    )
    storage.close()
    result = run("anchor-audit")
    assert result.exit_code == 0 and "audit head anchored as log entry 14" in result.output
    assert "1 anchored heads still hold" in run("anchor-audit").output


def test_an_auditor_recomputes_balances_from_an_export(data_dir):
    storage = open_storage(f"sqlite:///{data_dir / 'hub.db'}")
    ledger = open_ledger(storage, data_dir)
    citizen = did_of(Ed25519PrivateKey.generate())
    ledger.open_account(citizen)
    ledger.issue(citizen, 4_200, "volunteer stipend", "stipend-1")
    issuer = ledger.issuer_did
    storage.close()
    key = run("keygen").output.strip().splitlines()[-1]
    out = data_dir / "export.json"
    assert run("export", "--out", out).exit_code == 0
    result = run("verify", out, "--key", key, "--issuer", issuer)
    assert result.exit_code == 0, result.output
    assert f"{citizen} 4200" in result.output and f"{issuer} -4200" in result.output
    other = did_of(Ed25519PrivateKey.generate())  # the wrong issuer: every issuance is forged
    result = run("verify", out, "--key", key, "--issuer", other)
    assert result.exit_code == 1 and "does not replay" in result.output
