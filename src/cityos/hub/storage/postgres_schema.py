"""Versioned schema of the PostgreSQL backend, applied by ordered migrations.

The applied versions are rows of ``schema_version``. Migrations run under a session advisory lock,
so that several processes starting on one database at once migrate it exactly once; each version
commits in its own transaction.

Layout (one database holds every tenant; ``tenant`` leads every key, which is also the natural
distribution column for a sharded deployment, see ``docs/scaling.md``):

``entities``
    one row per entity: ``rid`` (insertion order), ``id``, ``types text[]`` (GIN index: type
    selections are array containment), ``scope``, the entity timestamps, ``attrs jsonb`` (the
    default instance of every attribute) and ``datasets jsonb`` (instances with a ``datasetId``,
    NULL when there are none), each with a GIN ``jsonb_path_ops`` index for the containment
    tests :mod:`cityos.hub.query_pg` adds to equality queries. Rows are those
    of the SQLite backend (:func:`cityos.hub.storage.sqlite.entity_row`).
``entity_geo``
    one row per GeoProperty instance: a 2-D ``geometry`` in WGS84 (SRID 4326) with a GiST index
    for the topological georels and a GiST index on its ``geography`` cast for ``near``.
``jsonld_contexts``
    the ``/jsonldContexts`` store (ETSI GS CIM 009 §5.13).
``subscriptions``, ``notification_outbox`` (version 2)
    :mod:`cityos.hub.storage.postgres_subscriptions`.
``temporal_names``, ``temporal_entities``, ``temporal_instances`` (version 3)
    the history, :mod:`cityos.hub.storage.postgres_temporal`; ``temporal_instances`` is
    partitioned by month of recording.

The functions ``ngsi_datetime``, ``ngsi_date`` and ``ngsi_time`` normalise temporal text exactly
as :func:`cityos.hub.query_language.canonical_datetime` (and its siblings) do; ``ngsi_elements``
and ``ngsi_members`` list the elements of a JSON array or the member values of a JSON object or
array (none for anything else), for :mod:`cityos.hub.query_pg`.
"""

from __future__ import annotations

from typing import Any

from cityos.core.logging import get_logger

log = get_logger(__name__)

#: Key of the session advisory lock held while migrating (two-int form: its own key space).
MIGRATION_LOCK = (0x43495459, 1)

