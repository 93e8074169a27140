"""k-anonymity with l-diversity by Mondrian multidimensional partitioning.

Mondrian (LeFevre, DeWitt, Ramakrishnan, "Mondrian Multidimensional k-Anonymity", ICDE 2006)
splits the records recursively at the median of the quasi-identifier with the widest normalised
range, as long as both halves stay *allowable*: at least ``k`` records and at least ``l``
distinct sensitive values (distinct l-diversity, Machanavajjhala et al., ICDE 2006). Each final
partition is released with its quasi-identifiers generalised to the partition's extent: a numeric
one to ``[min, max]``, a categorical one to the sorted list of its values. Other attributes are
dropped; the sensitive one is kept as is.

:func:`verify` checks k and l on a release itself, so a caller never has to trust the algorithm.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True)
class Release:
    """A k-anonymous, l-diverse release and what :func:`verify` measured on it."""

    records: list[dict[str, Any]]
    k: int
    l: int  # noqa: E741  (the name of the parameter in the literature)
    partitions: int
    min_group: int
    min_distinct: int


def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def anonymise(
    records: Sequence[dict[str, Any]],
    quasi_identifiers: Sequence[str],
    sensitive: str,
    k: int,
    l: int = 1,  # noqa: E741
) -> Release:
    """Generalise ``records`` so every combination of quasi-identifier values is shared by at
    least ``k`` records holding at least ``l`` distinct ``sensitive`` values.

    Raises
    ------
    ValueError
        For k < 2 or l < 1, no quasi-identifier, a record missing one of the attributes or holding
        null, or a dataset that cannot satisfy k and l at all (fewer than k records, fewer than l
        distinct sensitive values).
    """
    if k < 2:
        raise ValueError("k must be at least 2")
    if l < 1:
        raise ValueError("l must be at least 1")
    qis = list(dict.fromkeys(quasi_identifiers))
    if not qis:
        raise ValueError("name at least one quasi-identifier")
    if sensitive in qis:
        raise ValueError("the sensitive attribute cannot be a quasi-identifier")
    for n, record in enumerate(records):
        missing = [a for a in (*qis, sensitive) if record.get(a) is None]
        if missing:
            raise ValueError(f"record {n} has no value for {', '.join(missing)}")
    if len(records) < k:
        raise ValueError(f"{len(records)} records cannot be {k}-anonymous")
    if len({_key(r[sensitive]) for r in records}) < l:
        raise ValueError(f"the records hold fewer than {l} distinct {sensitive!r} values")

    numeric = {q: _numeric([r[q] for r in records]) for q in qis}
    codes: dict[str, dict[str, int]] = {}
    for q in qis:
        if not numeric[q]:
            ordered = sorted({_key(r[q]) for r in records})
            codes[q] = {v: i for i, v in enumerate(ordered)}
    points = [
        tuple(float(r[q]) if numeric[q] else float(codes[q][_key(r[q])]) for q in qis)
        for r in records
    ]
    labels = [_key(r[sensitive]) for r in records]
    spans = [max(p[d] for p in points) - min(p[d] for p in points) or 1.0 for d in range(len(qis))]

    def allowable(part: list[int]) -> bool:
        return len(part) >= k and len({labels[i] for i in part}) >= l

    partitions: list[list[int]] = []
    stack = [list(range(len(records)))]
    while stack:
        part = stack.pop()
        halves = _split(part, points, spans, allowable)
        if halves is None:
            partitions.append(part)
        else:
            stack.extend(halves)

    released: list[dict[str, Any]] = []
    for part in partitions:
        general: dict[str, Any] = {}
        for q in qis:
            if numeric[q]:
                values = [records[i][q] for i in part]
                general[q] = [min(values), max(values)]
            else:
                general[q] = sorted({_key(records[i][q]) for i in part})
        for i in part:
            released.append({**general, sensitive: records[i][sensitive]})
    _shuffle(released)
    checked = verify(released, qis, sensitive)
    if checked[0] < k or checked[1] < l:  # pragma: no cover - a bug, never a data condition
        raise AssertionError(f"release is only {checked[0]}-anonymous, {checked[1]}-diverse")
    return Release(released, k, l, len(partitions), checked[0], checked[1])


def _split(
    part: list[int], points: list[tuple[float, ...]], spans: list[float], allowable: Any
) -> tuple[list[int], list[int]] | None:
    """Split ``part`` at a median, widest normalised dimension first; None if no cut is
    allowable."""
    dims = len(spans)
    extent = [
        (max(points[i][d] for i in part) - min(points[i][d] for i in part)) / spans[d]
        for d in range(dims)
    ]
    for d in sorted(range(dims), key=lambda x: -extent[x]):
        if extent[d] == 0:
            break
        values = sorted(points[i][d] for i in part)
        median = values[len(values) // 2]
        for left_of in (lambda v, m=median: v < m, lambda v, m=median: v <= m):
            left = [i for i in part if left_of(points[i][d])]
            right = [i for i in part if not left_of(points[i][d])]
            if left and right and allowable(left) and allowable(right):
                return left, right
    return None


def _key(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _shuffle(items: list[Any]) -> None:
    """Fisher-Yates with the OS generator: the release order reveals nothing of the input's."""
    for i in range(len(items) - 1, 0, -1):
        j = secrets.randbelow(i + 1)
        items[i], items[j] = items[j], items[i]


def verify(
    released: Sequence[dict[str, Any]], quasi_identifiers: Sequence[str], sensitive: str
) -> tuple[int, int]:
    """(smallest equivalence class, fewest distinct sensitive values in a class) of a release:
    it is k-anonymous and l-diverse for every k and l up to these."""
    groups: dict[str, list[str]] = {}
    for record in released:
        key = orjson.dumps([record[q] for q in quasi_identifiers]).decode()
        groups.setdefault(key, []).append(_key(record[sensitive]))
    if not groups:
        return 0, 0
    return min(len(g) for g in groups.values()), min(len(set(g)) for g in groups.values())
