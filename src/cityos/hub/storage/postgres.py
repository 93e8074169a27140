"""The PostgreSQL + PostGIS backend: JSONB attributes, GIN and GiST indexes, a connection pool.

Selected by ``CITYOS_DATABASE_URL=postgresql://user@host:port/db`` (see ``docs/hub.md``). Rows
have the layout of the SQLite backend (:func:`~cityos.hub.storage.sqlite.entity_row`), in the
schema of :mod:`cityos.hub.storage.postgres_schema`; filters compile in
:mod:`cityos.hub.storage.postgres_filter`.

Writes: a transaction takes a per-tenant advisory lock first (``pg_advisory_xact_lock``), so the
writes of one tenant are serialised exactly as the SQLite backend serialises all writes (read,
check, then write is race-free), while tenants write in parallel. Acknowledged writes are durable
(``synchronous_commit=on`` unless the URL's ``options`` say otherwise); a transaction commits
whole or not at all. Reads run in autocommit mode on pooled connections (psycopg 3
:class:`psycopg_pool.ConnectionPool`).

Two URL query parameters size the pool and are not passed to libpq: ``pool_min_size``
(default 1) and ``pool_max_size`` (default 10).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool

from cityos.core.errors import BadRequestData, InternalError
from cityos.core.logging import get_logger
from cityos.hub.model import Entity, geo_instances
from cityos.hub.storage.base import AttributeSummary, EntityFilter, QueryPage
from cityos.hub.storage.postgres_filter import Filter, build_filter
from cityos.hub.storage.postgres_rows import raw, recordset
from cityos.hub.storage.postgres_schema import migrate
from cityos.hub.storage.sqlite import entity_row, row_entity

log = get_logger(__name__)

_COLUMNS = (
    "e.rid, e.id, to_jsonb(e.types)::text, e.scope::text, e.created_at, e.modified_at, "
    "e.attrs::text, e.datasets::text"
)
#: Advisory lock class of the per-tenant write lock (two-int form, second key: hash of tenant).
_WRITE_LOCK = 0x43495460
_POOL_PARAMS = {"pool_min_size": 1, "pool_max_size": 10}
_SESSION_OPTIONS = "-c TimeZone=UTC -c synchronous_commit=on"
_STREAM_ROWS = 500


def connection_settings(url: str) -> tuple[str, dict[str, int]]:
    """Split a ``postgresql://`` URL into a libpq conninfo and the pool sizes it names."""
    parts = urlsplit(url)
    pool = dict(_POOL_PARAMS)
    kept = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in pool:
            try:
                pool[key] = int(value)
            except ValueError:
                raise ValueError(f"{key} must be an integer in {url!r}") from None
        else:
            kept.append((key, value))
    conninfo = urlunsplit(parts._replace(query=urlencode(kept)))
    given = conninfo_to_dict(conninfo)
    options = given.get("options")
    extra = {"options": _SESSION_OPTIONS + (f" {options}" if options else "")}
    if "application_name" not in given:
        extra["application_name"] = "cityos-hub"
    return make_conninfo(conninfo, **extra), pool


