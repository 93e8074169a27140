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
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson
import psycopg

from cityos.hub.temporal.aggregation import BucketPlan
from cityos.hub.temporal.instants import datetime_to_us, us_to_datetime
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
#: timeproperty -> (time column, extra condition)
_TIME_SQL = {
    "observedAt": ("observed", " AND observed IS NOT NULL"),
    "createdAt": ("created", " AND NOT deleted"),
    "modifiedAt": ("modified", ""),
    "deletedAt": ("modified", " AND deleted"),
}
_STRING = (
    "CASE WHEN num IS NULL AND jsonb_typeof(body -> 'value') = 'string' THEN body ->> 'value' END"
)
#: Each method as SQL columns; :func:`_result` turns them into the value SQLite would give.
_AGGREGATES: dict[str, tuple[str, ...]] = {
    "totalCount": ("count(*)",),
    "distinctCount": (
        "count(DISTINCT CASE WHEN num IS NOT NULL THEN to_jsonb(num) "
        "ELSE NULLIF(body -> 'value', 'null'::jsonb) END)",
    ),
    "sum": ("sum(num)", "bool_or(num_float)"),
    "avg": ("avg(num)",),
    "min": ("min(num)", f'min(({_STRING}) COLLATE "C")'),
    "max": ("max(num)", f'max(({_STRING}) COLLATE "C")'),
    "sumsq": ("sum(num * num)", "bool_or(num_float)"),
    "stddev": ("var_samp(num)",),
}
_WIDTH = {method: len(columns) for method, columns in _AGGREGATES.items()}
_PARTITION_LOCK = 0x43495461


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _number(value: int | float | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _decoded(value: Decimal | None, as_float: bool) -> int | float | None:
    if value is None:
        return None
    if as_float or value.as_tuple().exponent < 0:  # type: ignore[operator]
        return float(value)
    return int(value)


def _result(method: str, columns: Sequence[Any]) -> Any:
    """The value of ``method`` from its SQL columns, typed as SQLite returns it."""
    if method in ("totalCount", "distinctCount"):
        return columns[0]
    if method in ("avg", "stddev"):
        return float(columns[0]) if columns[0] is not None else None
    if method in ("sum", "sumsq"):
        return _decoded(columns[0], bool(columns[1]))
    number, text = columns
    if method == "min":  # SQLite orders numbers before text
        return _decoded(number, False) if number is not None else text
    return text if text is not None else _decoded(number, False)


def _month(us: int) -> tuple[int, int]:
    moment = us_to_datetime(us)
    return moment.year, moment.month


def partition_name(year: int, month: int) -> str:
    """The partition of ``temporal_instances`` holding the instances recorded in that month."""
    return f"temporal_instances_y{year:04d}m{month:02d}"


def _month_bounds(year: int, month: int) -> tuple[int, int]:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return datetime_to_us(start), datetime_to_us(end)


def ensure_partitions(conn: psycopg.Connection[Any], instants: Iterable[int]) -> None:
    """Create the monthly partitions that rows recorded at ``instants`` [µs] fall in.

    Runs in the caller's transaction; creators of one month take turns (an advisory lock), and
    the new table is attached, which blocks no reader or writer of the other partitions.
    """
    months = sorted({_month(us) for us in instants})
    names = [partition_name(y, m) for y, m in months]
    missing = {
        row[0]
        for row in conn.execute(
            "SELECT n FROM unnest(%s::text[]) AS n WHERE to_regclass(n) IS NULL", (names,)
        )
    }
    for (year, month), name in zip(months, names, strict=True):
        if name not in missing:
            continue
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_PARTITION_LOCK, year * 12 + month))
        if conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is not None:  # type: ignore[index]
            continue
        low, high = _month_bounds(year, month)
        conn.execute(f"CREATE TABLE {name} (LIKE temporal_instances INCLUDING DEFAULTS)")
        conn.execute(
            f"ALTER TABLE temporal_instances ATTACH PARTITION {name} "
            f"FOR VALUES FROM ({low}) TO ({high})"
        )


def bucket_sql(plan: BucketPlan, column: str) -> str:
    """An SQL expression numbering the period of ``plan`` that holds ``column`` [µs]: floor
    division for fixed periods, a balanced tree of comparisons for calendar ones (integers only,
    so the result is exact; see :mod:`cityos.hub.temporal.aggregation`)."""
    if plan.kind == "whole":
        return "0"
    if plan.kind == "fixed":
        origin, step = int(plan.origin), int(plan.step)
        return f"floor(({column} - {origin}::bigint)::numeric / {step})::bigint"
    bounds = [int(b) for b in plan.bounds]

    def tree(low: int, high: int) -> str:
        if high - low <= 1:
            return str(plan.first + low)
        middle = (low + high) // 2
        return (
            f"(CASE WHEN {column} < {bounds[middle]} THEN {tree(low, middle)} "
            f"ELSE {tree(middle, high)} END)"
        )

    return tree(0, len(bounds) - 1)


