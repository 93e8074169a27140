"""SQL of the SQLite temporal store (:mod:`cityos.hub.storage.sqlite_temporal`): time windows,
aggregation periods and the aggregation query.

Everything is computed by SQLite: periods are integer arithmetic on microseconds (fixed durations)
or a balanced tree of comparisons (calendar durations), the methods are SQL aggregates grouped by
instance, datasetId and period, and ``row_number()`` keeps the first (or last) periods per
attribute. ``stddev`` is the sample variance from a second pass over the period means (stable for
large values); its square root is taken by :func:`cityos.hub.temporal.aggregation.finish`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cityos.hub.temporal.aggregation import BucketPlan
from cityos.hub.temporal.records import TimeWindow

#: timeproperty -> (time column, extra condition)
_TIME_SQL = {
    "observedAt": ("observed", " AND observed IS NOT NULL"),
    "createdAt": ("created", " AND deleted = 0"),
    "modifiedAt": ("modified", ""),
    "deletedAt": ("modified", " AND deleted = 1"),
}
_VALUE_KEY = (
    "CASE WHEN num IS NOT NULL THEN num WHEN json_type(body, '$.value') = 'text' "
    "THEN json_extract(body, '$.value') END"
)
_AGGREGATES = {
    "totalCount": "count(*)",
    "distinctCount": "count(DISTINCT CASE WHEN num IS NOT NULL THEN num "
    "ELSE json_extract(body, '$.value') END)",
    "sum": "sum(num)",
    "avg": "avg(num)",
    "min": f"min({_VALUE_KEY})",
    "max": f"max({_VALUE_KEY})",
    "sumsq": "sum(num * num)",
    "stddev": "sum((num - mean) * (num - mean)) / (count(num) - 1)",
}


def window_sql(window: TimeWindow, params: list[Any]) -> tuple[str, str]:
    """The time column of ``window`` and its conditions (appending parameters)."""
    column, condition = _TIME_SQL[window.timeproperty]
    if window.start is not None:
        condition += f" AND {column} >= ?"
        params.append(window.start)
    if window.end is not None:
        condition += f" AND {column} < ?"
        params.append(window.end)
    return column, condition


def bucket_sql(plan: BucketPlan, column: str) -> str:
    """An SQL expression numbering the period of ``plan`` that holds ``column`` (integers only,
    so the result is exact; see :mod:`cityos.hub.temporal.aggregation`)."""
    if plan.kind == "whole":
        return "0"
    if plan.kind == "fixed":
        origin, step = int(plan.origin), int(plan.step)
        return (
            f"(CASE WHEN {column} >= {origin} THEN ({column} - {origin}) / {step} "
            f"ELSE -(({origin} - {column} + {step - 1}) / {step}) END)"
        )
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


def aggregate_sql(
    pairs: list[tuple[int, int]],
    window: TimeWindow,
    plan: BucketPlan,
    methods: Sequence[str],
    limit: int | None,
    newest_first: bool,
) -> tuple[str, list[Any]]:
    params: list[Any] = [v for pair in pairs for v in pair]
    column, condition = window_sql(window, params)
    single = len(pairs) == 1
    keys = (
        "teid = ? AND nid = ?"
        if single
        else (f"(teid, nid) IN (VALUES {','.join('(?,?)' for _ in pairs)})")
    )
    selected = (
        f"SELECT teid, nid, dataset, coalesce(dataset, '') AS ds, num, body, "
        f"{bucket_sql(plan, column)} AS k FROM temporal_instances "
        f"WHERE {keys} AND deleted = 0{condition}"
    )
    source = "sel"
    if "stddev" in methods:
        source = (
            "sel JOIN (SELECT teid AS mt, nid AS mn, ds AS md, k AS mk, avg(num) AS mean "
            "FROM sel GROUP BY teid, nid, ds, k) ON mt = teid AND mn = nid AND md = ds "
            "AND mk = k"
        )
    aggregates = ", ".join(f"{_AGGREGATES[m]} AS m{i}" for i, m in enumerate(methods))
    order = "DESC" if newest_first else "ASC"
    outputs = ", ".join(f"m{i}" for i in range(len(methods)))
    grouped = (
        f"WITH sel AS ({selected}), grp AS (SELECT teid, nid, dataset, ds, k, {aggregates} "
        f"FROM {source} GROUP BY teid, nid, k, ds) "
    )
    if single:  # one attribute: a plain LIMIT keeps its first (or last) periods
        sql = grouped + f"SELECT teid, nid, dataset, k, {outputs} FROM grp ORDER BY k {order}, ds"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return sql, params
    sql = grouped + (
        f"SELECT teid, nid, dataset, k, {outputs} FROM (SELECT *, row_number() OVER "
        f"(PARTITION BY teid, nid ORDER BY k {order}, ds) AS rn FROM grp)"
    )
    if limit is not None:
        sql += " WHERE rn <= ?"
        params.append(limit)
    return sql + f" ORDER BY teid, nid, k {order}, ds", params
