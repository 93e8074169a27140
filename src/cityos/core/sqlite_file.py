"""A service's own SQLite file: short-lived connections and serialised write transactions.

Services that keep tables outside the hub (parking bookings, petitions) open one
:class:`SqliteFile`: each call gets its own connection (threads and processes may share the file),
writes run in ``BEGIN IMMEDIATE`` transactions — serialised by the database, so a read-check-write
is race-free across processes — and roll back whole on any exception.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class SqliteFile:
    """The file at ``path``, created with ``schema`` (idempotent DDL) on first use."""

    def __init__(self, path: Path | str, schema: str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as con:
            con.execute("PRAGMA journal_mode = WAL")
            con.executescript(schema)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode with foreign keys on, closed after use."""
        con = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            con.execute("PRAGMA foreign_keys = ON")
            con.execute("PRAGMA busy_timeout = 30000")
            yield con
        finally:
            con.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A connection inside a ``BEGIN IMMEDIATE`` transaction: committed at the end of the
        block, rolled back if it raises."""
        with self.connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
