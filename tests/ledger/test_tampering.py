"""Every tampering with entries, sizes or proofs is detected by the verifiers."""

from __future__ import annotations

import merkle_reference as ref
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cityos.ledger._errors import ProofError
from cityos.ledger.hashing import leaf_hash
from cityos.ledger.merkle import MerkleTree
from cityos.ledger.proofs import verify_consistency, verify_inclusion

logs = st.lists(st.binary(min_size=1, max_size=8), min_size=2, max_size=40, unique=True)


def tampered_logs(data: list[bytes], draw) -> list[list[bytes]]:
    """Modified, removed, reordered and inserted variants of ``data``."""
    i = draw.draw(st.integers(0, len(data) - 1))
    j = draw.draw(st.integers(0, len(data) - 1).filter(lambda x: x != i))
    modified = list(data)
    modified[i] = data[i] + b"!"
    removed = data[:i] + data[i + 1 :]
    reordered = list(data)
    reordered[i], reordered[j] = reordered[j], reordered[i]
    inserted = [*data[:i], b"forged", *data[i:]]
    return [modified, removed, reordered, inserted]


@settings(max_examples=80, deadline=None)
@given(logs, st.data())
def test_tampered_log_changes_the_signed_head(data, draw):
    head = ref.mth(data)
    for variant in tampered_logs(data, draw):
        tree = MerkleTree(variant)
        assert tree.root() != head
        if len(variant) >= len(data):
            # Even read at the signed size, the rewritten prefix gives another head.
            assert tree.root(len(data)) != head


@settings(max_examples=80, deadline=None)
@given(logs, st.data())
def test_tampered_history_fails_consistency(data, draw):
    # A log that was rewritten cannot prove it extends the head signed before.
    first = draw.draw(st.integers(1, len(data) - 1))
    old_head = ref.mth(data[:first])
    for variant in tampered_logs(data, draw):
        assume(variant[:first] != data[:first])
        tree = MerkleTree(variant)
        second = len(variant)
        assume(second >= first)
        with pytest.raises(ProofError):
            verify_consistency(first, second, old_head, tree.root(), tree.consistency_proof(first))


@settings(max_examples=100, deadline=None)
@given(logs, st.data())
def test_inclusion_rejects_wrong_leaf_index_size_or_path(data, draw):
    tree = MerkleTree(data)
    n = len(data)
    index = draw.draw(st.integers(0, n - 1))
    root, proof, leaf = tree.root(), tree.inclusion_proof(index), leaf_hash(data[index])
    verify_inclusion(leaf, index, n, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(data[index] + b"!"), index, n, proof, root)
    other = draw.draw(st.integers(0, n - 1).filter(lambda x: x != index))
    with pytest.raises(ProofError):
        verify_inclusion(leaf, other, n, proof, root)
    # A size is only ever checked together with the head signed for that size.
    grown = MerkleTree([*data, b"appended"])
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, n + 1, proof, grown.root())
    if index < n - 1:
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, n - 1, proof, tree.root(n - 1))
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index, index, proof, root)
    if proof:
        k = draw.draw(st.integers(0, len(proof) - 1))
        flipped = list(proof)
        flipped[k] = bytes([flipped[k][0] ^ 1]) + flipped[k][1:]
        for bad in (flipped, proof[:-1], [*proof, proof[0]], proof[::-1] if len(proof) > 1 else []):
            if bad == proof:
                continue
            with pytest.raises(ProofError):
                verify_inclusion(leaf, index, n, bad, root)


@settings(max_examples=100, deadline=None)
@given(logs, st.data())
def test_consistency_rejects_altered_proof_or_sizes(data, draw):
    tree = MerkleTree(data)
    second = len(data)
    first = draw.draw(st.integers(1, second - 1))
    proof = tree.consistency_proof(first)
    r1, r2 = tree.root(first), tree.root()
    verify_consistency(first, second, r1, r2, proof)
    k = draw.draw(st.integers(0, len(proof) - 1))
    flipped = list(proof)
    flipped[k] = bytes([flipped[k][0] ^ 1]) + flipped[k][1:]
    for bad in (flipped, proof[:-1], [*proof, r2]):
        with pytest.raises(ProofError):
            verify_consistency(first, second, r1, r2, bad)
    with pytest.raises(ProofError):
        verify_consistency(first, second, r2, r2, proof) if r1 != r2 else verify_consistency(
            first, second, r1, r1[::-1], proof
        )
    with pytest.raises(ProofError):
        verify_consistency(second, first, r2, r1, proof)


@pytest.mark.parametrize(
    "path",
    [[b"x" * 31], [b"x" * 33], ["not bytes"], [b"x" * 32] * 200],
)
def test_malformed_proofs_are_rejected(path):
    tree = MerkleTree([b"a", b"b", b"c"])
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(b"a"), 0, 3, path, tree.root())
    with pytest.raises(ProofError):
        verify_consistency(1, 3, tree.root(1), tree.root(), path)


def test_malformed_roots_and_indices_are_rejected():
    tree = MerkleTree([b"a", b"b"])
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(b"a"), -1, 2, tree.inclusion_proof(0), tree.root())
    with pytest.raises(ProofError):
        verify_inclusion(b"short", 0, 2, tree.inclusion_proof(0), tree.root())
    with pytest.raises(ProofError):
        verify_consistency(1, 2, b"short", tree.root(), tree.consistency_proof(1))
    with pytest.raises(ProofError):
        verify_consistency(1, 2, tree.root(1), tree.root(), [])
