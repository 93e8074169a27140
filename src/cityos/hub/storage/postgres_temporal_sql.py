"""SQL of the PostgreSQL temporal store (:mod:`cityos.hub.storage.postgres_temporal`): time
windows, aggregation periods and queries, and the monthly partitions of ``temporal_instances``.

Aggregations follow the SQLite store's results exactly in type: ``num`` is ``numeric`` (integers
exact, floats as their shortest decimal) with ``num_float`` marking floats, so ``sum``, ``sumsq``,
``min`` and ``max`` come back as integers when SQLite's would, ``min`` prefers numbers and ``max``
strings (SQLite orders numbers before text), and ``stddev`` is the sample variance
(``var_samp``), whose square root :func:`cityos.hub.temporal.aggregation.finish` takes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg

from cityos.hub.temporal.aggregation import BucketPlan
from cityos.hub.temporal.instants import datetime_to_us, us_to_datetime
from cityos.hub.temporal.records import TimeWindow

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
WIDTH = {method: len(columns) for method, columns in _AGGREGATES.items()}
_PARTITION_LOCK = 0x43495461


def _decoded(value: Decimal | None, as_float: bool) -> int | float | None:
    if value is None:
        return None
    if as_float or value.as_tuple().exponent < 0:  # type: ignore[operator]
        return float(value)
    return int(value)


def aggregate_result(method: str, columns: Sequence[Any]) -> Any:
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


def month_bounds(year: int, month: int) -> tuple[int, int]:
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
        low, high = month_bounds(year, month)
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


def window_sql(window: TimeWindow, params: list[Any]) -> tuple[str, str]:
    """The time column of ``window`` and its conditions (appending parameters)."""
    column, condition = _TIME_SQL[window.timeproperty]
    if window.start is not None:
        condition += f" AND {column} >= %s"
        params.append(window.start)
    if window.end is not None:
        condition += f" AND {column} < %s"
        params.append(window.end)
    return column, condition


def aggregate_sql(
    pairs: list[tuple[int, int]],
    window: TimeWindow,
    plan: BucketPlan,
    methods: Sequence[str],
    limit: int | None,
    newest_first: bool,
) -> tuple[str, list[Any]]:
    """The aggregation query over the ``(teid, nid)`` ``pairs``: one row per pair, datasetId and
    period, at most ``limit`` periods per pair, with the columns of each method in turn."""
    params: list[Any] = [[p[0] for p in pairs], [p[1] for p in pairs]]
    column, condition = window_sql(window, params)
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


def purge_partition(
    conn: psycopg.Connection[Any], name: str, tenant: str, before: int, whole: bool
) -> int:
    """Delete ``tenant``'s rows of partition ``name`` recorded before ``before`` [µs]; drop the
    partition instead when it is ``whole``-ly older and holds no other tenant's rows."""
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
