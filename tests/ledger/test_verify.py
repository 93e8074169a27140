"""The offline verifier: receipts, consistency proofs and whole exports, honest and tampered.

Exports are built by an independent naive recomputation (``merkle_reference``) and checked by the
verifier; every modified, removed, reordered or inserted entry must be caught.
"""

from __future__ import annotations

import copy

import merkle_reference as ref
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityos.ledger._errors import LedgerError, ProofError
from cityos.ledger.checkpoint import Checkpoint, sign_checkpoint
from cityos.ledger.receipts import ConsistencyBundle, Export, Receipt, b64
from cityos.ledger.signed_note import NoteError, Signer
from cityos.ledger.verify import verify_document, verify_export

ORIGIN = "test.cityos.example/ledger"
KEY = Signer.generate(ORIGIN)
OTHER = Signer.generate(ORIGIN)


def naive_export(entries: list[bytes], sizes: list[int], key: Signer = KEY) -> Export:
    notes = [sign_checkpoint(Checkpoint(ORIGIN, n, ref.mth(entries[:n])), key) for n in sizes]
    return Export(key.verifier.encode(), list(entries), notes)


@st.composite
def logs(draw):
    entries = draw(
        st.lists(st.binary(min_size=1, max_size=6), min_size=2, max_size=30, unique=True)
    )
    cuts = draw(st.sets(st.integers(1, len(entries) - 1), max_size=4))
    return entries, [*sorted(cuts), len(entries)]


@settings(max_examples=60, deadline=None)
@given(logs())
def test_honest_exports_verify(log):
    entries, sizes = log
    report = verify_export(naive_export(entries, sizes), KEY.verifier.encode())
    assert report.size == len(entries)


@settings(max_examples=80, deadline=None)
@given(logs(), st.data())
def test_every_tampered_export_is_caught(log, data):
    entries, sizes = log
    honest = naive_export(entries, sizes)
    i = data.draw(st.integers(0, len(entries) - 1))
    j = data.draw(st.integers(0, len(entries) - 1).filter(lambda x: x != i))
    modified = list(entries)
    modified[i] = entries[i] + b"!"
    removed = entries[:i] + entries[i + 1 :]
    reordered = list(entries)
    reordered[i], reordered[j] = reordered[j], reordered[i]
    inserted = [*entries[:i], b"forged", *entries[i:]]
    appended = [*entries, b"unsigned"]
    for variant in (modified, removed, reordered, inserted, appended):
        with pytest.raises(ProofError):
            verify_export(
                Export(honest.log_key, variant, honest.checkpoints), KEY.verifier.encode()
            )


@settings(max_examples=40, deadline=None)
@given(logs())
def test_a_rewritten_history_fails_against_a_kept_checkpoint(log):
    entries, sizes = log
    kept = naive_export(entries, sizes).checkpoints[0]
    rewritten = [b"rewritten", *entries[1:]]
    # The operator re-signs the rewritten log with its real key: only the kept note catches it.
    forged = naive_export(rewritten, sizes)
    verify_export(forged, KEY.verifier.encode())
    with pytest.raises(ProofError, match="rewritten"):
        verify_export(forged, KEY.verifier.encode(), known=kept)


def test_checkpoints_signed_by_another_key_fail():
    entries = [b"a", b"b", b"c"]
    forged = naive_export(entries, [3], OTHER)
    with pytest.raises(ProofError, match="another log key"):
        verify_export(forged, KEY.verifier.encode())
    relabelled = Export(KEY.verifier.encode(), entries, forged.checkpoints)
    with pytest.raises(NoteError):
        verify_export(relabelled, KEY.verifier.encode())


def test_receipts_and_consistency_documents_round_trip_and_fail_when_altered():
    entries = [f"entry {i}".encode() for i in range(11)]
    note7 = naive_export(entries, [7]).checkpoints[0]
    note11 = naive_export(entries, [11]).checkpoints[0]
    receipt = Receipt(KEY.verifier.encode(), entries[5], 5, ref.path(5, entries), note11).to_json()
    assert "entry 5 is included" in verify_document(receipt, KEY.verifier.encode()).detail
    bundle = ConsistencyBundle(KEY.verifier.encode(), note7, note11, ref.proof(7, entries))
    assert verify_document(bundle.to_json(), KEY.verifier.encode()).size == 11

    bad = []
    for field, value in [
        ("entry", b64(b"entry 6")),
        ("index", 6),
        ("index", -1),
        ("index", "5"),
        ("proof", receipt["proof"][:-1]),
        ("proof", [*receipt["proof"], receipt["proof"][0]]),
        ("proof", ["not base64!"]),
        ("proof", [b64(b"short")]),
        ("checkpoint", note7),
        ("checkpoint", note11.replace("\n11\n", "\n12\n")),
        ("format", "cityos-ledger-receipt/9"),
    ]:
        doc = copy.deepcopy(receipt)
        doc[field] = value
        bad.append(doc)
    bad.append({k: v for k, v in receipt.items() if k != "proof"})
    bad.append([receipt])
    for doc in bad:
        with pytest.raises(LedgerError):
            verify_document(doc, KEY.verifier.encode())

    swapped = ConsistencyBundle(KEY.verifier.encode(), note11, note7, ref.proof(7, entries))
    with pytest.raises(LedgerError):
        verify_document(swapped.to_json(), KEY.verifier.encode())
    other = naive_export([b"x", *entries[1:]], [11]).checkpoints[0]
    forged = ConsistencyBundle(KEY.verifier.encode(), note7, other, ref.proof(7, entries))
    with pytest.raises(ProofError):
        verify_document(forged.to_json(), KEY.verifier.encode())
