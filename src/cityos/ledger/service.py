"""The ledger of one hub: its tables, keys and log, and the documents it hands out.

:func:`open_ledger` is the Python API's entry point; the HTTP router and the CLI use it too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cityos.ledger.database import LedgerDatabase
from cityos.ledger.keys import DEFAULT_ORIGIN, LedgerKeys, load_keys
from cityos.ledger.log import TransparencyLog
from cityos.ledger.receipts import ConsistencyBundle, Export, Receipt


class Ledger:
    """The transparency log and the services built on it, over the hub's storage."""

    def __init__(self, db: LedgerDatabase, keys: LedgerKeys) -> None:
        self.db = db
        self.keys = keys
        self.log = TransparencyLog(db, keys.log)

    @property
    def log_key(self) -> str:
        """The log's verifier key (C2SP note verifier string) that auditors pin."""
        return self.log.verifier.encode()

    def receipt(self, seq: int, size: int | None = None) -> Receipt:
        """Inclusion receipt of entry ``seq`` under the checkpoint of ``size`` (default latest)."""
        note = self.log.checkpoint(size)
        size = self.log.latest().size if size is None else size
        proof = self.log.inclusion_proof(seq, size)
        return Receipt(self.log_key, self.log.entry(seq).body, seq, proof, note)

    def consistency(self, first: int, second: int | None = None) -> ConsistencyBundle:
        """Consistency proof between two signed checkpoints (default: to the latest)."""
        new = self.log.checkpoint(second)
        second = self.log.latest().size if second is None else second
        old = self.log.checkpoint(first)
        return ConsistencyBundle(self.log_key, old, new, self.log.consistency_proof(first, second))

    def audit(self) -> str:
        """Check the stored log against its signed checkpoints; returns a one-line summary.

        Raises
        ------
        LogIntegrityError
            If any stored row was changed outside the ledger.
        """
        head = self.log.audit()
        return f"{head.size} entries match the signed checkpoints"

    def export(self) -> Export:
        """Every entry and every signed checkpoint, for offline verification."""
        with self.db.read() as conn:
            notes = [
                str(r[0]) for r in conn.execute("SELECT note FROM ledger_checkpoints ORDER BY size")
            ]
            if not notes:
                notes = [self.log.checkpoint()]
            size = int(notes[-1].split("\n")[1])
            rows = self.db.execute(
                conn, "SELECT body FROM ledger_entries WHERE seq < ? ORDER BY seq", (size,)
            ).fetchall()
        return Export(self.log_key, [bytes(r[0]) for r in rows], notes)


def open_ledger(storage: Any, data_dir: Path, *, origin: str = DEFAULT_ORIGIN) -> Ledger:
    """The ledger on the hub's ``storage``, with its keys under ``data_dir`` (created if absent)."""
    return Ledger(LedgerDatabase(storage), load_keys(data_dir, origin=origin))