class PostgresStorage:
    """Hub storage in a PostgreSQL database with the PostGIS extension."""

    def __init__(self, url: str) -> None:
        conninfo, sizes = connection_settings(url)
        try:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                migrate(conn)
        except psycopg.OperationalError as exc:
            raise RuntimeError(f"cannot connect to PostgreSQL at {_redacted(url)}: {exc}") from exc
        self.pool = ConnectionPool(
            conninfo,
            min_size=sizes["pool_min_size"],
            max_size=max(sizes["pool_max_size"], sizes["pool_min_size"]),
            kwargs={"autocommit": True},
            name="cityos-hub",
            open=False,
        )
        self.pool.open()  # the server answered above: the pool connects in the background
        from cityos.hub.storage.postgres_contexts import PostgresContextStore
        from cityos.hub.storage.postgres_subscriptions import PostgresSubscriptionStore
        from cityos.hub.storage.postgres_temporal import PostgresTemporalStore

        self.contexts = PostgresContextStore(self)
        self.temporal = PostgresTemporalStore(self)
        self.subscriptions = PostgresSubscriptionStore(self)

    @contextmanager
    def read(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection in autocommit mode."""
        with self.pool.connection() as conn:
            yield conn

    def close(self) -> None:
        """Close the pool and every connection in it."""
        self.pool.close()

    # -- tenants -----------------------------------------------------------------------------
    def tenant_exists(self, tenant: str) -> bool:
        with self.read() as conn:
            row = conn.execute("SELECT 1 FROM tenants WHERE name = %s", (tenant,)).fetchone()
        return row is not None

    def tenants(self) -> list[str]:
        with self.read() as conn:
            rows = conn.execute('SELECT name FROM tenants ORDER BY name COLLATE "C"').fetchall()
        return [r[0] for r in rows]

    # -- writes ------------------------------------------------------------------------------
    @contextmanager
    def transaction(self, tenant: str) -> Iterator[_PgTransaction]:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_WRITE_LOCK, tenant))
            conn.execute("INSERT INTO tenants (name) VALUES (%s) ON CONFLICT DO NOTHING", (tenant,))
            yield _PgTransaction(conn, tenant)

    # -- reads -------------------------------------------------------------------------------
    def get_entities(self, tenant: str, ids: Iterable[str]) -> dict[str, Entity]:
        with self.read() as conn:
            return _get(conn, tenant, ids)

    def iter_entities(self, tenant: str) -> Iterator[Entity]:
        with self.read() as conn, conn.transaction():
            cursor = conn.cursor(name="cityos_export")
            cursor.itersize = _STREAM_ROWS
            cursor.execute(
                f"SELECT {_COLUMNS} FROM entities e WHERE e.tenant = %s ORDER BY e.rid", (tenant,)
            )
            for row in cursor:
                yield row_entity(row)
            cursor.close()

    def query(
        self, tenant: str, flt: EntityFilter, *, limit: int, offset: int, count: bool
    ) -> QueryPage:
        with self.read() as conn:
            try:
                return _query(conn, tenant, build_filter(tenant, flt), limit, offset, count)
            except psycopg.errors.InvalidRegularExpression:
                # A translated pattern PostgreSQL refuses (e.g. too complex): match in Python.
                plan = build_filter(tenant, flt, translate_regex=False)
                return _query(conn, tenant, plan, limit, offset, count)

    def type_counts(self, tenant: str) -> dict[str, int]:
        with self.read() as conn:
            rows = conn.execute(
                "SELECT t, count(*) FROM entities e, unnest(e.types) AS t WHERE e.tenant = %s "
                'GROUP BY t ORDER BY t COLLATE "C"',
                (tenant,),
            ).fetchall()
        return {t: n for t, n in rows}

    def attribute_summaries(
        self, tenant: str, types: Iterable[str] | None = None
    ) -> dict[str, AttributeSummary]:
        type_filter = ""
        params: list[Any] = [tenant]
        if types is not None:
            type_filter = " AND e.types && %s::text[]"
            params.append(list(types))
        query = (
            "WITH a AS ("
            "SELECT e.rid, e.types, j.key AS iri, j.value ->> 'type' AS kind "
            f"FROM entities e, jsonb_each(e.attrs) AS j WHERE e.tenant = %s{type_filter} "
            "UNION ALL "
            "SELECT e.rid, e.types, d.key, i.value ->> 'type' FROM entities e, "
            "jsonb_each(e.datasets) AS d, ngsi_elements(d.value) AS i(value) "
            f"WHERE e.datasets IS NOT NULL AND e.tenant = %s{type_filter}) "
            "SELECT a.iri, count(DISTINCT a.rid), "
            "array_remove(array_agg(DISTINCT NULLIF(a.kind, '')), NULL), "
            "array_remove(array_agg(DISTINCT t), NULL) "
            "FROM a LEFT JOIN LATERAL unnest(a.types) AS t ON true GROUP BY a.iri"
        )
        with self.read() as conn:
            rows = conn.execute(query, params + params).fetchall()
        return {
            iri: AttributeSummary(iri, count, set(kinds), set(type_names or ()))
            for iri, count, kinds, type_names in rows
        }


class _PgTransaction:
    """Writes for one tenant inside an open PostgreSQL transaction."""

    def __init__(self, conn: psycopg.Connection[Any], tenant: str) -> None:
        self.conn = conn
        self.tenant = tenant

    def get(self, ids: Iterable[str]) -> dict[str, Entity]:
        return _get(self.conn, self.tenant, ids)

    def insert(self, entities: list[Entity]) -> None:
        if not entities:
            return
        try:
            rows = self.conn.execute(
                "INSERT INTO entities (tenant, id, types, scope, created_at, modified_at, attrs, "
                "datasets) SELECT %s, u.id, ARRAY(SELECT jsonb_array_elements_text(u.types)), "
                f"u.scope, u.created, u.modified, u.attrs, u.datasets FROM {_ENTITY_ROWS} "
                "ORDER BY u.n RETURNING rid, id",
                (self.tenant, _entity_rows(entities)),
            ).fetchall()
        except psycopg.errors.UniqueViolation as exc:
            raise InternalError(f"entity insert violated a constraint: {exc}") from exc
        except psycopg.errors.UntranslatableCharacter as exc:
            raise BadRequestData(_NUL_MESSAGE) from exc
        rids = {eid: rid for rid, eid in rows}
        self._index_geo([(rids[e.id], e) for e in entities])

    def update(self, entities: list[Entity]) -> None:
        if not entities:
            return
        try:
            rows = self.conn.execute(
                "UPDATE entities e SET types = ARRAY(SELECT jsonb_array_elements_text(u.types)), "
                "scope = u.scope, modified_at = u.modified, attrs = u.attrs, "
                f"datasets = u.datasets FROM {_ENTITY_ROWS} "
                "WHERE e.tenant = %s AND e.id = u.id RETURNING e.rid, e.id",
                (_entity_rows(entities), self.tenant),
            ).fetchall()
        except psycopg.errors.UntranslatableCharacter as exc:
            raise BadRequestData(_NUL_MESSAGE) from exc
        rids = {eid: rid for rid, eid in rows}
        self.conn.execute(
            "DELETE FROM entity_geo WHERE tenant = %s AND rid = ANY(%s::bigint[])",
            (self.tenant, list(rids.values())),
        )
        self._index_geo([(rids[e.id], e) for e in entities if e.id in rids])

    def delete(self, ids: list[str]) -> None:
        if ids:
            self.conn.execute(
                "DELETE FROM entities WHERE tenant = %s AND id = ANY(%s::text[])",
                (self.tenant, list(ids)),
            )

    def _index_geo(self, pairs: list[tuple[int, Entity]]) -> None:
        """One ``entity_geo`` row per GeoProperty instance (2-D, WGS84)."""
        rows = [
            {"rid": rid, "attr": iri, "shape": geometry}
            for rid, entity in pairs
            for iri, geometry in geo_instances(entity)
        ]
        if rows:
            self.conn.execute(
                "INSERT INTO entity_geo (tenant, rid, attr, geom) SELECT %s, u.rid, u.attr, "
                "ST_Force2D(ST_SetSRID(ST_GeomFromGeoJSON(u.shape), 4326)) "
                "FROM json_to_recordset(%s::json) AS u(rid bigint, attr text, shape text)",
                (self.tenant, recordset(rows)),
            )


_NUL_MESSAGE = "PostgreSQL cannot store the NUL character (\\u0000) in entity content"


#: The rows of :func:`_entity_rows` in SQL.
_ENTITY_ROWS = (
    "json_to_recordset(%s::json) AS u(n int, id text, types jsonb, scope jsonb, created text, "
    "modified text, attrs jsonb, datasets jsonb)"
)


def _entity_rows(entities: list[Entity]) -> str:
    """The entities as one :func:`~cityos.hub.storage.postgres_rows.recordset` parameter."""
    rows = []
    for n, entity in enumerate(entities):
        types_json, scope, attrs_json, datasets_json = entity_row(entity)
        rows.append(
            {
                "n": n,
                "id": entity.id,
                "types": raw(types_json),
                "scope": raw(scope),
                "created": entity.created_at,
                "modified": entity.modified_at,
                "attrs": raw(attrs_json),
                "datasets": raw(datasets_json),
            }
        )
    return recordset(rows)


def _get(conn: psycopg.Connection[Any], tenant: str, ids: Iterable[str]) -> dict[str, Entity]:
    id_list = list(dict.fromkeys(ids))
    if not id_list:
        return {}
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM entities e WHERE e.tenant = %s AND e.id = ANY(%s::text[])",
        (tenant, id_list),
    ).fetchall()
    found = {}
    for row in rows:
        entity = row_entity(row)
        found[entity.id] = entity
    return found


def _query(
    conn: psycopg.Connection[Any],
    tenant: str,
    plan: Filter,
    limit: int,
    offset: int,
    count: bool,
) -> QueryPage:
    where = " AND ".join(plan.where) or "true"
    body = f"FROM {plan.from_sql} WHERE {where}"
    if plan.recheck is not None:
        return _rechecked(conn, tenant, plan, body, limit, offset, count)
    total = None
    if count:
        total = conn.execute(f"SELECT count(*) {body}", plan.params).fetchone()[0]  # type: ignore[index]
    rows: list[Any] = []
    if limit > 0:
        rows = conn.execute(
            f"SELECT {_COLUMNS} {body} ORDER BY {plan.order} LIMIT %s OFFSET %s",
            [*plan.params, limit, offset],
        ).fetchall()
    return QueryPage([row_entity(r) for r in rows], total)


def _rechecked(
    conn: psycopg.Connection[Any],
    tenant: str,
    plan: Filter,
    body: str,
    limit: int,
    offset: int,
    count: bool,
) -> QueryPage:
    """Candidates in order from SQL, each tested in Python; then the page by row id."""
    assert plan.recheck is not None
    wanted = offset + limit
    hits: list[int] = []
    with conn.transaction():
        cursor = conn.cursor(name="cityos_recheck")
        cursor.itersize = _STREAM_ROWS
        cursor.execute(
            f"SELECT e.rid, e.id, to_jsonb(e.types)::text, e.attrs::text, e.datasets::text "
            f"{body} ORDER BY {plan.order}",
            plan.params,
        )
        for rid, eid, types, attrs, datasets in cursor:
            row = (eid, orjson.loads(types), orjson.loads(attrs), _loads(datasets))
            if plan.recheck(row):
                hits.append(rid)
                if not count and len(hits) >= wanted:
                    break
        cursor.close()
    page = hits[offset:wanted] if limit > 0 else []
    entities: list[Entity] = []
    if page:
        by_rid = {
            row[0]: row_entity(row)
            for row in conn.execute(
                f"SELECT {_COLUMNS} FROM entities e WHERE e.tenant = %s "
                "AND e.rid = ANY(%s::bigint[])",
                (tenant, page),
            )
        }
        entities = [by_rid[r] for r in page if r in by_rid]
    return QueryPage(entities, len(hits) if count else None)


def _loads(text: str | None) -> Any:
    return orjson.loads(text) if text is not None else None


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