_FUNCTIONS = r"""
CREATE FUNCTION ngsi_datetime(t text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
    m text[];
    y int; mo int; d int; h int; mi int; s int; us int;
    zone text;
    ts timestamp;
    shift interval;
BEGIN
    m := regexp_match(t, '^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2})'
        '(?::([0-9]{2})(?:[.,]([0-9]+))?)?(Z|z|[+-][0-9]{2}:?[0-9]{2})?$');
    IF m IS NULL THEN
        RETURN NULL;
    END IF;
    y := m[1]::int; mo := m[2]::int; d := m[3]::int; h := m[4]::int; mi := m[5]::int;
    s := coalesce(m[6], '0')::int;
    us := rpad(left(coalesce(m[7], '0'), 6), 6, '0')::int;
    IF y < 1 OR mo < 1 OR mo > 12 OR d < 1 OR h > 23 OR mi > 59 OR s > 59
        OR d > extract(day FROM make_date(y, mo, 1) + interval '1 month - 1 day') THEN
        RETURN NULL;
    END IF;
    ts := make_timestamp(y, mo, d, h, mi, s) + us * interval '1 microsecond';
    zone := m[8];
    IF zone IS NOT NULL AND zone NOT IN ('Z', 'z') THEN
        zone := replace(substr(zone, 2), ':', '');
        IF substr(zone, 1, 2)::int > 23 OR substr(zone, 3, 2)::int > 59 THEN
            RETURN NULL;
        END IF;
        shift := make_interval(hours => substr(zone, 1, 2)::int, mins => substr(zone, 3, 2)::int);
        IF left(m[8], 1) = '+' THEN
            ts := ts - shift;
        ELSE
            ts := ts + shift;
        END IF;
        IF ts < timestamp '0001-01-01' OR ts >= timestamp '10000-01-01' THEN
            RETURN NULL;
        END IF;
    END IF;
    RETURN to_char(ts, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
END
$fn$;

CREATE FUNCTION ngsi_date(t text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
    y int; mo int; d int;
BEGIN
    IF t !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
        RETURN NULL;
    END IF;
    y := substr(t, 1, 4)::int; mo := substr(t, 6, 2)::int; d := substr(t, 9, 2)::int;
    IF y < 1 OR mo < 1 OR mo > 12 OR d < 1
        OR d > extract(day FROM make_date(y, mo, 1) + interval '1 month - 1 day') THEN
        RETURN NULL;
    END IF;
    RETURN t;
END
$fn$;

CREATE FUNCTION ngsi_time(t text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fn$
DECLARE
    m text[];
BEGIN
    m := regexp_match(t, '^([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?(Z|z)?$');
    IF m IS NULL OR m[1]::int > 23 OR m[2]::int > 59 OR coalesce(m[3], '0')::int > 59 THEN
        RETURN NULL;
    END IF;
    RETURN m[1] || ':' || m[2] || ':' || coalesce(m[3], '00') || '.'
        || rpad(left(coalesce(m[4], '0'), 6), 6, '0');
END
$fn$;

CREATE FUNCTION ngsi_elements(doc jsonb) RETURNS SETOF jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
    SELECT jsonb_array_elements(CASE WHEN jsonb_typeof(doc) = 'array' THEN doc END)
$fn$;

CREATE FUNCTION ngsi_members(doc jsonb) RETURNS SETOF jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
    SELECT value FROM jsonb_each(CASE WHEN jsonb_typeof(doc) = 'object' THEN doc END)
    UNION ALL
    SELECT jsonb_array_elements(CASE WHEN jsonb_typeof(doc) = 'array' THEN doc END)
$fn$;
"""

