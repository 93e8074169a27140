"""The temporal store (:mod:`cityos.hub.temporal.store`) of the SQLite backend.

Three tables (schema version 3, :mod:`cityos.hub.storage.sqlite_schema`):

* ``temporal_names`` interns attribute IRIs as small integers (``nid``), so history rows and their
  index keys stay short;
* ``temporal_entities`` is the registry of entities with history (``teid``), per tenant, with their
  latest types and deletion time: history outlives the entity;
* ``temporal_instances`` holds one row per recorded attribute instance: ``(teid, nid, dataset)``,
  the instants ``observed``, ``created`` and ``modified`` as integer microseconds since the epoch
  (exact, compact, and plain integer arithmetic for aggregation periods), ``deleted``, ``num`` (the
  value when it is a number, for aggregations) and ``body``, the packed instance as JSON.

Indexes: ``(teid, nid, observed)`` (partial: rows that have ``observedAt``) and ``(teid, nid,
modified)`` answer per-attribute time ranges, ``lastN`` and the list of an entity's attributes.
Rows are appended with ``executemany`` inside the entity's transaction, so ``iid`` (AUTOINCREMENT,
never reused; the instance id) follows the recording order: tenant-wide age queries (retention)
are ranges of the primary key, found by bisection on ``modified``, and need no index of their own
(every row in the range is still checked against its ``modified`` and tenant).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from cityos.hub.storage.sqlite_rows import insert_rows
from cityos.hub.storage.sqlite_temporal_sql import aggregate_sql, window_sql
from cityos.hub.temporal.aggregation import BucketPlan
from cityos.hub.temporal.records import (
    AggregateRow,
    EntityMark,
    HistoryEntity,
    InstanceRecord,
    StoredInstance,
    TimeWindow,
)
from cityos.hub.temporal.store import ALL_DATASETS, Key

if TYPE_CHECKING:
    import sqlite3

    from cityos.hub.storage.sqlite import SQLiteStorage

_CHUNK = 400
_PURGE_CHUNK = 20_000
_COLUMNS = "iid, dataset, observed, created, modified, deleted, body"


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class SQLiteTemporalStore:
    """History of attribute instances in the hub's SQLite file."""

    def __init__(self, storage: SQLiteStorage) -> None:
        self._storage = storage
        self._names: dict[int, str] = {}  # committed nid -> IRI, filled by reads only

    # -- writes (inside the entity transaction) ---------------------------------------------
    def record(
        self, tx: Any, marks: Sequence[EntityMark], records: Sequence[InstanceRecord]
    ) -> None:
        conn: sqlite3.Connection = tx.conn
        tenant = tx.tenant
        teids: dict[str, int] = {}
        if marks:  # the registry rows inserted or changed come back with their teid
            teids.update(
                insert_rows(
                    conn,
                    "INSERT INTO temporal_entities(tenant, id, types, deleted_at)",
                    [(tenant, m.entity_id, _dumps(m.types), m.deleted_at) for m in marks],
                    4,
                    tail="ON CONFLICT (tenant, id) DO UPDATE SET types = excluded.types, "
                    "deleted_at = excluded.deleted_at WHERE types IS NOT excluded.types "
                    "OR deleted_at IS NOT excluded.deleted_at RETURNING id, teid",
                )
            )
        if not records:
            return
        unknown = {r.entity_id for r in records if r.entity_id not in teids}
        if unknown:
            teids.update(_teids(conn, tenant, unknown))
        nids = _intern(conn, {r.attr for r in records})
        dumps = orjson.dumps
        insert_rows(
            conn,
            "INSERT INTO temporal_instances(teid, nid, dataset, observed, created, modified, "
            "deleted, num, body)",
            [
                (
                    teids[eid],
                    nids[attr],
                    dataset,
                    observed,
                    created,
                    modified,
                    deleted,
                    num,
                    dumps(body).decode(),
                )
                for eid, attr, dataset, body, observed, created, modified, deleted, num in records
            ],
            9,
        )

    def replace_instance(
        self,
        tx: Any,
        entity_id: str,
        attr: str,
        instance_id: int,
        body: dict[str, Any],
        observed: int | None,
        modified: int,
        number: int | float | None,
    ) -> bool:
        key = _key_ids(tx.conn, tx.tenant, entity_id, attr)
        if key is None:
            return False
        cur = tx.conn.execute(
            "UPDATE temporal_instances SET body = ?, observed = coalesce(?, observed), "
            "modified = ?, num = ? WHERE iid = ? AND teid = ? AND nid = ? AND deleted = 0",
            (_dumps(body), observed, modified, number, instance_id, *key),
        )
        return cur.rowcount > 0

    def delete(
        self,
        tx: Any,
        entity_id: str,
        attr: str | None = None,
        *,
        dataset: str | None = ALL_DATASETS,
        instance_id: int | None = None,
    ) -> int:
        conn: sqlite3.Connection = tx.conn
        teid = _teids(conn, tx.tenant, [entity_id]).get(entity_id)
        if teid is None:
            return 0
        if attr is None:
            count = conn.execute("DELETE FROM temporal_instances WHERE teid = ?", (teid,)).rowcount
            conn.execute("DELETE FROM temporal_entities WHERE teid = ?", (teid,))
            return count
        row = conn.execute("SELECT nid FROM temporal_names WHERE iri = ?", (attr,)).fetchone()
        if row is None:
            return 0
        sql = "DELETE FROM temporal_instances WHERE teid = ? AND nid = ?"
        params: list[Any] = [teid, row[0]]
        if instance_id is not None:
            sql += " AND iid = ?"
            params.append(instance_id)
        elif dataset != ALL_DATASETS:
            sql += " AND dataset IS ?"
            params.append(dataset)
        return conn.execute(sql, params).rowcount

    def purge(self, tenant: str, before: int) -> int:
        with self._storage.read() as conn:
            cutoff = _first_iid_at(conn, before)
        total = 0
        last = 0
        while cutoff is not None and last < cutoff:
            with self._storage.write() as conn:
                upper = conn.execute(
                    "SELECT max(iid) FROM (SELECT iid FROM temporal_instances "
                    "WHERE iid > ? AND iid < ? ORDER BY iid LIMIT ?)",
                    (last, cutoff, _PURGE_CHUNK),
                ).fetchone()[0]
                if upper is None:
                    break
                total += conn.execute(
                    "DELETE FROM temporal_instances WHERE iid > ? AND iid <= ? AND modified < ? "
                    "AND teid IN (SELECT teid FROM temporal_entities WHERE tenant = ?)",
                    (last, upper, before, tenant),
                ).rowcount
            last = upper
        with self._storage.write() as conn:
            conn.execute(
                "DELETE FROM temporal_entities WHERE tenant = ? AND deleted_at IS NOT NULL "
                "AND NOT EXISTS (SELECT 1 FROM temporal_instances i "
                "WHERE i.teid = temporal_entities.teid)",
                (tenant,),
            )
        return total

    # -- reads --------------------------------------------------------------------------------
    def entities(
        self, tenant: str, ids: Iterable[str] | None = None, *, deleted_only: bool = False
    ) -> dict[str, HistoryEntity]:
        sql = "SELECT id, types, deleted_at FROM temporal_entities WHERE tenant = ?"
        if deleted_only:
            sql += " AND deleted_at IS NOT NULL"
        found: dict[str, HistoryEntity] = {}
        with self._storage.read() as conn:
            if ids is None:
                rows = conn.execute(sql + " ORDER BY teid", (tenant,)).fetchall()
            else:
                id_list = list(dict.fromkeys(ids))
                rows = []
                for start in range(0, len(id_list), _CHUNK):
                    chunk = id_list[start : start + _CHUNK]
                    rows += conn.execute(
                        sql + f" AND id IN ({','.join('?' * len(chunk))})", [tenant, *chunk]
                    ).fetchall()
        for eid, types, deleted_at in rows:
            found[eid] = HistoryEntity(eid, orjson.loads(types), deleted_at)
        return found

    def attributes(self, tenant: str, entity_ids: Iterable[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        with self._storage.read() as conn:
            for eid, teid in _teids(conn, tenant, list(entity_ids)).items():
                nids = [
                    r[0]
                    for r in conn.execute(
                        "WITH RECURSIVE a(nid) AS (SELECT (SELECT min(nid) FROM "
                        "temporal_instances WHERE teid = ?1) UNION ALL SELECT (SELECT min(nid) "
                        "FROM temporal_instances WHERE teid = ?1 AND nid > a.nid) FROM a "
                        "WHERE a.nid IS NOT NULL) SELECT nid FROM a WHERE nid IS NOT NULL",
                        (teid,),
                    )
                ]
                out[eid] = [self._name(conn, nid) for nid in nids]
        return out

    def instances(
        self,
        tenant: str,
        keys: Sequence[Key],
        window: TimeWindow,
        *,
        limit: int | None,
        newest_first: bool = False,
    ) -> dict[Key, list[StoredInstance]]:
        order = "DESC" if newest_first else "ASC"
        out: dict[Key, list[StoredInstance]] = {key: [] for key in keys}
        with self._storage.read() as conn:
            ids = self._key_map(conn, tenant, keys)
            for key, (teid, nid) in ids.items():
                params: list[Any] = [teid, nid]
                column, condition = window_sql(window, params)
                sql = (
                    f"SELECT {_COLUMNS}, {column} FROM temporal_instances "
                    f"WHERE teid = ? AND nid = ?{condition} ORDER BY {column} {order}, iid {order}"
                )
                if limit is not None:
                    sql += " LIMIT ?"
                    params.append(limit)
                out[key] = [
                    StoredInstance(iid, ds, orjson.loads(body), obs, cre, mod, bool(dl), t)
                    for iid, ds, obs, cre, mod, dl, body, t in conn.execute(sql, params)
                ]
        return out

    def time_range(
        self, tenant: str, keys: Sequence[Key], window: TimeWindow
    ) -> tuple[int | None, int | None]:
        first: int | None = None
        last: int | None = None
        with self._storage.read() as conn:
            pairs = list(self._key_map(conn, tenant, keys).values())
            for start in range(0, len(pairs), _CHUNK):
                chunk = pairs[start : start + _CHUNK]
                params: list[Any] = [v for pair in chunk for v in pair]
                column, condition = window_sql(window, params)
                values = ",".join("(?,?)" for _ in chunk)
                low, high = conn.execute(
                    f"SELECT min({column}), max({column}) FROM temporal_instances "
                    f"WHERE (teid, nid) IN (VALUES {values}){condition}",
                    params,
                ).fetchone()
                if low is not None:
                    first = low if first is None else min(first, low)
                    last = high if last is None else max(last, high)
        return first, last

    def aggregate(
        self,
        tenant: str,
        keys: Sequence[Key],
        window: TimeWindow,
        plan: BucketPlan,
        methods: Sequence[str],
        *,
        limit: int | None,
        newest_first: bool = False,
    ) -> dict[Key, list[AggregateRow]]:
        out: dict[Key, list[AggregateRow]] = {key: [] for key in keys}
        with self._storage.read() as conn:
            ids = self._key_map(conn, tenant, keys)
            by_ids = {pair: key for key, pair in ids.items()}
            pairs = list(by_ids)
            for start in range(0, len(pairs), _CHUNK):
                chunk = pairs[start : start + _CHUNK]
                sql, params = aggregate_sql(chunk, window, plan, methods, limit, newest_first)
                start = plan.start
                for teid, nid, dataset, bucket, *results in conn.execute(sql, params):
                    out[by_ids[(teid, nid)]].append(
                        AggregateRow(
                            dataset, bucket, start(bucket), dict(zip(methods, results, strict=True))
                        )
                    )
        return out

    # -- ids ----------------------------------------------------------------------------------
    def _name(self, conn: sqlite3.Connection, nid: int) -> str:
        name = self._names.get(nid)
        if name is None:
            name = conn.execute("SELECT iri FROM temporal_names WHERE nid = ?", (nid,)).fetchone()[
                0
            ]
            self._names[nid] = name
        return name

    def _key_map(
        self, conn: sqlite3.Connection, tenant: str, keys: Sequence[Key]
    ) -> dict[Key, tuple[int, int]]:
        """(entity id, attribute IRI) -> (teid, nid), for the keys that have history."""
        teids = _teids(conn, tenant, {eid for eid, _ in keys})
        iris = list({attr for _, attr in keys})
        nids: dict[str, int] = {}
        for start in range(0, len(iris), _CHUNK):
            chunk = iris[start : start + _CHUNK]
            for nid, iri in conn.execute(
                f"SELECT nid, iri FROM temporal_names WHERE iri IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                nids[iri] = nid
        return {
            (eid, attr): (teids[eid], nids[attr])
            for eid, attr in keys
            if eid in teids and attr in nids
        }


def _first_iid_at(conn: sqlite3.Connection, moment: int) -> int | None:
    """The first instance id recorded at or after ``moment`` (one past the last if none), by
    bisection over the recording order; None when the history is empty."""
    low, high = conn.execute("SELECT min(iid), max(iid) FROM temporal_instances").fetchone()
    if low is None:
        return None
    high += 1
    while low < high:
        middle = (low + high) // 2
        row = conn.execute(
            "SELECT iid, modified FROM temporal_instances WHERE iid >= ? ORDER BY iid LIMIT 1",
            (middle,),
        ).fetchone()
        if row[1] < moment:
            low = row[0] + 1
        else:
            high = middle
    return low


def _teids(conn: sqlite3.Connection, tenant: str, ids: Iterable[str]) -> dict[str, int]:
    id_list = list(ids)
    found: dict[str, int] = {}
    for start in range(0, len(id_list), _CHUNK):
        chunk = id_list[start : start + _CHUNK]
        for eid, teid in conn.execute(
            "SELECT id, teid FROM temporal_entities WHERE tenant = ? "
            f"AND id IN ({','.join('?' * len(chunk))})",
            [tenant, *chunk],
        ):
            found[eid] = teid
    return found


def _intern(conn: sqlite3.Connection, iris: set[str]) -> dict[str, int]:
    """IRI -> nid, adding the IRIs not yet named (inside the caller's transaction)."""
    names = list(iris)
    conn.executemany("INSERT OR IGNORE INTO temporal_names(iri) VALUES (?)", [(n,) for n in names])
    found: dict[str, int] = {}
    for start in range(0, len(names), _CHUNK):
        chunk = names[start : start + _CHUNK]
        for nid, iri in conn.execute(
            f"SELECT nid, iri FROM temporal_names WHERE iri IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            found[iri] = nid
    return found


def _key_ids(
    conn: sqlite3.Connection, tenant: str, entity_id: str, attr: str
) -> tuple[int, int] | None:
    row = conn.execute(
        "SELECT e.teid, n.nid FROM temporal_entities e, temporal_names n "
        "WHERE e.tenant = ? AND e.id = ? AND n.iri = ?",
        (tenant, entity_id, attr),
    ).fetchone()
    return (row[0], row[1]) if row else None
