"""The embedded SQLite backend: WAL mode, JSON1 for attributes, an R*Tree for geometry.

One file holds every tenant. Acknowledged writes are durable (``synchronous=FULL``); a write
transaction either commits whole or leaves nothing (``BEGIN IMMEDIATE`` ... ``COMMIT``). Readers use
one connection per thread and never block the writer (WAL).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from cityos.core.errors import BadRequestData, InternalError
from cityos.core.logging import get_logger
from cityos.core.timeutil import now_iso
from cityos.hub import geo
from cityos.hub.model import Entity, geo_instances
from cityos.hub.query_sql import compile_q, register_sqlite_functions
from cityos.hub.storage.base import AttributeSummary, EntityFilter, QueryPage
from cityos.hub.storage.sqlite_rows import insert_rows
from cityos.hub.storage.sqlite_schema import migrate
from cityos.hub.type_selection import TypeSelection

log = get_logger(__name__)

_COLUMNS = "e.rid, e.id, e.types, e.scope, e.created_at, e.modified_at, e.attrs, e.datasets"
_CHUNK = 500
#: Each entity owns a block of 2**GEO_SLOT_BITS R*Tree ids (its GeoProperty instances).
GEO_SLOT_BITS = 8
GEO_SLOTS = 1 << GEO_SLOT_BITS


def json_path(*keys: str) -> str:
    """An SQLite JSON path addressing nested object keys, each quoted (keys are IRIs)."""
    return "$" + "".join('."' + k.replace("\\", "\\\\").replace('"', '\\"') + '"' for k in keys)


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _pack(instance: dict[str, Any], created: str, modified: str) -> dict[str, Any]:
    """Drop instance timestamps equal to the entity's (most of them): the row stays small and
    :func:`_unpack` restores them exactly."""
    packed = {}
    for key, member in instance.items():
        if (key == "createdAt" and member == created) or (
            key == "modifiedAt" and member == modified
        ):
            continue
        if key != "value" and type(member) is dict and "type" in member:
            member = _pack(member, created, modified)
        packed[key] = member
    return packed


def _unpack(instance: dict[str, Any], created: str, modified: str) -> dict[str, Any]:
    for key, member in instance.items():
        if key != "value" and type(member) is dict and "type" in member:
            _unpack(member, created, modified)
    instance.setdefault("createdAt", created)
    instance.setdefault("modifiedAt", modified)
    return instance


def entity_row(entity: Entity) -> tuple[str, str | None, str, str | None]:
    """Serialise an entity's types, scope, default instances and dataset instances."""
    created, modified = entity.created_at, entity.modified_at
    defaults: dict[str, Any] = {}
    datasets: dict[str, list[Any]] = {}
    for iri, instances in entity.attrs.items():
        for instance in instances:
            if "datasetId" in instance:
                datasets.setdefault(iri, []).append(_pack(instance, created, modified))
            else:
                defaults[iri] = _pack(instance, created, modified)
    return (
        _dumps(entity.types),
        _dumps(entity.scope) if entity.scope else None,
        _dumps(defaults),
        _dumps(datasets) if datasets else None,
    )


def row_entity(row: sqlite3.Row | tuple[Any, ...]) -> Entity:
    """Rebuild an entity from a row of ``_COLUMNS``."""
    _, eid, types, scope, created, modified, attrs_text, datasets_text = row
    attrs: dict[str, list[dict[str, Any]]] = {
        iri: [_unpack(instance, created, modified)]
        for iri, instance in orjson.loads(attrs_text).items()
    }
    if datasets_text:
        for iri, instances in orjson.loads(datasets_text).items():
            attrs.setdefault(iri, []).extend(_unpack(i, created, modified) for i in instances)
    return Entity(
        id=eid,
        types=orjson.loads(types),
        attrs=attrs,
        scope=orjson.loads(scope) if scope else None,
        created_at=created,
        modified_at=modified,
    )


