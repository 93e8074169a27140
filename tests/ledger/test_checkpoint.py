"""Signed checkpoints and witness cosignatures: round trips, forgeries and malformed notes."""

from __future__ import annotations

import base64
import hashlib

import pytest

from cityos.ledger.checkpoint import (
    Checkpoint,
    cosign,
    open_checkpoint,
    sign_checkpoint,
    verify_cosignature,
)
from cityos.ledger.merkle import MerkleTree
from cityos.ledger.signed_note import COSIGNATURE_V1, NoteError, Signer, Verifier, key_hash

ORIGIN = "sejong.cityos.example/log"


@pytest.fixture
def log_key():
    return Signer.generate(ORIGIN)


@pytest.fixture
def signed(log_key):
    tree = MerkleTree([b"issue 100", b"transfer 7"])
    return sign_checkpoint(Checkpoint(ORIGIN, len(tree), tree.root()), log_key), tree


def test_round_trip_and_format(log_key, signed):
    note, tree = signed
    checkpoint, _ = open_checkpoint(note, log_key.verifier)
    assert (checkpoint.size, checkpoint.root_hash) == (2, tree.root())
    text, _, sigs = note.partition("\n\n")
    assert text.split("\n") == [ORIGIN, "2", base64.b64encode(tree.root()).decode()]
    assert sigs.startswith(f"\u2014 {ORIGIN} ")
    raw = base64.b64decode(sigs.split(" ")[2])
    pub = log_key.verifier.public_key
    assert raw[:4] == hashlib.sha256(ORIGIN.encode() + b"\n\x01" + pub).digest()[:4]
    assert len(raw) == 4 + 64


def test_verifier_key_string_round_trip(log_key):
    encoded = log_key.verifier.encode()
    assert Verifier.decode(encoded) == log_key.verifier
    name, hexhash, blob = encoded.split("+", 2)
    with pytest.raises(NoteError):
        Verifier.decode(f"{name}+00000000+{blob}")
    with pytest.raises(NoteError):
        Verifier.decode(f"{name}+{hexhash}+not*base64")
    with pytest.raises(NoteError):
        Verifier.decode("only+two")


def test_altered_size_root_or_origin_is_rejected(log_key, signed):
    note, tree = signed
    altered = [
        note.replace("\n2\n", "\n3\n", 1),
        note.replace(
            base64.b64encode(tree.root()).decode(), base64.b64encode(tree.root(1)).decode()
        ),
        note.replace(ORIGIN + "\n", ORIGIN + "x\n", 1),
        note.replace("\n\n", "\nextension line\n\n", 1),
    ]
    for bad in altered:
        assert bad != note
        with pytest.raises(NoteError):
            open_checkpoint(bad, log_key.verifier)


def test_forged_signature_and_wrong_key_are_rejected(log_key, signed):
    note, _ = signed
    impostor = Signer.generate(ORIGIN)
    with pytest.raises(NoteError):
        open_checkpoint(note, impostor.verifier)
    text = note.partition("\n\n")[0] + "\n"
    forged = sign_checkpoint(Checkpoint.from_body(text), impostor)
    with pytest.raises(NoteError):
        open_checkpoint(forged, log_key.verifier)
    # The impostor's signature relabelled with the real key hash still fails.
    impostor_sig = base64.b64decode(forged.partition("\n\n")[2].split(" ")[2])[4:]
    relabelled = base64.b64encode(log_key.verifier.key_hash + impostor_sig).decode()
    with pytest.raises(NoteError):
        open_checkpoint(f"{text}\n\u2014 {ORIGIN} {relabelled}\n", log_key.verifier)
    line = note.partition("\n\n")[2]
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    raw[10] ^= 1
    flipped = note.replace(line.split(" ")[2].strip(), base64.b64encode(bytes(raw)).decode())
    with pytest.raises(NoteError):
        open_checkpoint(flipped, log_key.verifier)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "no signature block\n",
        "origin\n2\nAAAA\n\n",
        "origin\n2\nAAAA\n\nnot a signature line\n",
        "origin\n2\nAAAA\n\n\u2014 origin !!!notbase64\n",
        "origin\n2\nAAAA\n\n\u2014 origin AAAA\n",
        "origin\n\n2\n\n\u2014 origin AAAAAAAAAAAAAAAA\n",
        "origin\n2\nAAAA\n\n\u2014 origin AAAAAAAAAAAAAAAA",
    ],
)
def test_malformed_notes_are_rejected(bad, log_key):
    with pytest.raises(NoteError):
        open_checkpoint(bad, log_key.verifier)


@pytest.mark.parametrize("size", ["-1", "01", "two", "1e3", "\u0661"])
def test_malformed_checkpoint_bodies_are_rejected(size):
    with pytest.raises(NoteError):
        Checkpoint.from_body(f"{ORIGIN}\n{size}\n{base64.b64encode(bytes(32)).decode()}\n")
    with pytest.raises(NoteError):
        Checkpoint.from_body(f"{ORIGIN}\n1\n{base64.b64encode(bytes(31)).decode()}\n")


def test_witness_cosignature(log_key, signed):
    note, _ = signed
    witness = Signer.generate("witness.example/w1", COSIGNATURE_V1)
    cosigned = cosign(note, log_key.verifier, witness, timestamp=1_790_000_000)
    assert verify_cosignature(cosigned, witness.verifier) == 1_790_000_000
    open_checkpoint(cosigned, log_key.verifier)  # the log signature still verifies
    # A cosignature binds the timestamp and the body.
    line = cosigned.strip().split("\n")[-1]
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    raw[11] ^= 1  # inside the timestamp
    tampered = cosigned.replace(line.split(" ")[2], base64.b64encode(bytes(raw)).decode())
    with pytest.raises(NoteError):
        verify_cosignature(tampered, witness.verifier)
    with pytest.raises(NoteError):
        verify_cosignature(note, witness.verifier)
    other = Signer.generate("witness.example/w1", COSIGNATURE_V1)
    with pytest.raises(NoteError):
        verify_cosignature(cosigned, other.verifier)
    assert other.verifier.key_hash != witness.verifier.key_hash
    assert witness.verifier.key_hash == key_hash(
        "witness.example/w1", COSIGNATURE_V1, witness.verifier.public_key
    )


def test_witness_refuses_forged_checkpoint_and_plain_keys(log_key, signed):
    note, _ = signed
    witness = Signer.generate("witness.example/w1", COSIGNATURE_V1)
    with pytest.raises(NoteError):
        cosign(note.replace("\n2\n", "\n5\n"), log_key.verifier, witness)
    with pytest.raises(NoteError):
        cosign(note, log_key.verifier, Signer.generate("plain.example"))
    with pytest.raises(NoteError):
        sign_checkpoint(Checkpoint("other", 0, bytes(32)), log_key)
