"""Offline verification of inclusion and consistency proofs (RFC 9162 §2.1.3.2, §2.1.4.2).

Both verifiers need only hashes: the leaf (or old root), the proof, and the signed root they are
checked against.  They raise :class:`~cityos.ledger._errors.ProofError` with the reason on failure.
"""

from __future__ import annotations

from collections.abc import Sequence

from cityos.ledger._errors import ProofError
from cityos.ledger.hashing import EMPTY_ROOT, HASH_SIZE, node_hash

MAX_PATH = 128
"""Longest proof accepted [hashes]; a tree of 2**63 leaves needs fewer than this."""


def _check_hashes(path: Sequence[bytes], what: str) -> None:
    if len(path) > MAX_PATH:
        raise ProofError(f"{what} has {len(path)} hashes, more than {MAX_PATH}")
    for i, h in enumerate(path):
        if not isinstance(h, (bytes, bytearray)) or len(h) != HASH_SIZE:
            raise ProofError(f"{what} element {i} is not a {HASH_SIZE}-byte hash")


def root_from_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes:
    """Root hash implied by an inclusion proof (RFC 9162 §2.1.3.2, steps 1-5)."""
    _check_hashes([leaf], "leaf hash")
    _check_hashes(path, "inclusion proof")
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} outside a tree of size {size}")
    fn, sn, r = index, size - 1, bytes(leaf)
    for p in path:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    return r


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` is entry ``index`` of the tree of ``size`` with head ``root``.

    Raises
    ------
    ProofError
        If the proof is malformed or leads to another root.
    """
    if root_from_inclusion(leaf, index, size, path) != root:
        raise ProofError(f"inclusion proof of leaf {index} does not match the tree head")


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]
) -> None:
    """Check that the tree of ``second`` leaves extends the tree of ``first`` (RFC 9162 §2.1.4.2).

    Raises
    ------
    ProofError
        If the proof is malformed or the trees are not consistent.
    """
    _check_hashes([first_root, second_root], "root hash")
    _check_hashes(path, "consistency proof")
    if not 0 <= first <= second:
        raise ProofError(f"need 0 <= first <= second, got first={first}, second={second}")
    if first == second:
        if path:
            raise ProofError("consistency proof between equal sizes must be empty")
        if first_root != second_root:
            raise ProofError("equal tree sizes with different root hashes")
        return
    if first == 0:
        if path:
            raise ProofError("consistency proof from the empty tree must be empty")
        if first_root != EMPTY_ROOT:
            raise ProofError("the empty tree has a different root hash")
        return
    if not path:
        raise ProofError("consistency proof is empty")
    nodes = list(path)
    if first & (first - 1) == 0:
        nodes.insert(0, bytes(first_root))
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than expected")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than expected")
    if fr != first_root:
        raise ProofError("consistency proof does not reproduce the first tree head")
    if sr != second_root:
        raise ProofError("consistency proof does not reproduce the second tree head")