class SQLiteStorage:
    """Hub storage in one SQLite file (or ``:memory:`` for short-lived in-process use)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._memory = self.path == ":memory:"
        if not self._memory:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.RLock()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._writer = self._connect()
        migrate(self._writer)
        from cityos.hub.storage.sqlite_contexts import SQLiteContextStore

        self.contexts = SQLiteContextStore(self)
        from cityos.hub.storage.sqlite_temporal import SQLiteTemporalStore

        self.temporal = SQLiteTemporalStore(self)
        from cityos.hub.storage.sqlite_subscriptions import SQLiteSubscriptionStore

        self.subscriptions = SQLiteSubscriptionStore(self)

    # -- connections -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("PRAGMA cache_size=-65536")
        register_sqlite_functions(conn)
        with self._all_lock:
            self._all.append(conn)
        return conn

    def reader(self) -> sqlite3.Connection:
        """This thread's read connection (the writer's, for an in-memory database)."""
        if self._memory:
            return self._writer
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A connection for reading (serialised with writes for an in-memory database)."""
        if self._memory:
            with self._write_lock:
                yield self._writer
        else:
            yield self.reader()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """The writer inside ``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on error)."""
        with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection this storage opened."""
        with self._all_lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.Error:
                    log.warning("closing an SQLite connection failed", exc_info=True)
            self._all.clear()

    # -- tenants -----------------------------------------------------------------------------
    def tenant_exists(self, tenant: str) -> bool:
        with self.read() as conn:
            row = conn.execute("SELECT 1 FROM tenants WHERE name = ?", (tenant,)).fetchone()
        return row is not None

    def tenants(self) -> list[str]:
        with self.read() as conn:
            return [r[0] for r in conn.execute("SELECT name FROM tenants ORDER BY name")]

    # -- writes ------------------------------------------------------------------------------
    @contextmanager
    def transaction(self, tenant: str) -> Iterator[_SQLiteTransaction]:
        with self.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO tenants(name, created_at) VALUES (?, ?)", (tenant, now_iso())
            )
            yield _SQLiteTransaction(conn, tenant)

    # -- reads -------------------------------------------------------------------------------
    def get_entities(self, tenant: str, ids: Iterable[str]) -> dict[str, Entity]:
        with self.read() as conn:
            return _get(conn, tenant, ids)

    def iter_entities(self, tenant: str) -> Iterator[Entity]:
        with self.read() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM entities e WHERE e.tenant = ? ORDER BY e.rid", (tenant,)
            ).fetchall()
        for row in rows:
            yield row_entity(row)

    def query(
        self, tenant: str, flt: EntityFilter, *, limit: int, offset: int, count: bool
    ) -> QueryPage:
        where, params = _where(tenant, flt)
        with self.read() as conn:
            if flt.geo is not None:
                return _geo_query(conn, where, params, flt, limit=limit, offset=offset, count=count)
            total = None
            if count:
                total = conn.execute(
                    f"SELECT count(*) FROM entities e WHERE {where}", params
                ).fetchone()[0]
            rows = []
            if limit > 0:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM entities e WHERE {where} "
                    "ORDER BY e.rid LIMIT ? OFFSET ?",
                    [*params, limit, offset],
                ).fetchall()
        return QueryPage([row_entity(r) for r in rows], total)

    def type_counts(self, tenant: str) -> dict[str, int]:
        with self.read() as conn:
            rows = conn.execute(
                "SELECT type, count(*) FROM entity_types WHERE tenant = ? GROUP BY type "
                "ORDER BY type",
                (tenant,),
            ).fetchall()
        return {t: n for t, n in rows}

    def attribute_summaries(
        self, tenant: str, types: Iterable[str] | None = None
    ) -> dict[str, AttributeSummary]:
        type_filter = ""
        params: list[Any] = [tenant]
        if types is not None:
            type_list = list(types)
            marks = ",".join("?" * len(type_list))
            type_filter = (
                " AND e.rid IN (SELECT rid FROM entity_types WHERE tenant = ? "
                f"AND type IN ({marks}))"
            )
            params += [tenant, *type_list]
        defaults = (
            "SELECT e.rid, e.types, j.key, json_extract(j.value, '$.type') "
            f"FROM entities e, json_each(e.attrs) j WHERE e.tenant = ?{type_filter}"
        )
        datasets = (
            "SELECT e.rid, e.types, d.key, json_extract(j.value, '$.type') "
            "FROM entities e, json_each(e.datasets) d, json_each(d.value) j "
            f"WHERE e.datasets IS NOT NULL AND e.tenant = ?{type_filter}"
        )
        with self.read() as conn:
            rows = conn.execute(defaults, params).fetchall()
            rows += conn.execute(datasets, params).fetchall()
        summaries: dict[str, AttributeSummary] = {}
        holders: dict[str, set[int]] = {}
        for rid, types_text, iri, attr_type in rows:
            summary = summaries.get(iri)
            if summary is None:
                summary = summaries[iri] = AttributeSummary(iri)
            holders.setdefault(iri, set()).add(rid)
            if attr_type:
                summary.attribute_types.add(attr_type)
            summary.type_names.update(orjson.loads(types_text))
        for iri, summary in summaries.items():
            summary.count = len(holders[iri])
        return summaries


class _SQLiteTransaction:
    """Writes for one tenant inside an open SQLite transaction."""

    def __init__(self, conn: sqlite3.Connection, tenant: str) -> None:
        self.conn = conn
        self.tenant = tenant
        #: The indexed boxes of the entities read or written in this transaction, as stored
        #: (entity id -> [(attribute IRI, box)]): an update leaves unchanged ones in the R*Tree.
        self._boxes: dict[str, list[tuple[str, tuple[float, ...]]]] = {}

    def get(self, ids: Iterable[str]) -> dict[str, Entity]:
        found = _get(self.conn, self.tenant, ids)
        for eid, entity in found.items():
            self._boxes[eid] = _geo_boxes(entity)
        return found

    def insert(self, entities: list[Entity]) -> None:
        if not entities:
            return
        conn = self.conn
        start = conn.execute("SELECT COALESCE(MAX(rid), 0) FROM entities").fetchone()[0] + 1
        rows = []
        type_rows = []
        geo_rows: list[tuple[Any, ...]] = []
        for rid, entity in enumerate(entities, start):
            types, scope, attrs, datasets = entity_row(entity)
            indexed = self._boxes[entity.id] = _geo_boxes(entity)
            boxes = _geo_rows(rid, indexed)
            geo_rows.extend(boxes)
            rows.append(
                (
                    rid,
                    self.tenant,
                    entity.id,
                    types,
                    scope,
                    entity.created_at,
                    entity.modified_at,
                    attrs,
                    datasets,
                    len(boxes),
                )
            )
            type_rows.extend((rid, self.tenant, t) for t in entity.types)
        try:
            insert_rows(
                conn,
                "INSERT INTO entities(rid, tenant, id, types, scope, created_at, modified_at, "
                "attrs, datasets, geo_slots)",
                rows,
                10,
            )
        except sqlite3.IntegrityError as exc:
            raise InternalError(f"entity insert violated a constraint: {exc}") from exc
        insert_rows(conn, "INSERT INTO entity_types(rid, tenant, type)", type_rows, 3)
        self._insert_geo(geo_rows)

    def update(self, entities: list[Entity]) -> None:
        if not entities:
            return
        conn = self.conn
        stored = self._rids([e.id for e in entities], with_types=True)
        rows = []
        retyped: list[tuple[int]] = []
        type_rows = []
        moved: list[tuple[int, int | None]] = []
        geo_rows: list[tuple[Any, ...]] = []
        for entity in entities:
            rid, slots, old_types = stored[entity.id]
            types, scope, attrs, datasets = entity_row(entity)
            indexed = _geo_boxes(entity)
            before = self._boxes.get(entity.id)
            if before is None or indexed != before or slots != len(before):
                moved.append((rid, slots))  # re-indexed; identical boxes stay in the R*Tree
                geo_rows.extend(_geo_rows(rid, indexed))
            self._boxes[entity.id] = indexed
            rows.append((types, scope, entity.modified_at, attrs, datasets, len(indexed), rid))
            if types != old_types:  # the type rows are rewritten only when the types change
                retyped.append((rid,))
                type_rows.extend((rid, self.tenant, t) for t in entity.types)
        conn.executemany(
            "UPDATE entities SET types = ?, scope = ?, modified_at = ?, attrs = ?, datasets = ?, "
            "geo_slots = ? WHERE rid = ?",
            rows,
        )
        if retyped:
            conn.executemany("DELETE FROM entity_types WHERE rid = ?", retyped)
        insert_rows(conn, "INSERT INTO entity_types(rid, tenant, type)", type_rows, 3)
        self._drop_geo(moved)
        self._insert_geo(geo_rows)

    def delete(self, ids: list[str]) -> None:
        for eid in ids:
            self._boxes.pop(eid, None)
        stored = list(self._rids(ids).values())
        self._drop_geo(stored)
        rids = [(rid,) for rid, _ in stored]
        self.conn.executemany("DELETE FROM entity_types WHERE rid = ?", rids)
        self.conn.executemany("DELETE FROM entities WHERE rid = ?", rids)

    def _rids(self, ids: list[str], *, with_types: bool = False) -> dict[str, Any]:
        """Row id and number of indexed geometries (and with ``with_types`` the stored types
        JSON) of each stored entity named in ``ids``."""
        found: dict[str, Any] = {}
        columns = "rid, id, geo_slots, types" if with_types else "rid, id, geo_slots"
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for rid, eid, slots, *types in self.conn.execute(
                f"SELECT {columns} FROM entities WHERE tenant = ? AND id IN ({marks})",
                [self.tenant, *chunk],
            ):
                found[eid] = (rid, slots, *types)
        return found

    def _drop_geo(self, stored: list[tuple[int, int | None]]) -> None:
        """Remove the R*Tree boxes of entities by id (an R*Tree range on ids would scan)."""
        exact = [((rid << GEO_SLOT_BITS) | slot,) for rid, n in stored if n for slot in range(n)]
        if exact:
            self.conn.executemany("DELETE FROM geo_rtree WHERE gid = ?", exact)
        unknown = [  # rows written before geo_slots was kept
            (rid << GEO_SLOT_BITS, ((rid + 1) << GEO_SLOT_BITS) - 1)
            for rid, n in stored
            if n is None
        ]
        if unknown:
            self.conn.executemany("DELETE FROM geo_rtree WHERE gid BETWEEN ? AND ?", unknown)

    def _insert_geo(self, rows: list[tuple[Any, ...]]) -> None:
        if rows:  # executemany: a multi-row INSERT into the R*Tree module is slower
            self.conn.executemany(
                "INSERT INTO geo_rtree(gid, min_lon, max_lon, min_lat, max_lat, rid, attr) "
                "VALUES (?,?,?,?,?,?,?)",
                rows,
            )


def _geo_boxes(entity: Entity) -> list[tuple[str, tuple[float, ...]]]:
    """(attribute IRI, bounding box) of every GeoProperty instance of an entity, in slot order."""
    boxes = [(iri, geo.bounding_box(geometry)) for iri, geometry in geo_instances(entity)]
    if len(boxes) > GEO_SLOTS:
        raise BadRequestData(f"entity {entity.id} has more than {GEO_SLOTS} GeoProperty instances")
    return boxes


def _geo_rows(rid: int, boxes: list[tuple[str, tuple[float, ...]]]) -> list[tuple[Any, ...]]:
    """R*Tree rows for the boxes of an entity: the box id is derived from the entity's row id
    (``rid << GEO_SLOT_BITS | slot``), so its boxes are found without a lookup."""
    return [
        ((rid << GEO_SLOT_BITS) | slot, *box, rid, iri) for slot, (iri, box) in enumerate(boxes)
    ]


def _get(conn: sqlite3.Connection, tenant: str, ids: Iterable[str]) -> dict[str, Entity]:
    id_list = list(dict.fromkeys(ids))
    found: dict[str, Entity] = {}
    for start in range(0, len(id_list), _CHUNK):
        chunk = id_list[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(
            f"SELECT {_COLUMNS} FROM entities e WHERE e.tenant = ? AND e.id IN ({marks})",
            [tenant, *chunk],
        ):
            entity = row_entity(row)
            found[entity.id] = entity
    return found


def _where(tenant: str, flt: EntityFilter) -> tuple[str, list[Any]]:
    clauses = ["e.tenant = ?"]
    params: list[Any] = [tenant]
    if flt.ids is not None:
        clauses.append(f"e.id IN ({','.join('?' * len(flt.ids))})")
        params.extend(flt.ids)
    if flt.id_pattern is not None:
        clauses.append("e.id REGEXP ?")
        params.append(flt.id_pattern)
    # With a q filter the scan is driven by the entities in row order (so LIMIT stops early) and
    # the type is checked per row; otherwise the type index drives the scan.
    scan = flt.q is not None and flt.geo is None
    if flt.types is not None and not scan:
        clauses.append(_types_sql(tenant, flt.types, params))
    if flt.selectors is not None:
        alternatives = []
        for selector in flt.selectors:
            parts = ["1"]
            if selector.id is not None:
                parts.append("e.id = ?")
                params.append(selector.id)
            if selector.id_pattern is not None:
                parts.append("e.id REGEXP ?")
                params.append(selector.id_pattern)
            if selector.types is not None:
                parts.append(_types_sql(tenant, selector.types, params))
            alternatives.append("(" + " AND ".join(parts) + ")")
        clauses.append("(" + " OR ".join(alternatives) + ")")
    if flt.attrs_any is not None:
        has = []
        for iri in sorted(flt.attrs_any):
            path = json_path(iri)
            has.append(
                f"json_type(e.attrs, '{_sql_str(path)}') IS NOT NULL OR (e.datasets IS NOT NULL "
                f"AND json_type(e.datasets, '{_sql_str(path)}') IS NOT NULL)"
            )
        clauses.append("(" + " OR ".join(has) + ")")
    if flt.q is not None:
        assert flt.expand is not None
        sql, q_params = compile_q(flt.q, flt.expand)
        clauses.append(f"({sql})")
        params.extend(q_params)
        if flt.types is not None and scan:
            clauses.append(_types_sql(tenant, flt.types, params, per_row=True))
    if flt.geo is not None:
        box = flt.geo.prefilter_box()
        sub = "SELECT r.rid FROM geo_rtree r WHERE r.attr = ?"
        sub_params: list[Any] = [flt.geoproperty]
        if box is not None:
            sub += " AND r.max_lon >= ? AND r.min_lon <= ? AND r.max_lat >= ? AND r.min_lat <= ?"
            sub_params += [box[0], box[1], box[2], box[3]]
        clauses.append(f"e.rid IN ({sub})")
        params.extend(sub_params)
    return " AND ".join(clauses), params


def _types_sql(
    tenant: str, types: TypeSelection, params: list[Any], *, per_row: bool = False
) -> str:
    """SQL for a type selection in disjunctive normal form; appends its parameters.

    ``per_row`` checks each candidate row with a primary-key probe instead of listing every
    entity of the type first (better when another filter drives the scan).
    """
    test = (
        "EXISTS (SELECT 1 FROM entity_types t WHERE t.tenant = ? AND t.type = ? AND t.rid = e.rid)"
        if per_row
        else "e.rid IN (SELECT rid FROM entity_types WHERE tenant = ? AND type = ?)"
    )
    alternatives = []
    for conjunction in types:
        alternatives.append("(" + " AND ".join(test for _ in conjunction) + ")")
        for type_iri in sorted(conjunction):
            params.extend((tenant, type_iri))
    return "(" + " OR ".join(alternatives) + ")"


def _sql_str(text: str) -> str:
    return text.replace("'", "''")


def _geo_query(
    conn: sqlite3.Connection,
    where: str,
    params: list[Any],
    flt: EntityFilter,
    *,
    limit: int,
    offset: int,
    count: bool,
) -> QueryPage:
    """Geo-queries: R*Tree prefilter in SQL, then the exact predicate on each candidate."""
    assert flt.geo is not None and flt.geoproperty is not None
    path = _sql_str(json_path(flt.geoproperty))
    rows = conn.execute(
        f"SELECT e.rid, json_extract(e.attrs, '{path}.value'), "
        f"CASE WHEN e.datasets IS NULL THEN NULL ELSE json_extract(e.datasets, '{path}') END "
        f"FROM entities e WHERE {where} ORDER BY e.rid",
        params,
    ).fetchall()
    near = flt.geo.georel == "near"
    hits: list[tuple[float, int]] = []
    for rid, default_geometry, dataset_text in rows:
        geometries = []
        if default_geometry is not None:
            geometries.append(orjson.loads(default_geometry))
        if dataset_text is not None:
            geometries.extend(i["value"] for i in orjson.loads(dataset_text))
        matching = [g for g in geometries if flt.geo.matches(g)]
        if matching:
            distance = min(flt.geo.distance_m_to(g) for g in matching) if near else 0.0
            hits.append((distance, rid))
    if near:
        hits.sort()
    page_rids = [rid for _, rid in hits[offset : offset + limit]] if limit > 0 else []
    entities: list[Entity] = []
    if page_rids:
        marks = ",".join("?" * len(page_rids))
        by_rid = {
            row[0]: row_entity(row)
            for row in conn.execute(
                f"SELECT {_COLUMNS} FROM entities e WHERE e.rid IN ({marks})", page_rids
            )
        }
        entities = [by_rid[r] for r in page_rids if r in by_rid]
    return QueryPage(entities, len(hits) if count else None)
