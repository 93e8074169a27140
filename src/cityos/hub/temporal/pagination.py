"""Partial temporal results: at most N instances per attribute, and ``Content-Range`` (§6.3.10).

When an attribute has more instances in the requested time range than the instance limit
(``CITYOS_TEMPORAL_MAX_INSTANCES``), the answer is ``206 Partial Content`` with
``Content-Range: date-time <start>-<end>/<size>``:

* oldest first (no ``lastN``): ``start`` is ``timeAt`` (or the oldest instant returned) and
  ``end`` the first instant *not* returned; every instance in ``[start, end)`` was returned, so the
  next page is ``timerel=between&timeAt=<end>&endTimeAt=...`` (or ``after``). ``size`` is ``*``.
* newest first (``lastN`` above the limit): ``start`` is the query's upper bound (``endTimeAt`` or
  ``before``'s ``timeAt``, else the newest instant returned) and ``end`` the oldest instant
  returned; the next page is ``timerel=before&timeAt=<end>``. ``size`` is ``lastN``.

The page never splits the instances of one instant, and one range holds for the whole answer: the
attributes cut earliest decide it, and the others are trimmed to it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from cityos.hub.temporal.instants import from_us
from cityos.hub.temporal.records import TimeWindow

Row = TypeVar("Row")


@dataclass(frozen=True)
class ContentRange:
    """The time range of a partial temporal answer [µs], and its size (``lastN`` or unknown)."""

    start: int
    end: int
    size: int | None = None

    def header(self) -> str:
        """The ``Content-Range`` header value."""
        size = "*" if self.size is None else str(self.size)
        return f"date-time {from_us(self.start)}-{from_us(self.end)}/{size}"


def fetch_size(limit: int, last_n: int | None) -> int:
    """How many rows per attribute to read: ``lastN`` when within the limit, else one more than
    the limit (to know whether there are more)."""
    if last_n is not None and last_n <= limit:
        return last_n
    return limit + 1


def paginate(
    fetched: dict[Hashable, list[Any]],
    *,
    limit: int,
    last_n: int | None,
    window: TimeWindow,
    at_instant: Callable[[Hashable, int], list[Any]] | None = None,
) -> tuple[dict[Hashable, list[Any]], ContentRange | None]:
    """Cut rows fetched with :func:`fetch_size` (each with a ``time``) to one page.

    Parameters
    ----------
    fetched
        Key -> rows, oldest first, or newest first when ``last_n`` is given.
    at_instant
        Reads every row of a key at one instant, for the rare instant with more rows than the
        limit (None: keep the rows fetched at that instant).

    Returns
    -------
    The rows per key, oldest first, and the range when the answer is partial.
    """
    newest_first = last_n is not None
    pageable = last_n is None or last_n > limit
    cuts: list[int] = []
    kept: dict[Hashable, list[Any]] = {}
    for key, rows in fetched.items():
        if pageable and len(rows) > limit:
            edge = rows[limit].time
            if newest_first:
                page = [r for r in rows[:limit] if r.time > edge]
                cut = page[-1].time if page else edge
            else:
                page = [r for r in rows[:limit] if r.time < edge]
                cut = edge if page else edge + 1
            if not page:
                page = (
                    at_instant(key, edge)
                    if at_instant is not None
                    else [r for r in rows if r.time == edge]
                )
            cuts.append(cut)
            rows = page
        kept[key] = rows
    if not cuts:
        return {k: _ascending(v, newest_first) for k, v in kept.items()}, None
    if newest_first:
        low = max(cuts)
        kept = {k: [r for r in v if r.time >= low] for k, v in kept.items()}
        times = [r.time for v in kept.values() for r in v]
        high = window.end if window.end is not None else max(times, default=low)
        content = ContentRange(high, low, last_n)
    else:
        end = min(cuts)
        kept = {k: [r for r in v if r.time < end] for k, v in kept.items()}
        times = [r.time for v in kept.values() for r in v]
        start = window.start if window.start is not None else min(times, default=end)
        content = ContentRange(start, end, None)
    return {k: _ascending(v, newest_first) for k, v in kept.items()}, content


def _ascending(rows: list[Row], newest_first: bool) -> list[Row]:
    return sorted(rows, key=_order) if newest_first else rows


def _order(row: Any) -> tuple[int, int]:
    return row.time, getattr(row, "instance_id", getattr(row, "bucket", 0))
