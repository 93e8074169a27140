"""Anchors: witnesses cosign only checkpoints that extend what they saw; split views are refused."""

from __future__ import annotations

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cityos.hub.backends import open_storage
from cityos.ledger.anchors import (
    AnchorConflict,
    FileWitness,
    HttpWitness,
    InvalidWitnessRequest,
    anchor_named,
    parse_add_checkpoint,
)
from cityos.ledger.checkpoint import verify_cosignature
from cityos.ledger.did import did_of
from cityos.ledger.service import Ledger, open_ledger
from cityos.ledger.signed_note import NoteError


def _open(ledger: Ledger, n: int) -> None:
    people = [did_of(Ed25519PrivateKey.generate()) for _ in range(n)]
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


def test_a_file_witness_cosigns_a_growing_log(ledger, tmp_path):
    witness = FileWitness(tmp_path / "witness")
    for n in (3, 1, 4):
        _open(ledger, n)
        cosigned = ledger.publish(witness)
        assert verify_cosignature(cosigned, witness.verifier) > 0
    assert witness.latest_size(ledger.log.verifier) == 8
    assert len((tmp_path / "witness" / "log.jsonl").read_text().splitlines()) == 3
    # The same witness directory reopened keeps its key and state.
    again = FileWitness(tmp_path / "witness")
    assert again.verifier == witness.verifier
    assert again.latest_size(ledger.log.verifier) == 8


def test_a_split_view_is_refused(ledger, settings, tmp_path):
    witness = FileWitness(tmp_path / "witness")
    _open(ledger, 4)
    ledger.publish(witness)
    # The operator runs a second database with the same keys and a different history.
    fork_storage = open_storage(f"sqlite:///{tmp_path / 'fork.db'}")
    fork = open_ledger(fork_storage, settings.data_dir)
    _open(fork, 6)
    with pytest.raises(AnchorConflict, match="does not extend"):
        fork.publish(witness)
    fork_storage.close()
    note = ledger.log.checkpoint()
    with pytest.raises(AnchorConflict, match="witness is at size 4"):
        witness.add_checkpoint(note, 0, [], ledger.log.verifier)
    with pytest.raises(NoteError):
        witness.add_checkpoint(note.replace("\n4\n", "\n5\n"), 4, [], ledger.log.verifier)


def _http_witness(witness: FileWitness, log_key) -> httpx.Client:
    """A transport that hands requests to a real witness, in the tlog-witness wire format."""

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/add-checkpoint"
        try:
            old, proof, note = parse_add_checkpoint(request.content.decode())
            cosigned = witness.add_checkpoint(note, old, proof, log_key)
        except AnchorConflict:
            return httpx.Response(409, text=f"{witness.latest_size(log_key)}\n")
        return httpx.Response(200, text=cosigned[len(note) :])

    return httpx.Client(transport=httpx.MockTransport(handle))


def test_http_witness_protocol(ledger, tmp_path):
    witness = FileWitness(tmp_path / "remote")
    client = _http_witness(witness, ledger.log.verifier)
    remote = HttpWitness("https://witness.example", witness.verifier, client=client)
    _open(ledger, 2)
    assert verify_cosignature(ledger.publish(remote), witness.verifier)
    _open(ledger, 3)
    assert verify_cosignature(ledger.publish(remote), witness.verifier)
    # A client that lost track of the witness's size learns it from the 409 and retries.
    stale = HttpWitness("https://witness.example", witness.verifier, client=client)
    with pytest.raises(AnchorConflict, match="at size 5"):
        ledger.publish(stale)
    _open(ledger, 1)
    assert verify_cosignature(ledger.publish(stale), witness.verifier)
    with pytest.raises(InvalidWitnessRequest):
        parse_add_checkpoint("new 3\n\nnote")
    with pytest.raises(InvalidWitnessRequest):
        parse_add_checkpoint("old 3\n!!\n\nnote")
    with pytest.raises(ValueError, match="known: file, http"):
        anchor_named("ethereum")
