"""The privacy layer's tables in the hub's own database (SQLite or PostgreSQL).

The privacy tables (consents, audit trail, privacy budgets) live beside the hub's, so a consent
withdrawn is seen by the next query of any server process, and a MyData erasure can remove a
citizen's data from every table in one place. Their schema is versioned on its own
(``privacy_schema_version``), by ordered migrations written once per dialect; the hub's
migrations know nothing of them.

SQL is written with ``?`` placeholders; :meth:`PrivacyDatabase.sql` turns them into ``%s`` for
PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cityos.core.logging import get_logger

log = get_logger(__name__)

#: Advisory lock key of privacy migrations and audit appends on PostgreSQL.
PG_MIGRATION_LOCK = 0x50524956  # "PRIV"
PG_AUDIT_LOCK = 0x41554454  # "AUDT"

#: (version, what it adds, SQLite script, PostgreSQL script). Append; never edit a released one.
MIGRATIONS: tuple[tuple[int, str, str, str], ...] = (
    (
        1,
        "consents",
        """
        CREATE TABLE privacy_consents (
            id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            subject TEXT NOT NULL,
            purpose TEXT NOT NULL,
            recipient TEXT NOT NULL,
            categories TEXT NOT NULL,
            valid_from INTEGER NOT NULL,
            valid_until INTEGER,
            granted_at INTEGER NOT NULL,
            withdrawn_at INTEGER
        );
        CREATE INDEX privacy_consents_lookup ON privacy_consents (tenant, purpose, subject);
        CREATE INDEX privacy_consents_subject ON privacy_consents (tenant, subject);
        CREATE TABLE privacy_consent_versions (
            tenant TEXT PRIMARY KEY,
            version INTEGER NOT NULL
        );
        """,
        """
        CREATE TABLE privacy_consents (
            id TEXT PRIMARY KEY,
            tenant TEXT NOT NULL,
            subject TEXT NOT NULL,
            purpose TEXT NOT NULL,
            recipient TEXT NOT NULL,
            categories TEXT NOT NULL,
            valid_from BIGINT NOT NULL,
            valid_until BIGINT,
            granted_at BIGINT NOT NULL,
            withdrawn_at BIGINT
        );
        CREATE INDEX privacy_consents_lookup ON privacy_consents (tenant, purpose, subject);
        CREATE INDEX privacy_consents_subject ON privacy_consents (tenant, subject);
        CREATE TABLE privacy_consent_versions (
            tenant TEXT PRIMARY KEY,
            version BIGINT NOT NULL
        );
        """,
    ),
    (
        2,
        "audit trail",
        """
        CREATE TABLE privacy_audit (
            seq INTEGER PRIMARY KEY,
            at_us INTEGER NOT NULL,
            tenant TEXT NOT NULL,
            actor TEXT NOT NULL,
            roles TEXT NOT NULL,
            org TEXT,
            purpose TEXT,
            action TEXT NOT NULL,
            outcome TEXT NOT NULL,
            subjects TEXT NOT NULL,
            entities INTEGER NOT NULL,
            withheld INTEGER NOT NULL,
            justification TEXT,
            client TEXT,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE TABLE privacy_audit_subjects (
            subject TEXT NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (subject, seq)
        ) WITHOUT ROWID;
        CREATE INDEX privacy_audit_actor ON privacy_audit (actor, seq);
        CREATE TABLE privacy_audit_indexed (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            seq INTEGER NOT NULL
        );
        CREATE TRIGGER privacy_audit_no_update BEFORE UPDATE ON privacy_audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
        CREATE TRIGGER privacy_audit_no_delete BEFORE DELETE ON privacy_audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
        """,
        """
        CREATE TABLE privacy_audit (
            seq BIGINT PRIMARY KEY,
            at_us BIGINT NOT NULL,
            tenant TEXT NOT NULL,
            actor TEXT NOT NULL,
            roles TEXT NOT NULL,
            org TEXT,
            purpose TEXT,
            action TEXT NOT NULL,
            outcome TEXT NOT NULL,
            subjects TEXT NOT NULL,
            entities INTEGER NOT NULL,
            withheld INTEGER NOT NULL,
            justification TEXT,
            client TEXT,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE TABLE privacy_audit_subjects (
            subject TEXT NOT NULL,
            seq BIGINT NOT NULL,
            PRIMARY KEY (subject, seq)
        );
        CREATE INDEX privacy_audit_actor ON privacy_audit (actor, seq);
        CREATE TABLE privacy_audit_indexed (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            seq BIGINT NOT NULL
        );
        CREATE FUNCTION privacy_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$;
        CREATE TRIGGER privacy_audit_no_change BEFORE UPDATE OR DELETE OR TRUNCATE
        ON privacy_audit FOR EACH STATEMENT EXECUTE FUNCTION privacy_audit_append_only();
        """,
    ),
    (
        3,
        "privacy budgets",
        """
        CREATE TABLE privacy_budgets (
            tenant TEXT NOT NULL,
            dataset TEXT NOT NULL,
            consumer TEXT NOT NULL,
            epsilon_limit REAL NOT NULL,
            epsilon_spent REAL NOT NULL,
            releases INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (tenant, dataset, consumer)
        );
        """,
        """
        CREATE TABLE privacy_budgets (
            tenant TEXT NOT NULL,
            dataset TEXT NOT NULL,
            consumer TEXT NOT NULL,
            epsilon_limit DOUBLE PRECISION NOT NULL,
            epsilon_spent DOUBLE PRECISION NOT NULL,
            releases INTEGER NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (tenant, dataset, consumer)
        );
        """,
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


class PrivacyDatabase:
    """Connections to the hub's database for the privacy tables.

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
            raise TypeError(f"no privacy tables on a {type(storage).__name__} backend")
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
        """A connection inside a transaction that commits on clean exit, else rolls back."""
        if self.dialect == "postgresql":
            with self.storage.pool.connection() as conn, conn.transaction():
                yield conn
        else:
            with self.storage.write() as conn:
                yield conn

    def execute(self, conn: Any, text: str, params: Any = ()) -> Any:
        """Run one statement written with ``?`` placeholders; returns the cursor."""
        return conn.execute(self.sql(text), params)

    def migrate(self) -> int:
        """Apply the migrations this database lacks; returns the version found."""
        found = self._version()
        if found == SCHEMA_VERSION:
            return found
        if found > SCHEMA_VERSION:
            raise RuntimeError(
                f"the privacy tables are at version {found}, newer than this code "
                f"({SCHEMA_VERSION})"
            )
        with self.write() as conn:
            if self.dialect == "postgresql":
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (PG_MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS privacy_schema_version (version INTEGER NOT NULL)"
            )
            row = conn.execute("SELECT max(version) FROM privacy_schema_version").fetchone()
            current = row[0] or 0
            for version, what, sqlite_script, pg_script in MIGRATIONS:
                if version <= current:
                    continue
                script = pg_script if self.dialect == "postgresql" else sqlite_script
                for statement in _statements(script):
                    conn.execute(statement)
                conn.execute(
                    self.sql("INSERT INTO privacy_schema_version (version) VALUES (?)"),
                    (version,),
                )
                log.info("privacy tables migrated", extra={"version": version, "adds": what})
        return found

    def _version(self) -> int:
        with self.read() as conn:
            if self.dialect == "postgresql":
                known = conn.execute(
                    "SELECT to_regclass('privacy_schema_version') IS NOT NULL"
                ).fetchone()[0]
            else:
                known = conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE name = 'privacy_schema_version'"
                ).fetchone()
            if not known:
                return 0
            row = conn.execute("SELECT max(version) FROM privacy_schema_version").fetchone()
            return int(row[0] or 0)


def _statements(script: str) -> list[str]:
    """Split a script into statements at lines ending with ``;`` (a trigger body is written on
    one line, so its inner ``;`` never ends a line)."""
    out: list[str] = []
    current: list[str] = []
    for line in script.splitlines():
        current.append(line)
        if line.rstrip().endswith(";"):
            statement = "\n".join(current).strip()
            if statement.rstrip(";").strip():
                out.append(statement)
            current = []
    rest = "\n".join(current).strip()
    if rest:
        out.append(rest)
    return out
