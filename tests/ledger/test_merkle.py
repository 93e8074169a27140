"""Merkle tree head, inclusion and consistency proofs against a naive RFC 9162 recomputation."""

from __future__ import annotations

import hashlib

import merkle_reference as ref
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityos.ledger._errors import ProofError
from cityos.ledger.hashing import EMPTY_ROOT, leaf_hash, node_hash, split_point
from cityos.ledger.merkle import MerkleTree
from cityos.ledger.proofs import verify_consistency, verify_inclusion

entries = st.lists(st.binary(max_size=12), min_size=1, max_size=70)


def test_domain_separated_hashes():
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert (
        node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert [split_point(n) for n in (2, 3, 4, 5, 8, 9)] == [1, 2, 2, 4, 4, 8]
    with pytest.raises(ValueError):
        split_point(1)


def test_known_vectors():
    # The leaf of an empty entry and the two-leaf root, computed by hand from the definitions.
    t = MerkleTree([b""])
    assert t.root().hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    t.append(b"\x00")
    expected = hashlib.sha256(b"\x01" + leaf_hash(b"") + leaf_hash(b"\x00")).digest()
    assert t.root() == expected
    assert MerkleTree().root() == EMPTY_ROOT


@settings(max_examples=120, deadline=None)
@given(entries)
def test_tree_head_matches_naive_for_every_prefix(data):
    tree = MerkleTree(data)
    for size in range(len(data) + 1):
        assert tree.root(size) == ref.mth(data[:size])


@settings(max_examples=150, deadline=None)
@given(entries, st.data())
def test_inclusion_proof_matches_naive_and_verifies(data, draw):
    size = draw.draw(st.integers(1, len(data)))
    index = draw.draw(st.integers(0, size - 1))
    tree = MerkleTree(data)
    proof = tree.inclusion_proof(index, size)
    assert proof == ref.path(index, data[:size])
    verify_inclusion(leaf_hash(data[index]), index, size, proof, ref.mth(data[:size]))


@settings(max_examples=150, deadline=None)
@given(entries, st.data())
def test_consistency_proof_matches_naive_and_verifies(data, draw):
    second = draw.draw(st.integers(1, len(data)))
    first = draw.draw(st.integers(1, second))
    tree = MerkleTree(data)
    proof = tree.consistency_proof(first, second)
    assert proof == (ref.proof(first, data[:second]) if first < second else [])
    verify_consistency(first, second, ref.mth(data[:first]), ref.mth(data[:second]), proof)


def test_consistency_from_empty_and_equal_sizes():
    tree = MerkleTree([b"a", b"b", b"c"])
    verify_consistency(0, 3, EMPTY_ROOT, tree.root(), [])
    verify_consistency(3, 3, tree.root(), tree.root(), [])
    with pytest.raises(ProofError):
        verify_consistency(3, 3, tree.root(), tree.root(2), [])
    with pytest.raises(ProofError):
        verify_consistency(0, 3, tree.root(1), tree.root(), [])
    with pytest.raises(ProofError):
        verify_consistency(3, 3, tree.root(), tree.root(), [tree.root()])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 300), st.data())
def test_proof_length_is_logarithmic(size, draw):
    tree = MerkleTree(i.to_bytes(4, "big") for i in range(size))
    index = draw.draw(st.integers(0, size - 1))
    depth = (size - 1).bit_length()
    assert len(tree.inclusion_proof(index)) <= depth
    first = draw.draw(st.integers(1, size))
    assert len(tree.consistency_proof(first)) <= 2 * depth + 1


def test_append_rejects_bad_leaf_hash_and_sizes():
    tree = MerkleTree([b"a"])
    with pytest.raises(ValueError):
        tree.append_leaf_hash(b"short")
    with pytest.raises(ValueError):
        tree.root(2)
    with pytest.raises(ValueError):
        tree.inclusion_proof(1)
    with pytest.raises(ValueError):
        tree.consistency_proof(2, 1)
