"""The persistent log: batches, checkpoints, proofs, crash safety and tampered rows."""

from __future__ import annotations

import json
import os
import stat

import merkle_reference as ref
import pytest

from cityos.ledger.checkpoint import open_checkpoint
from cityos.ledger.hashing import leaf_hash
from cityos.ledger.keys import key_path, load_keys
from cityos.ledger.log import EntryNotFound, LogIntegrityError
from cityos.ledger.proofs import verify_consistency, verify_inclusion
from cityos.ledger.service import open_ledger


def _fill(ledger, batches):
    entries = []
    for b, n in enumerate(batches):
        batch = [("test", f"batch {b} entry {i}".encode()) for i in range(n)]
        ledger.log.append_batch(batch)
        entries.extend(body for _, body in batch)
    return entries


def test_batches_sign_one_checkpoint_each_matching_the_naive_tree(ledger):
    entries = _fill(ledger, [1, 3, 7, 2, 16, 5])
    assert ledger.log.checkpoint_sizes() == [1, 4, 11, 13, 29, 34]
    for size in ledger.log.checkpoint_sizes():
        checkpoint, _ = open_checkpoint(ledger.log.checkpoint(size), ledger.log.verifier)
        assert checkpoint.size == size
        assert checkpoint.root_hash == ref.mth(entries[:size])
    assert ledger.log.audit().size == 34


def test_inclusion_and_consistency_proofs_from_the_database(ledger):
    entries = _fill(ledger, [5, 6, 9, 1])
    head = ledger.log.latest()
    for seq in range(len(entries)):
        proof = ledger.log.inclusion_proof(seq)
        assert proof == ref.path(seq, entries)
        verify_inclusion(leaf_hash(entries[seq]), seq, head.size, proof, head.root_hash)
    for old in ledger.log.checkpoint_sizes():
        old_head, _ = open_checkpoint(ledger.log.checkpoint(old), ledger.log.verifier)
        proof = ledger.log.consistency_proof(old)
        assert proof == ref.proof(old, entries)
        verify_consistency(old, head.size, old_head.root_hash, head.root_hash, proof)


def test_empty_log_has_a_signed_empty_checkpoint(ledger):
    head = ledger.log.latest()
    assert head.size == 0 and head.root_hash == ref.mth([])
    assert ledger.log.audit().size == 0


def test_out_of_range_requests_are_refused(ledger):
    _fill(ledger, [3])
    with pytest.raises(EntryNotFound):
        ledger.log.entry(3)
    with pytest.raises(EntryNotFound):
        ledger.log.inclusion_proof(3)
    with pytest.raises(EntryNotFound):
        ledger.log.inclusion_proof(-1)
    with pytest.raises(EntryNotFound):
        ledger.log.inclusion_proof(0, 4)
    with pytest.raises(EntryNotFound):
        ledger.log.checkpoint(2)
    with pytest.raises(EntryNotFound):
        ledger.log.consistency_proof(1, 4)


def test_a_crash_mid_batch_leaves_the_previous_checkpoint(ledger):
    _fill(ledger, [4])
    before = ledger.log.checkpoint()
    with pytest.raises(RuntimeError), ledger.db.write() as conn:
        ledger.log.append(conn, [("test", b"half"), ("test", b"written")])
        raise RuntimeError("power cut")
    assert ledger.log.checkpoint() == before
    assert ledger.log.audit().size == 4
    _fill(ledger, [2])
    assert ledger.log.audit().size == 6


def test_keys_are_created_once_private_and_reloaded(settings, hub):
    first = load_keys(settings.data_dir)
    path = key_path(settings.data_dir)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = open_ledger(hub.storage, settings.data_dir)
    assert again.log_key == first.log.verifier.encode()
    path.write_text(json.dumps({"origin": "x"}))
    with pytest.raises(ValueError, match="unreadable ledger keys"):
        load_keys(settings.data_dir)
    with pytest.raises(FileNotFoundError):
        load_keys(settings.data_dir / "elsewhere", create=False)


def _tamper(ledger, statement, params=()):
    with ledger.db.write() as conn:
        ledger.db.execute(conn, statement, params)


@pytest.mark.parametrize(
    ("statement", "params", "message"),
    [
        ("UPDATE ledger_entries SET body = ? WHERE seq = 3", (b"forged",), "leaf hash"),
        (
            "UPDATE ledger_entries SET body = ?, leaf = ? WHERE seq = 3",
            (b"forged", leaf_hash(b"forged")),
            "does not match",
        ),
        ("DELETE FROM ledger_entries WHERE seq = 2", (), "missing"),
        ("DELETE FROM ledger_entries WHERE seq = 7", (), "node \\(1, 3\\)"),
        ("UPDATE ledger_nodes SET hash = ? WHERE level = 1 AND idx = 0", (b"\0" * 32,), "node"),
        ("DELETE FROM ledger_checkpoints WHERE size = 8", (), "latest checkpoint"),
        ("UPDATE ledger_checkpoints SET note = replace(note, '8', '9')", (), "checkpoint"),
    ],
)
def test_tampered_rows_are_detected_by_the_service(ledger, statement, params, message):
    _fill(ledger, [3, 5])
    _tamper(ledger, statement, params)
    with pytest.raises(LogIntegrityError, match=message):
        ledger.log.audit()