#: Migration scripts; index + 1 is the schema version each one produces. Never edit a released
#: script: append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE EXTENSION IF NOT EXISTS postgis;
    CREATE TABLE tenants (
        name text PRIMARY KEY,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE entities (
        tenant text NOT NULL,
        rid bigint GENERATED ALWAYS AS IDENTITY,
        id text NOT NULL,
        types text[] NOT NULL,
        scope jsonb,
        created_at text NOT NULL,
        modified_at text NOT NULL,
        attrs jsonb NOT NULL,
        datasets jsonb,
        PRIMARY KEY (tenant, rid),
        UNIQUE (tenant, id)
    );
    CREATE INDEX entities_types ON entities USING gin (types);
    CREATE INDEX entities_attrs ON entities USING gin (attrs jsonb_path_ops);
    CREATE INDEX entities_datasets ON entities USING gin (datasets jsonb_path_ops)
        WHERE datasets IS NOT NULL;
    CREATE TABLE entity_geo (
        tenant text NOT NULL,
        rid bigint NOT NULL,
        attr text NOT NULL,
        geom geometry(Geometry, 4326) NOT NULL,
        FOREIGN KEY (tenant, rid) REFERENCES entities (tenant, rid) ON DELETE CASCADE
    );
    CREATE INDEX entity_geo_rid ON entity_geo (tenant, rid);
    CREATE INDEX entity_geo_geom ON entity_geo USING gist (geom);
    CREATE INDEX entity_geo_geog ON entity_geo USING gist ((geom::geography));
    CREATE TABLE jsonld_contexts (
        id text PRIMARY KEY,
        url text NOT NULL,
        kind text NOT NULL,
        body json NOT NULL,
        created_at timestamptz NOT NULL,
        last_usage timestamptz,
        number_of_hits bigint NOT NULL DEFAULT 0,
        content_length bigint NOT NULL DEFAULT 0,
        extra jsonb
    );
    CREATE INDEX jsonld_contexts_url ON jsonld_contexts (url);
    """
    + _FUNCTIONS,
    # 2: subscriptions and the notification outbox (cityos.hub.storage.postgres_subscriptions)
    """
    CREATE TABLE subscriptions (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant text NOT NULL,
        id text NOT NULL,
        document json NOT NULL,
        context json,
        created_at text NOT NULL,
        modified_at text NOT NULL,
        times_sent bigint NOT NULL DEFAULT 0,
        times_failed bigint NOT NULL DEFAULT 0,
        last_notification text,
        last_success text,
        last_failure text,
        last_failure_reason text,
        notify_status text,
        dead_letters bigint NOT NULL DEFAULT 0,
        UNIQUE (tenant, id)
    );
    CREATE TABLE notification_outbox (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant text NOT NULL,
        subscription_id text NOT NULL,
        created_at text NOT NULL,
        due_at double precision NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        state text NOT NULL DEFAULT 'pending',
        last_error text,
        data json NOT NULL
    );
    CREATE INDEX notification_outbox_queue
        ON notification_outbox (state, tenant, subscription_id, seq);
    """,
    # 3: the temporal history, partitioned by month (cityos.hub.storage.postgres_temporal)
    """
    CREATE TABLE temporal_names (
        nid integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        iri text NOT NULL UNIQUE
    );
    CREATE TABLE temporal_entities (
        teid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant text NOT NULL,
        id text NOT NULL,
        types text[] NOT NULL,
        deleted_at bigint,
        UNIQUE (tenant, id)
    );
    CREATE INDEX temporal_entities_deleted ON temporal_entities (tenant)
        WHERE deleted_at IS NOT NULL;
    CREATE SEQUENCE temporal_instance_ids AS bigint;
    CREATE TABLE temporal_instances (
        iid bigint NOT NULL DEFAULT nextval('temporal_instance_ids'),
        teid bigint NOT NULL,
        nid integer NOT NULL,
        dataset text,
        observed bigint,
        created bigint NOT NULL,
        modified bigint NOT NULL,
        deleted boolean NOT NULL,
        num numeric,
        num_float boolean NOT NULL DEFAULT false,
        body jsonb NOT NULL
    ) PARTITION BY RANGE (modified);
    ALTER SEQUENCE temporal_instance_ids OWNED BY temporal_instances.iid;
    CREATE INDEX temporal_by_observed ON temporal_instances (teid, nid, observed)
        WHERE observed IS NOT NULL;
    CREATE INDEX temporal_by_modified ON temporal_instances (teid, nid, modified);
    CREATE INDEX temporal_by_iid ON temporal_instances (iid);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: Any) -> int:
    """Bring the database to :data:`SCHEMA_VERSION`, each step in its own transaction.

    Parameters
    ----------
    conn
        A psycopg connection in autocommit mode.

    Returns
    -------
    int
        The version found before migrating.

    Raises
    ------
    RuntimeError
        For a database newer than this code, one not encoded in UTF-8 (the query compiler's
        regular expressions and text comparisons rely on it), or one where PostGIS is missing
        and cannot be created by this role.
    """
    encoding, known = conn.execute(
        "SELECT current_setting('server_encoding'), to_regclass('schema_version') IS NOT NULL"
    ).fetchone()
    if encoding != "UTF8":
        raise RuntimeError(f"the hub database must be encoded in UTF8, not {encoding}")
    if known:  # the common case, a current schema: no lock needed to see it
        found = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
        if found == SCHEMA_VERSION:
            return found
    conn.execute("SELECT pg_advisory_lock(%s, %s)", MIGRATION_LOCK)
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        found = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
        if found > SCHEMA_VERSION:
            raise RuntimeError(
                f"database schema version {found} is newer than this CityOS ({SCHEMA_VERSION})"
            )
        for version in range(found + 1, SCHEMA_VERSION + 1):
            _apply(conn, version)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s, %s)", MIGRATION_LOCK)
    return found


def _apply(conn: Any, version: int) -> None:
    import psycopg

    try:
        with conn.transaction():
            conn.execute(MIGRATIONS[version - 1])
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
    except psycopg.errors.InsufficientPrivilege as exc:
        raise RuntimeError(
            f"migrating the hub schema to version {version} needs more privileges ({exc}); "
            "a superuser can run CREATE EXTENSION postgis in the database first"
        ) from exc
    log.info("hub schema migrated", extra={"schema_version": version})
