"""The ledger's tables in the hub's own database (SQLite or PostgreSQL).

Like the privacy tables, the ledger keeps its tables beside the hub's, versioned on their own
(``ledger_schema_version``) by ordered migrations written once per dialect. Every write runs in one
transaction that also holds the ledger's lock (SQLite: the hub's single writer under
``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped advisory lock), so a batch of entries, the
tree nodes it completes, its signed checkpoint and the balances it moves commit together or not
at all.

SQL is written with ``?`` placeholders; :meth:`LedgerDatabase.sql` turns them into ``%s`` for
PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cityos.core.logging import get_logger

log = get_logger(__name__)

#: Advisory lock key of ledger migrations and writes on PostgreSQL.
PG_LEDGER_LOCK = 0x4C454447  # "LEDG"

_SQLITE_V1 = """
CREATE TABLE ledger_entries (
    seq INTEGER PRIMARY KEY,
    leaf BLOB NOT NULL,
    body BLOB NOT NULL,
    kind TEXT NOT NULL,
    at_us INTEGER NOT NULL
);
CREATE TABLE ledger_nodes (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE ledger_checkpoints (
    size INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    note TEXT NOT NULL,
    at_us INTEGER NOT NULL
);
CREATE TABLE ledger_accounts (
    did TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    service_class TEXT,
    balance INTEGER NOT NULL,
    nonce INTEGER NOT NULL,
    daily_limit INTEGER,
    spent_day TEXT,
    spent INTEGER NOT NULL,
    opened_seq INTEGER NOT NULL
);
CREATE TABLE ledger_idempotency (
    actor TEXT NOT NULL,
    key TEXT NOT NULL,
    digest BLOB NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (actor, key)
) WITHOUT ROWID;
CREATE TABLE ledger_rewards (
    did TEXT NOT NULL,
    rule TEXT NOT NULL,
    period TEXT NOT NULL,
    amount INTEGER NOT NULL,
    PRIMARY KEY (did, rule, period)
) WITHOUT ROWID;
CREATE TABLE ledger_documents (
    digest TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (digest, seq)
) WITHOUT ROWID;
"""

_PG_V1 = (
    _SQLITE_V1.replace("BLOB", "BYTEA")
    .replace("INTEGER", "BIGINT")
    .replace(") WITHOUT ROWID;", ");")
)

_SQLITE_V2 = """
CREATE TABLE ledger_credentials (
    idx INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    subject TEXT NOT NULL,
    issued_at_us INTEGER NOT NULL,
    revoked_at_us INTEGER
);
"""
_PG_V2 = _SQLITE_V2.replace("INTEGER", "BIGINT")

#: (version, what it adds, SQLite script, PostgreSQL script). Append; never edit a released one.
MIGRATIONS: tuple[tuple[int, str, str, str], ...] = (
    (1, "log, checkpoints, accounts, idempotency keys, rewards, documents", _SQLITE_V1, _PG_V1),
    (2, "verifiable credentials and their status list", _SQLITE_V2, _PG_V2),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


class LedgerDatabase:
    """Connections to the hub's database for the ledger tables.

    Parameters
    ----------
    storage
        The hub's storage: :class:`~cityos.hub.storage.sqlite.SQLiteStorage` (its ``read`` and
        ``write`` connections) or :class:`~cityos.hub.storage.postgres.PostgresStorage` (its
        connection pool).
    """

    def __init__(self, storage: Any) -> None:
        self.storage = storage
        self.dialect = "postgresql" if hasattr(storage, "pool") else "sqlite"
        if not hasattr(storage, "read"):
            raise TypeError(f"no ledger tables on a {type(storage).__name__} backend")
        self.migrate()

    def sql(self, text: str) -> str:
        """``text`` with ``?`` placeholders in this dialect's style."""
        return text.replace("?", "%s") if self.dialect == "postgresql" else text

    @contextmanager
    def read(self) -> Iterator[Any]:
        """A connection for reads (autocommit)."""
        with self.storage.read() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Any]:
        """A connection in a transaction holding the ledger lock; commits on clean exit."""
        if self.dialect == "postgresql":
            with self.storage.pool.connection() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (PG_LEDGER_LOCK,))
                yield conn
        else:
            with self.storage.write() as conn:
                yield conn

    def execute(self, conn: Any, text: str, params: Any = ()) -> Any:
        """Run one statement written with ``?`` placeholders; returns the cursor."""
        return conn.execute(self.sql(text), params)

    def executemany(self, conn: Any, text: str, rows: list[Any]) -> None:
        """Run one statement for many parameter rows."""
        if not rows:
            return
        if self.dialect == "postgresql":
            with conn.cursor() as cur:
                cur.executemany(self.sql(text), rows)
        else:
            conn.executemany(text, rows)

    def migrate(self) -> int:
        """Apply the migrations this database lacks; returns the version found."""
        found = self._version()
        if found == SCHEMA_VERSION:
            return found
        if found > SCHEMA_VERSION:
            raise RuntimeError(
                f"the ledger tables are at version {found}, newer than this code ({SCHEMA_VERSION})"
            )
        with self.write() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS ledger_schema_version (version INTEGER NOT NULL)"
            )
            row = conn.execute("SELECT max(version) FROM ledger_schema_version").fetchone()
            current = row[0] or 0
            for version, what, sqlite_script, pg_script in MIGRATIONS:
                if version <= current:
                    continue
                script = pg_script if self.dialect == "postgresql" else sqlite_script
                for statement in script.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(
                    self.sql("INSERT INTO ledger_schema_version (version) VALUES (?)"), (version,)
                )
                log.info("ledger tables migrated", extra={"version": version, "adds": what})
        return found

    def _version(self) -> int:
        with self.read() as conn:
            if self.dialect == "postgresql":
                known = conn.execute(
                    "SELECT to_regclass('ledger_schema_version') IS NOT NULL"
                ).fetchone()[0]
            else:
                known = conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE name = 'ledger_schema_version'"
                ).fetchone()
            if not known:
                return 0
            row = conn.execute("SELECT max(version) FROM ledger_schema_version").fetchone()
            return int(row[0] or 0)
