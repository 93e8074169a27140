"""Aggregation methods and periods of the aggregated temporal representation (§4.5.19, §5.7.3).

The history is grouped by attribute instance and by period, and each requested method is computed
per group *in the store's SQL*. Periods are numbered from an origin ``O`` (the query's ``timeAt``,
else the oldest selected instance): period ``k`` covers ``[start(k), start(k + 1))``.

* A fixed-length duration ``D`` (weeks, days, hours, minutes, seconds) gives
  ``k = floor((t - O) / D)``, plain integer arithmetic on microseconds;
* a calendar duration (with years or months) gives periods of unequal length: their starts are
  computed here over the data's time range and the store finds ``k`` with a balanced tree of
  comparisons (``log2`` of the number of periods per instance);
* no duration, or a zero one, gives one period per attribute instance over the whole range.

A period's end is clipped to the end of the query's time range. Empty periods are not listed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cityos.core.errors import BadRequestData
from cityos.hub.temporal.duration import Duration
from cityos.hub.temporal.records import TimeWindow

#: The aggregation methods of §4.5.19, in the order the spec lists them.
AGGR_METHODS: tuple[str, ...] = (
    "totalCount",
    "distinctCount",
    "sum",
    "avg",
    "min",
    "max",
    "stddev",
    "sumsq",
)
#: Most calendar periods one query may span (P1M over 800 years).
MAX_CALENDAR_PERIODS = 10_000


def parse_methods(raw: str | Sequence[Any]) -> tuple[str, ...]:
    """Validate ``aggrMethods`` (a comma-separated string or an array), without repeats.

    Raises
    ------
    BadRequestData
        For an empty list or an unknown method, naming the known ones.
    """
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    methods: list[str] = []
    for item in items:
        name = item.strip() if isinstance(item, str) else item
        if name not in AGGR_METHODS:
            raise BadRequestData(
                f"unknown aggregation method {name!r} in 'aggrMethods'; "
                f"use {', '.join(AGGR_METHODS)}"
            )
        if name not in methods:
            methods.append(name)
    if not methods:
        raise BadRequestData("'aggrMethods' is empty")
    return tuple(methods)


@dataclass(frozen=True)
class BucketPlan:
    """How instants map to aggregation periods.

    Attributes
    ----------
    kind
        ``whole`` (one period), ``fixed`` (``step`` µs each) or ``calendar`` (``bounds``).
    origin
        The start of period 0 [µs].
    step
        The length of a fixed period [µs].
    bounds
        Calendar periods ``first .. first + len(bounds) - 2``: period ``first + i`` covers
        ``[bounds[i], bounds[i + 1])`` [µs].
    first
        The number of the first calendar period.
    start_at, end_at
        The time range of the query (or of the data, where the query leaves it open): the whole
        period's bounds, and the clip for the last period's end [µs].
    """

    kind: Literal["whole", "fixed", "calendar"]
    origin: int
    step: int = 0
    bounds: tuple[int, ...] = ()
    first: int = 0
    start_at: int | None = None
    end_at: int | None = None

    def start(self, bucket: int) -> int:
        """The start of period ``bucket`` [µs]."""
        if self.kind == "fixed":
            return self.origin + bucket * self.step
        if self.kind == "calendar":
            return self.bounds[bucket - self.first]
        return self.start_at if self.start_at is not None else self.origin

    def end(self, bucket: int) -> int:
        """The end of period ``bucket``, clipped to the query's range [µs]."""
        if self.kind == "fixed":
            end = self.start(bucket) + self.step
        elif self.kind == "calendar":
            end = self.bounds[bucket - self.first + 1]
        else:
            return self.end_at if self.end_at is not None else self.origin
        return min(end, self.end_at) if self.end_at is not None else end


def needs_data_range(duration: Duration | None, window: TimeWindow) -> bool:
    """Whether :func:`plan_buckets` needs the oldest and newest selected instants."""
    if duration is None or duration.is_zero:
        return window.start is None or window.end is None
    return duration.is_calendar or (window.start is None and window.end is None)


def plan_buckets(
    duration: Duration | None,
    window: TimeWindow,
    data_first: int | None,
    data_last: int | None,
) -> BucketPlan:
    """The periods of an aggregation over ``window``.

    Parameters
    ----------
    duration
        ``aggrPeriodDuration`` (None or zero: the whole range).
    window
        The query's time range. Its ``start`` (``timeAt`` of ``after`` and ``between``) is the
        origin of the periods; for ``before`` its ``end`` is, and the periods count back from it.
    data_first, data_last
        The oldest and newest instants of the selected instances [µs] (None when there are none).
    """
    if duration is None or duration.is_zero:
        start = window.start if window.start is not None else data_first
        end = window.end if window.end is not None else data_last
        origin = start if start is not None else 0
        return BucketPlan("whole", origin, start_at=start, end_at=end)
    if window.start is not None:
        origin = window.start
    elif window.end is not None:
        origin = window.end
    else:
        origin = data_first if data_first is not None else 0
    if not duration.is_calendar:
        return BucketPlan("fixed", origin, step=duration.micros, end_at=window.end)
    low = window.start if window.start is not None else data_first
    high = window.end - 1 if window.end is not None else data_last
    if low is None or high is None:
        return BucketPlan("calendar", origin, bounds=(origin, duration.shift(origin, 1)))
    first = 0
    while duration.shift(origin, first) > low:
        first -= 1
        _check_count(-first)
    bounds = [duration.shift(origin, first)]
    while bounds[-1] <= high:
        bounds.append(duration.shift(origin, first + len(bounds)))
        _check_count(len(bounds))
    return BucketPlan("calendar", origin, bounds=tuple(bounds), first=first, end_at=window.end)


def _check_count(count: int) -> None:
    if count > MAX_CALENDAR_PERIODS:
        raise BadRequestData(
            f"'aggrPeriodDuration' makes more than {MAX_CALENDAR_PERIODS} periods over the "
            "time range; use a longer duration or a shorter range"
        )


def finish(method: str, value: Any) -> Any:
    """The final result of a method from the store's aggregate (``stddev``: the square root of
    the sample variance the store computed)."""
    if value is None:
        return None
    if method == "stddev":
        return math.sqrt(max(value, 0.0))
    return value
