"""The temporal store (:mod:`cityos.hub.temporal.store`) of the PostgreSQL backend.

The layout of the SQLite store (:mod:`cityos.hub.storage.sqlite_temporal`): interned attribute
names (``temporal_names``), a registry of entities with history (``temporal_entities``) and one
row per recorded instance (``temporal_instances``), instants as integer microseconds since the
epoch. Differences:

* ``temporal_instances`` is partitioned by range on ``modified`` — the instant the instance was
  recorded (its ``modifiedAt``, or ``deletedAt`` for a deletion), always present and growing with
  time — one partition per calendar month (UTC), named ``temporal_instances_yYYYYmMM``.
  Partitions are created on demand, in the writing transaction, as ordinary tables attached with
  ``ATTACH PARTITION`` (a lock that lets readers and writers of the other partitions go on); the
  partitioned indexes ``(teid, nid, observed)``, ``(teid, nid, modified)`` and ``(iid)`` extend to
  each new partition. Retention (:meth:`PostgresTemporalStore.purge`) deletes month by month, and
  drops a whole partition when only the purged tenant has rows in it.
* ``num`` is ``numeric`` (integers exact, floats by their shortest decimal) and ``num_float``
  remembers which were floats, so ``sum``, ``min`` and ``max`` come back as integers exactly when
  SQLite's would.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson
import psycopg

from cityos.hub.storage.postgres_rows import exact, recordset
from cityos.hub.storage.postgres_temporal_sql import (
    WIDTH,
    aggregate_result,
    aggregate_sql,
    ensure_partitions,
    month_bounds,
    purge_partition,
    window_sql,
)
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
    from cityos.hub.storage.postgres import PostgresStorage

_COLUMNS = "iid, dataset, observed, created, modified, deleted, body::text"


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _number(value: int | float | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


class PostgresTemporalStore:
    """History of attribute instances in the hub's PostgreSQL database."""

    def __init__(self, storage: PostgresStorage) -> None:
        self._storage = storage
        self._names: dict[int, str] = {}  # committed nid -> IRI, filled by reads only

    # -- writes (inside the entity transaction) ---------------------------------------------
    def record(
        self, tx: Any, marks: Sequence[EntityMark], records: Sequence[InstanceRecord]
    ) -> None:
        conn: psycopg.Connection[Any] = tx.conn
        if marks:
            conn.execute(
                "INSERT INTO temporal_entities (tenant, id, types, deleted_at) "
                "SELECT %s, u.id, ARRAY(SELECT jsonb_array_elements_text(u.types)), u.deleted "
                "FROM json_to_recordset(%s::json) "
                "AS u(n int, id text, types jsonb, deleted bigint) ORDER BY u.n "
                "ON CONFLICT (tenant, id) DO UPDATE SET types = excluded.types, "
                "deleted_at = excluded.deleted_at WHERE temporal_entities.types IS DISTINCT FROM "
                "excluded.types OR temporal_entities.deleted_at IS DISTINCT FROM "
                "excluded.deleted_at",
                (
                    tx.tenant,
                    recordset(
                        {"n": n, "id": m.entity_id, "types": m.types, "deleted": m.deleted_at}
                        for n, m in enumerate(marks)
                    ),
                ),
            )
        if not records:
            return
        teids = _teids(conn, tx.tenant, {r.entity_id for r in records})
        nids = _intern(conn, {r.attr for r in records})
        ensure_partitions(conn, (r.modified for r in records))
        conn.execute(
            "INSERT INTO temporal_instances (teid, nid, dataset, observed, created, modified, "
            "deleted, num, num_float, body) SELECT u.teid, u.nid, u.dataset, u.observed, "
            "u.created, u.modified, u.deleted, u.num, u.num_float, u.body "
            "FROM json_to_recordset(%s::json) AS u(n int, teid bigint, nid int, dataset text, "
            "observed bigint, created bigint, modified bigint, deleted boolean, num numeric, "
            "num_float boolean, body jsonb) ORDER BY u.n",
            (
                recordset(
                    {
                        "n": n,
                        "teid": teids[r.entity_id],
                        "nid": nids[r.attr],
                        "dataset": r.dataset_id,
                        "observed": r.observed,
                        "created": r.created,
                        "modified": r.modified,
                        "deleted": bool(r.deleted),
                        "num": exact(r.number),
                        "num_float": isinstance(r.number, float),
                        "body": r.body,
                    }
                    for n, r in enumerate(records)
                ),
            ),
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
        ensure_partitions(tx.conn, [modified])
        cursor = tx.conn.execute(
            "UPDATE temporal_instances SET body = %s::jsonb, observed = coalesce(%s, observed), "
            "modified = %s, num = %s, num_float = %s WHERE iid = %s AND teid = %s AND nid = %s "
            "AND NOT deleted",
            (
                _dumps(body),
                observed,
                modified,
                _number(number),
                isinstance(number, float),
                instance_id,
                *key,
            ),
        )
        return cursor.rowcount > 0

    def delete(
        self,
        tx: Any,
        entity_id: str,
        attr: str | None = None,
        *,
        dataset: str | None = ALL_DATASETS,
        instance_id: int | None = None,
    ) -> int:
        conn: psycopg.Connection[Any] = tx.conn
        teid = _teids(conn, tx.tenant, [entity_id]).get(entity_id)
        if teid is None:
            return 0
        if attr is None:
            count = conn.execute("DELETE FROM temporal_instances WHERE teid = %s", (teid,)).rowcount
            conn.execute("DELETE FROM temporal_entities WHERE teid = %s", (teid,))
            return count
        row = conn.execute("SELECT nid FROM temporal_names WHERE iri = %s", (attr,)).fetchone()
        if row is None:
            return 0
        sql = "DELETE FROM temporal_instances WHERE teid = %s AND nid = %s"
        params: list[Any] = [teid, row[0]]
        if instance_id is not None:
            sql += " AND iid = %s"
            params.append(instance_id)
        elif dataset != ALL_DATASETS:
            sql += " AND dataset IS NOT DISTINCT FROM %s::text"
            params.append(dataset)
        return conn.execute(sql, params).rowcount

    def purge(self, tenant: str, before: int) -> int:
        """Delete ``tenant``'s instances recorded before ``before`` [µs], one month partition
        per transaction; a partition wholly before ``before`` that holds only this tenant's rows
        is dropped instead."""
        total = 0
        with self._storage.read() as conn:
            partitions = conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'temporal_instances'::regclass ORDER BY c.relname"
            ).fetchall()
            for (name,) in partitions:
                year, month = int(name[-7:-3]), int(name[-2:])
                low, high = month_bounds(year, month)
                if low >= before:
                    break
                with conn.transaction():
                    total += purge_partition(conn, name, tenant, before, high <= before)
            conn.execute(
                "DELETE FROM temporal_entities e WHERE tenant = %s AND deleted_at IS NOT NULL "
                "AND NOT EXISTS (SELECT 1 FROM temporal_instances i WHERE i.teid = e.teid)",
                (tenant,),
            )
        return total

    # -- reads --------------------------------------------------------------------------------
    def entities(
        self, tenant: str, ids: Iterable[str] | None = None, *, deleted_only: bool = False
    ) -> dict[str, HistoryEntity]:
        sql = "SELECT id, types, deleted_at FROM temporal_entities WHERE tenant = %s"
        params: list[Any] = [tenant]
        if deleted_only:
            sql += " AND deleted_at IS NOT NULL"
        if ids is not None:
            sql += " AND id = ANY(%s::text[])"
            params.append(list(dict.fromkeys(ids)))
        with self._storage.read() as conn:
            rows = conn.execute(sql + " ORDER BY teid", params).fetchall()
        return {eid: HistoryEntity(eid, list(types), deleted) for eid, types, deleted in rows}

    def attributes(self, tenant: str, entity_ids: Iterable[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        with self._storage.read() as conn:
            for eid, teid in _teids(conn, tenant, list(entity_ids)).items():
                nids = [
                    r[0]
                    for r in conn.execute(
                        "SELECT DISTINCT nid FROM temporal_instances WHERE teid = %s ORDER BY nid",
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
            for key, (teid, nid) in self._key_map(conn, tenant, keys).items():
                params: list[Any] = [teid, nid]
                column, condition = window_sql(window, params)
                sql = (
                    f"SELECT {_COLUMNS}, {column} FROM temporal_instances WHERE teid = %s "
                    f"AND nid = %s{condition} ORDER BY {column} {order}, iid {order}"
                )
                if limit is not None:
                    sql += " LIMIT %s"
                    params.append(limit)
                out[key] = [
                    StoredInstance(iid, ds, orjson.loads(body), obs, cre, mod, dl, t)
                    for iid, ds, obs, cre, mod, dl, body, t in conn.execute(sql, params)
                ]
        return out

    def time_range(
        self, tenant: str, keys: Sequence[Key], window: TimeWindow
    ) -> tuple[int | None, int | None]:
        with self._storage.read() as conn:
            pairs = list(self._key_map(conn, tenant, keys).values())
            if not pairs:
                return None, None
            params: list[Any] = [[p[0] for p in pairs], [p[1] for p in pairs]]
            column, condition = window_sql(window, params)
            row = conn.execute(
                f"SELECT min({column}), max({column}) FROM temporal_instances "
                "WHERE (teid, nid) IN (SELECT * FROM unnest(%s::bigint[], %s::int[]))"
                f"{condition}",
                params,
            ).fetchone()
        assert row is not None
        return row[0], row[1]

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
            by_ids = {pair: key for key, pair in self._key_map(conn, tenant, keys).items()}
            if not by_ids:
                return out
            sql, params = aggregate_sql(list(by_ids), window, plan, methods, limit, newest_first)
            for row in conn.execute(sql, params):
                teid, nid, dataset, bucket = row[:4]
                values: dict[str, Any] = {}
                at = 4
                for method in methods:
                    values[method] = aggregate_result(method, row[at : at + WIDTH[method]])
                    at += WIDTH[method]
                out[by_ids[(teid, nid)]].append(
                    AggregateRow(dataset, bucket, plan.start(bucket), values)
                )
        return out

    # -- ids ----------------------------------------------------------------------------------
    def _name(self, conn: psycopg.Connection[Any], nid: int) -> str:
        name = self._names.get(nid)
        if name is None:
            row = conn.execute("SELECT iri FROM temporal_names WHERE nid = %s", (nid,)).fetchone()
            name = self._names[nid] = row[0]  # type: ignore[index]
        return name

    @staticmethod
    def _key_map(
        conn: psycopg.Connection[Any], tenant: str, keys: Sequence[Key]
    ) -> dict[Key, tuple[int, int]]:
        """(entity id, attribute IRI) -> (teid, nid), for the keys that have history."""
        teids = _teids(conn, tenant, {eid for eid, _ in keys})
        nids = dict(
            conn.execute(
                "SELECT iri, nid FROM temporal_names WHERE iri = ANY(%s::text[])",
                (list({attr for _, attr in keys}),),
            ).fetchall()
        )
        return {
            (eid, attr): (teids[eid], nids[attr])
            for eid, attr in keys
            if eid in teids and attr in nids
        }


def _teids(conn: psycopg.Connection[Any], tenant: str, ids: Iterable[str]) -> dict[str, int]:
    return dict(
        conn.execute(
            "SELECT id, teid FROM temporal_entities WHERE tenant = %s AND id = ANY(%s::text[])",
            (tenant, list(ids)),
        ).fetchall()
    )


def _intern(conn: psycopg.Connection[Any], iris: set[str]) -> dict[str, int]:
    """IRI -> nid, adding the IRIs not yet named (inside the caller's transaction)."""
    names = sorted(iris)
    conn.execute(
        "INSERT INTO temporal_names (iri) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING",
        (names,),
    )
    return dict(
        conn.execute(
            "SELECT iri, nid FROM temporal_names WHERE iri = ANY(%s::text[])", (names,)
        ).fetchall()
    )


def _key_ids(
    conn: psycopg.Connection[Any], tenant: str, entity_id: str, attr: str
) -> tuple[int, int] | None:
    row = conn.execute(
        "SELECT e.teid, n.nid FROM temporal_entities e, temporal_names n "
        "WHERE e.tenant = %s AND e.id = %s AND n.iri = %s",
        (tenant, entity_id, attr),
    ).fetchone()
    return (row[0], row[1]) if row else None
