"""Versioned schema of the SQLite backend, applied by ordered migrations (``user_version``)."""

from __future__ import annotations

import sqlite3

from cityos.core.logging import get_logger

log = get_logger(__name__)

#: Migration scripts; index + 1 is the schema version each one produces. Never edit a released
#: script: append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE tenants (
        name TEXT PRIMARY KEY,
        created_at TEXT NOT NULL
    );
    CREATE TABLE entities (
        rid INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        types TEXT NOT NULL,
        scope TEXT,
        created_at TEXT NOT NULL,
        modified_at TEXT NOT NULL,
        attrs TEXT NOT NULL,
        datasets TEXT,
        UNIQUE (tenant, id)
    );
    CREATE TABLE entity_types (
        tenant TEXT NOT NULL,
        type TEXT NOT NULL,
        rid INTEGER NOT NULL,
        PRIMARY KEY (tenant, type, rid)
    ) WITHOUT ROWID;
    CREATE INDEX entity_types_rid ON entity_types (rid);
    CREATE VIRTUAL TABLE geo_rtree USING rtree (
        gid, min_lon, max_lon, min_lat, max_lat, +rid INTEGER, +attr TEXT
    );
    CREATE TABLE jsonld_contexts (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        kind TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_usage TEXT,
        number_of_hits INTEGER NOT NULL DEFAULT 0,
        content_length INTEGER NOT NULL DEFAULT 0,
        extra TEXT
    );
    """,
    # 2: subscriptions and the notification outbox (cityos.hub.storage.sqlite_subscriptions)
    """
    CREATE TABLE subscriptions (
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        document TEXT NOT NULL,
        context TEXT,
        created_at TEXT NOT NULL,
        modified_at TEXT NOT NULL,
        times_sent INTEGER NOT NULL DEFAULT 0,
        times_failed INTEGER NOT NULL DEFAULT 0,
        last_notification TEXT,
        last_success TEXT,
        last_failure TEXT,
        last_failure_reason TEXT,
        notify_status TEXT,
        dead_letters INTEGER NOT NULL DEFAULT 0,
        UNIQUE (tenant, id)
    );
    CREATE TABLE notification_outbox (
        seq INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        subscription_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        due_at REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL DEFAULT 'pending',
        last_error TEXT,
        data TEXT NOT NULL
    );
    CREATE INDEX notification_outbox_queue
        ON notification_outbox (state, tenant, subscription_id, seq);
    """,
    # 3: the temporal history (cityos.hub.storage.sqlite_temporal)
    """
    CREATE TABLE temporal_names (
        nid INTEGER PRIMARY KEY,
        iri TEXT NOT NULL UNIQUE
    );
    CREATE TABLE temporal_entities (
        teid INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        types TEXT NOT NULL,
        deleted_at INTEGER,
        UNIQUE (tenant, id)
    );
    CREATE INDEX temporal_entities_deleted ON temporal_entities (tenant)
        WHERE deleted_at IS NOT NULL;
    CREATE TABLE temporal_instances (
        iid INTEGER PRIMARY KEY AUTOINCREMENT,
        teid INTEGER NOT NULL,
        nid INTEGER NOT NULL,
        dataset TEXT,
        observed INTEGER,
        created INTEGER NOT NULL,
        modified INTEGER NOT NULL,
        deleted INTEGER NOT NULL,
        num,
        body TEXT NOT NULL
    );
    CREATE INDEX temporal_by_observed ON temporal_instances (teid, nid, observed)
        WHERE observed IS NOT NULL;
    CREATE INDEX temporal_by_modified ON temporal_instances (teid, nid, modified);
    """,
    """
    CREATE INDEX entities_by_tenant ON entities (tenant);
    """,
    """
    ALTER TABLE entities ADD COLUMN geo_slots INTEGER;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to :data:`SCHEMA_VERSION`, each step in its own transaction.

    Returns the version found before migrating. A database newer than this code is refused.
    """
    found = conn.execute("PRAGMA user_version").fetchone()[0]
    if found > SCHEMA_VERSION:
        raise RuntimeError(
            f"database schema version {found} is newer than this CityOS ({SCHEMA_VERSION})"
        )
    for version in range(found + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(MIGRATIONS[version - 1]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        log.info("hub schema migrated", extra={"schema_version": version})
    return found


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