def _window_sql(window: TimeWindow, params: list[Any]) -> tuple[str, str]:
    """The time column of ``window`` and its conditions (appending parameters)."""
    column, condition = _TIME_SQL[window.timeproperty]
    if window.start is not None:
        condition += f" AND {column} >= %s"
        params.append(window.start)
    if window.end is not None:
        condition += f" AND {column} < %s"
        params.append(window.end)
    return column, condition


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
                "FROM unnest(%s::text[], %s::jsonb[], %s::bigint[]) WITH ORDINALITY "
                "AS u(id, types, deleted, n) ORDER BY u.n "
                "ON CONFLICT (tenant, id) DO UPDATE SET types = excluded.types, "
                "deleted_at = excluded.deleted_at WHERE temporal_entities.types IS DISTINCT FROM "
                "excluded.types OR temporal_entities.deleted_at IS DISTINCT FROM "
                "excluded.deleted_at",
                (
                    tx.tenant,
                    [m.entity_id for m in marks],
                    [_dumps(m.types) for m in marks],
                    [m.deleted_at for m in marks],
                ),
            )
        if not records:
            return
        teids = _teids(conn, tx.tenant, {r.entity_id for r in records})
        nids = _intern(conn, {r.attr for r in records})
        ensure_partitions(conn, (r.modified for r in records))
        conn.execute(
            "INSERT INTO temporal_instances (teid, nid, dataset, observed, created, modified, "
            "deleted, num, num_float, body) SELECT u.teid, u.nid, u.dataset, u.observed, u.created, "
            "u.modified, u.deleted, u.num, u.num_float, u.body FROM unnest(%s::bigint[], %s::int[], "
            "%s::text[], %s::bigint[], %s::bigint[], %s::bigint[], %s::boolean[], "
            "%s::numeric[], %s::boolean[], %s::jsonb[]) WITH ORDINALITY "
            "AS u(teid, nid, dataset, observed, created, modified, deleted, num, num_float, "
            "body, n) ORDER BY u.n",
            (
                [teids[r.entity_id] for r in records],
                [nids[r.attr] for r in records],
                [r.dataset_id for r in records],
                [r.observed for r in records],
                [r.created for r in records],
                [r.modified for r in records],
                [bool(r.deleted) for r in records],
                [_number(r.number) for r in records],
                [isinstance(r.number, float) for r in records],
                [_dumps(r.body) for r in records],
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
                low, high = _month_bounds(year, month)
                if low >= before:
                    break
                with conn.transaction():
                    total += _purge_partition(conn, name, tenant, before, high <= before)
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
                column, condition = _window_sql(window, params)
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
            column, condition = _window_sql(window, params)
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
            sql, params = _aggregate_sql(list(by_ids), window, plan, methods, limit, newest_first)
            for row in conn.execute(sql, params):
                teid, nid, dataset, bucket = row[:4]
                values: dict[str, Any] = {}
                at = 4
                for method in methods:
                    values[method] = _result(method, row[at : at + _WIDTH[method]])
                    at += _WIDTH[method]
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


def _aggregate_sql(
    pairs: list[tuple[int, int]],
    window: TimeWindow,
    plan: BucketPlan,
    methods: Sequence[str],
    limit: int | None,
    newest_first: bool,
) -> tuple[str, list[Any]]:
    params: list[Any] = [[p[0] for p in pairs], [p[1] for p in pairs]]
    column, condition = _window_sql(window, params)
    expressions = [sql for m in methods for sql in _AGGREGATES[m]]
    aliased = ", ".join(f"{sql} AS a{i}" for i, sql in enumerate(expressions))
    outputs = ", ".join(f"a{i}" for i in range(len(expressions)))
    order = "DESC" if newest_first else "ASC"
    selected = (
        "SELECT teid, nid, dataset, coalesce(dataset, '') AS ds, num, num_float, body, "
        f"{bucket_sql(plan, column)} AS k FROM temporal_instances "
        "WHERE (teid, nid) IN (SELECT * FROM unnest(%s::bigint[], %s::int[])) "
        f"AND NOT deleted{condition}"
    )
    grouped = (
        f"SELECT teid, nid, dataset, ds, k, {aliased}, row_number() OVER (PARTITION BY teid, nid "
        f'ORDER BY k {order}, ds COLLATE "C") AS rn FROM ({selected}) AS sel '
        "GROUP BY teid, nid, dataset, ds, k"
    )
    sql = f"SELECT teid, nid, dataset, k, {outputs} FROM ({grouped}) AS g"
    if limit is not None:
        sql += " WHERE rn <= %s"
        params.append(limit)
    return sql + f' ORDER BY teid, nid, k {order}, ds COLLATE "C"', params


def _purge_partition(
    conn: psycopg.Connection[Any], name: str, tenant: str, before: int, whole: bool
) -> int:
    owned = "SELECT teid FROM temporal_entities WHERE tenant = %s"
    if whole:
        conn.execute(f"LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE")
        foreign = conn.execute(
            f"SELECT 1 FROM {name} WHERE teid NOT IN ({owned}) LIMIT 1", (tenant,)
        ).fetchone()
        if foreign is None:
            (count,) = conn.execute(f"SELECT count(*) FROM {name}").fetchone()  # type: ignore[misc]
            conn.execute(f"ALTER TABLE temporal_instances DETACH PARTITION {name}")
            conn.execute(f"DROP TABLE {name}")
            return count
    return conn.execute(
        f"DELETE FROM {name} WHERE modified < %s AND teid IN ({owned})", (before, tenant)
    ).rowcount


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
