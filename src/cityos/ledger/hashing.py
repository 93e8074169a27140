"""Merkle tree hashing with domain separation (RFC 9162 §2.1.1).

A leaf hash is ``SHA-256(0x00 || data)``, an interior node hash is
``SHA-256(0x01 || left || right)`` and the hash of the empty tree is ``SHA-256()``.  The distinct
prefixes stop a leaf from being passed off as an interior node (second-preimage attack).
"""

from __future__ import annotations

import hashlib

HASH_SIZE = 32
"""Size of a SHA-256 digest [bytes]."""

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""Root hash of the empty tree, ``MTH({}) = SHA-256()`` (RFC 9162 §2.1.1)."""


def leaf_hash(data: bytes) -> bytes:
    """Hash of one log entry, ``SHA-256(0x00 || data)`` (RFC 9162 §2.1.1)."""
    return hashlib.sha256(LEAF_PREFIX + bytes(data)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node, ``SHA-256(0x01 || left || right)`` (RFC 9162 §2.1.1)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """Largest power of two strictly smaller than ``n`` (``n >= 2``), the RFC 9162 split ``k``."""
    if n < 2:
        raise ValueError(f"split point needs n >= 2, got {n}")
    return 1 << ((n - 1).bit_length() - 1)
