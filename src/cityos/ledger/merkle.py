"""Append-only Merkle tree: tree head, inclusion and consistency proofs (RFC 9162 §2.1).

The tree keeps the hash of every *perfect* aligned subtree (``levels[h][i]`` covers leaves
``[i*2**h, (i+1)*2**h)``).  Every range the RFC 9162 recursion visits splits into one such perfect
left part and a smaller right part, so a tree head or a proof costs O(log n) stored hashes, not a
rescan of the log.  The same recursion works over any :class:`SubtreeHashes` source, which is how
the persistent log reuses it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from cityos.ledger.hashing import EMPTY_ROOT, HASH_SIZE, leaf_hash, node_hash, split_point


class SubtreeHashes(Protocol):
    """Anything that answers the hash of a perfect aligned subtree."""

    def perfect_hash(self, level: int, index: int) -> bytes:
        """Hash of leaves ``[index * 2**level, (index + 1) * 2**level)``."""
        ...


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def range_hash(source: SubtreeHashes, start: int, end: int) -> bytes:
    """``MTH(D[start:end])`` for a range the RFC 9162 recursion produces (RFC 9162 §2.1.1).

    ``start`` must be aligned to the largest power of two not above ``end - start`` (always true
    for the ranges met while computing heads and proofs).
    """
    n = end - start
    if n <= 0:
        return EMPTY_ROOT
    if _is_power_of_two(n) and start % n == 0:
        return source.perfect_hash(n.bit_length() - 1, start // n)
    k = split_point(n)
    return node_hash(range_hash(source, start, start + k), range_hash(source, start + k, end))


def tree_head(source: SubtreeHashes, size: int) -> bytes:
    """Root hash of the first ``size`` leaves, ``MTH(D[size])`` (RFC 9162 §2.1.1)."""
    if size < 0:
        raise ValueError(f"tree size must be >= 0, got {size}")
    return range_hash(source, 0, size)


def inclusion_path(source: SubtreeHashes, index: int, size: int) -> list[bytes]:
    """Inclusion proof ``PATH(index, D[size])`` (RFC 9162 §2.1.3.1), leaf-to-root order."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} outside a tree of size {size}")
    path: list[bytes] = []
    start, end, m = 0, size, index
    # Walk root-to-leaf, collecting siblings, then reverse into leaf-to-root order.
    while end - start > 1:
        k = split_point(end - start)
        if m < k:
            path.append(range_hash(source, start + k, end))
            end = start + k
        else:
            path.append(range_hash(source, start, start + k))
            start, m = start + k, m - k
    path.reverse()
    return path


def consistency_path(source: SubtreeHashes, first: int, second: int) -> list[bytes]:
    """Consistency proof ``PROOF(first, D[second])`` (RFC 9162 §2.1.4.1).

    Empty when ``first == second`` or ``first == 0`` (every tree extends the empty tree).
    """
    if not 0 <= first <= second:
        raise ValueError(f"need 0 <= first <= second, got first={first}, second={second}")
    if first == 0 or first == second:
        return []
    path: list[bytes] = []
    start, end, m, complete = 0, second, first, True
    while m != end - start:
        n = end - start
        k = split_point(n)
        if m <= k:
            path.append(range_hash(source, start + k, end))
            end = start + k
        else:
            path.append(range_hash(source, start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        path.append(range_hash(source, start, end))
    path.reverse()
    return path


class MerkleTree:
    """In-memory append-only Merkle tree over log entries.

    Examples
    --------
    >>> tree = MerkleTree([b"a", b"b", b"c"])
    >>> len(tree), len(tree.root())
    (3, 32)
    """

    def __init__(self, entries: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        for entry in entries:
            self.append(entry)

    def __len__(self) -> int:
        return len(self._levels[0])

    def append(self, entry: bytes) -> int:
        """Append one entry; return its leaf index."""
        return self.append_leaf_hash(leaf_hash(entry))

    def append_leaf_hash(self, digest: bytes) -> int:
        """Append an already computed leaf hash; return its leaf index."""
        if len(digest) != HASH_SIZE:
            raise ValueError(f"leaf hash must be {HASH_SIZE} bytes, got {len(digest)}")
        index = len(self._levels[0])
        self._levels[0].append(bytes(digest))
        level = 0
        while len(self._levels[level]) % 2 == 0:
            row = self._levels[level]
            if level + 1 == len(self._levels):
                self._levels.append([])
            self._levels[level + 1].append(node_hash(row[-2], row[-1]))
            level += 1
        return index

    def perfect_hash(self, level: int, index: int) -> bytes:
        """Stored hash of a perfect aligned subtree (see :class:`SubtreeHashes`)."""
        return self._levels[level][index]

    def leaf_hash(self, index: int) -> bytes:
        """Leaf hash of entry ``index``."""
        return self._levels[0][index]

    def root(self, size: int | None = None) -> bytes:
        """Tree head of the first ``size`` leaves (default: all)."""
        size = len(self) if size is None else size
        if size > len(self):
            raise ValueError(f"tree size {size} exceeds the {len(self)} entries")
        return tree_head(self, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Inclusion proof of leaf ``index`` in the tree of ``size`` leaves (default: all)."""
        size = len(self) if size is None else size
        if size > len(self):
            raise ValueError(f"tree size {size} exceeds the {len(self)} entries")
        return inclusion_path(self, index, size)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """Consistency proof between tree sizes ``first`` and ``second`` (default: all)."""
        second = len(self) if second is None else second
        if second > len(self):
            raise ValueError(f"tree size {second} exceeds the {len(self)} entries")
        return consistency_path(self, first, second)
