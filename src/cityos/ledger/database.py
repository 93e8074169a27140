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

from cityos.hub.storage.side_tables import SideTables

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


class LedgerDatabase(SideTables):
    """The ledger's tables in the hub's database; every write transaction holds the ledger lock
    on PostgreSQL (one writer at a time, as SQLite)."""

    prefix = "ledger"
    migrations = MIGRATIONS
    write_lock = PG_LEDGER_LOCK
