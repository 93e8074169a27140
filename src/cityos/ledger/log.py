"""The persistent transparency log: entries, tree nodes and signed checkpoints in the database.

Entries are sequenced in **batches**: :meth:`TransparencyLog.append` adds the leaves of a batch and
the perfect subtree hashes they complete inside the caller's transaction, and
:meth:`TransparencyLog.sign` signs one checkpoint (C2SP tlog-checkpoint) for the new tree size.
Entry ``seq`` is the leaf index (from 0). Because everything happens in one database transaction, a
crash mid-batch leaves the log at the previous checkpoint, never half-appended.

Proofs use the same RFC 9162 recursion as the in-memory tree (:mod:`cityos.ledger.merkle`) over the
stored subtree hashes, so a proof costs O(log n) row reads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from cityos.ledger._errors import LedgerError
from cityos.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from cityos.ledger.database import LedgerDatabase
from cityos.ledger.hashing import EMPTY_ROOT, leaf_hash, node_hash
from cityos.ledger.merkle import MerkleTree, consistency_path, inclusion_path, tree_head
from cityos.ledger.signed_note import Signer, Verifier


class LogIntegrityError(LedgerError):
    """Stored log rows do not match the signed checkpoints (the database was tampered with)."""

    title = "Ledger integrity failure"
    status = 500


class EntryNotFound(LedgerError):
    """No entry, or no checkpoint, at the requested position."""

    title = "Not found"
    status = 404


@dataclass(frozen=True)
class Entry:
    """One log entry: its leaf index, bytes and kind, and when it was sequenced [µs]."""

    seq: int
    body: bytes
    kind: str
    at_us: int


class _Subtrees:
    """Perfect subtree hashes from the database, with the rows of the open batch in memory."""

    def __init__(self, db: LedgerDatabase, conn: Any) -> None:
        self.db, self.conn = db, conn
        self.fresh: dict[tuple[int, int], bytes] = {}

    def perfect_hash(self, level: int, index: int) -> bytes:
        found = self.fresh.get((level, index))
        if found is not None:
            return found
        if level == 0:
            row = self.db.execute(
                self.conn, "SELECT leaf FROM ledger_entries WHERE seq = ?", (index,)
            ).fetchone()
        else:
            row = self.db.execute(
                self.conn,
                "SELECT hash FROM ledger_nodes WHERE level = ? AND idx = ?",
                (level, index),
            ).fetchone()
        if row is None:
            raise LogIntegrityError(f"subtree hash ({level}, {index}) is missing from the log")
        return bytes(row[0])


class TransparencyLog:
    """An append-only Merkle log persisted in the ledger tables.

    Parameters
    ----------
    db
        The ledger tables.
    signer
        The log key; its name is the log's origin.
    """

    def __init__(self, db: LedgerDatabase, signer: Signer) -> None:
        self.db = db
        self.signer = signer
        self.verifier: Verifier = signer.verifier

    @property
    def origin(self) -> str:
        return self.signer.name

    # -- writing (inside the caller's transaction) ---------------------------------------------
    def size(self, conn: Any) -> int:
        """Number of entries sequenced so far (committed or in this transaction)."""
        row = self.db.execute(conn, "SELECT max(seq) FROM ledger_entries").fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    def append(self, conn: Any, entries: list[tuple[str, bytes]]) -> list[int]:
        """Sequence ``(kind, body)`` entries at the end of the log; return their indices.

        Call inside :meth:`LedgerDatabase.write`; follow with :meth:`sign` in the same transaction.
        """
        start = self.size(conn)
        source = _Subtrees(self.db, conn)
        now = time.time_ns() // 1000
        rows, nodes = [], []
        for offset, (kind, body) in enumerate(entries):
            index = start + offset
            digest = leaf_hash(body)
            rows.append((index, digest, body, kind, now))
            source.fresh[(0, index)] = digest
            level, i, h = 0, index, digest
            while i & 1:  # a right child completes its parent
                h = node_hash(source.perfect_hash(level, i - 1), h)
                level, i = level + 1, i >> 1
                source.fresh[(level, i)] = h
                nodes.append((level, i, h))
        self.db.executemany(
            conn,
            "INSERT INTO ledger_entries (seq, leaf, body, kind, at_us) VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        self.db.executemany(
            conn, "INSERT INTO ledger_nodes (level, idx, hash) VALUES (?, ?, ?)", nodes
        )
        return [r[0] for r in rows]

    def sign(self, conn: Any) -> str:
        """Sign and store the checkpoint of the current tree size; returns the signed note."""
        size = self.size(conn)
        root = tree_head(_Subtrees(self.db, conn), size)
        note = sign_checkpoint(Checkpoint(self.origin, size, root), self.signer)
        self.db.execute(
            conn,
            "INSERT INTO ledger_checkpoints (size, root, note, at_us) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (size) DO NOTHING",
            (size, root, note, time.time_ns() // 1000),
        )
        return note

    def append_batch(self, entries: list[tuple[str, bytes]]) -> tuple[list[int], str]:
        """Sequence a batch and sign its checkpoint in one transaction."""
        with self.db.write() as conn:
            seqs = self.append(conn, entries)
            note = self.sign(conn)
        return seqs, note

    # -- reading ---------------------------------------------------------------------------------
    def checkpoint(self, size: int | None = None) -> str:
        """The signed checkpoint of tree ``size`` (default: the latest)."""
        with self.db.read() as conn:
            if size is None:
                row = conn.execute(
                    "SELECT note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1"
                ).fetchone()
            else:
                row = self.db.execute(
                    conn, "SELECT note FROM ledger_checkpoints WHERE size = ?", (size,)
                ).fetchone()
        if row is None:
            if size is None or size == 0:
                return sign_checkpoint(Checkpoint(self.origin, 0, EMPTY_ROOT), self.signer)
            raise EntryNotFound(f"no checkpoint was signed at tree size {size}")
        return str(row[0])

    def latest(self) -> Checkpoint:
        """The latest checkpoint, its signature checked."""
        checkpoint, _ = open_checkpoint(self.checkpoint(), self.verifier)
        return checkpoint

    def checkpoint_sizes(self) -> list[int]:
        """Every tree size with a signed checkpoint, ascending."""
        with self.db.read() as conn:
            return [
                int(r[0]) for r in conn.execute("SELECT size FROM ledger_checkpoints ORDER BY size")
            ]

    def entry(self, seq: int) -> Entry:
        """Entry ``seq``; raises :class:`EntryNotFound`."""
        with self.db.read() as conn:
            row = self.db.execute(
                conn, "SELECT seq, body, kind, at_us FROM ledger_entries WHERE seq = ?", (seq,)
            ).fetchone()
        if row is None:
            raise EntryNotFound(f"no log entry {seq}")
        return Entry(int(row[0]), bytes(row[1]), str(row[2]), int(row[3]))

    def entries(self, start: int = 0, end: int | None = None) -> list[Entry]:
        """Entries ``[start, end)`` in order."""
        end = (2**62) if end is None else end
        with self.db.read() as conn:
            rows = self.db.execute(
                conn,
                "SELECT seq, body, kind, at_us FROM ledger_entries WHERE seq >= ? AND seq < ? "
                "ORDER BY seq",
                (start, end),
            ).fetchall()
        return [Entry(int(r[0]), bytes(r[1]), str(r[2]), int(r[3])) for r in rows]

    def _checked_size(self, size: int | None) -> int:
        latest = self.latest().size
        size = latest if size is None else size
        if not 0 <= size <= latest:
            raise EntryNotFound(f"tree size {size} is beyond the latest checkpoint ({latest})")
        return size

    def inclusion_proof(self, seq: int, size: int | None = None) -> list[bytes]:
        """Inclusion proof of entry ``seq`` in the tree of ``size`` (default: latest checkpoint)."""
        size = self._checked_size(size)
        if not 0 <= seq < size:
            raise EntryNotFound(f"entry {seq} is not in the tree of size {size}")
        with self.db.read() as conn:
            return inclusion_path(_Subtrees(self.db, conn), seq, size)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """Consistency proof between tree sizes ``first`` and ``second`` (default: latest)."""
        second = self._checked_size(second)
        if not 0 <= first <= second:
            raise LedgerError(f"need 0 <= first <= second, got first={first}, second={second}")
        with self.db.read() as conn:
            return consistency_path(_Subtrees(self.db, conn), first, second)

    def audit(self) -> Checkpoint:
        """Recompute the whole tree from the stored entry bodies and check every signed checkpoint.

        Raises
        ------
        LogIntegrityError
            If an entry, a leaf hash, a tree node or a checkpoint was changed, removed or added
            outside the log (the first difference found is reported).
        """
        tree = MerkleTree()
        expected = 0
        with self.db.read() as conn:
            for seq, leaf, body in conn.execute(
                "SELECT seq, leaf, body FROM ledger_entries ORDER BY seq"
            ):
                if seq != expected:
                    raise LogIntegrityError(f"log entry {expected} is missing (next is {seq})")
                if leaf_hash(bytes(body)) != bytes(leaf):
                    raise LogIntegrityError(f"log entry {seq} does not match its leaf hash")
                tree.append_leaf_hash(bytes(leaf))
                expected += 1
            notes = [
                str(r[0]) for r in conn.execute("SELECT note FROM ledger_checkpoints ORDER BY size")
            ]
            stored = self.db.execute(
                conn, "SELECT level, idx, hash FROM ledger_nodes ORDER BY level, idx"
            ).fetchall()
        for level, idx, digest in stored:
            try:
                ok = tree.perfect_hash(int(level), int(idx)) == bytes(digest)
            except IndexError:
                ok = False
            if not ok:
                raise LogIntegrityError(
                    f"stored tree node ({level}, {idx}) does not match the entries"
                )
        latest = Checkpoint(self.origin, 0, tree.root(0))
        for note in notes:
            try:
                checkpoint, _ = open_checkpoint(note, self.verifier)
            except LedgerError as exc:
                raise LogIntegrityError(
                    f"a stored checkpoint does not verify: {exc.detail}"
                ) from None
            if checkpoint.size > len(tree) or tree.root(checkpoint.size) != checkpoint.root_hash:
                raise LogIntegrityError(
                    f"the signed checkpoint of size {checkpoint.size} does not match the entries"
                )
            latest = checkpoint
        if latest.size != len(tree):
            raise LogIntegrityError(
                f"the log holds {len(tree)} entries but the latest checkpoint signs {latest.size}"
            )
        return latest
