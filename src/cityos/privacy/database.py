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

from cityos.hub.storage.side_tables import SideTables

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


class PrivacyDatabase(SideTables):
    """The privacy layer's tables in the hub's database (audit appends take their own lock)."""

    prefix = "privacy"
    migrations = MIGRATIONS
    migration_lock = PG_MIGRATION_LOCK
