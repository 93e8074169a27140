"""The temporal query parameters (ETSI GS CIM 009 §4.11, §5.7.3, §5.7.4, §6.3.18), validated.

``timerel`` (``before``, ``after``, ``between``) with ``timeAt`` and, for ``between``,
``endTimeAt``; ``timeproperty``; ``lastN``; and the representation: normalized temporal (default),
simplified (``temporalValues``) or aggregated (``aggregatedValues`` with ``aggrMethods`` and
``aggrPeriodDuration``). Intervals are half-open: ``before`` is ``t < timeAt``, ``after`` is
``t >= timeAt``, ``between`` is ``timeAt <= t < endTimeAt``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cityos.core.errors import BadRequestData
from cityos.hub.temporal.aggregation import parse_methods
from cityos.hub.temporal.duration import Duration, parse_duration
from cityos.hub.temporal.instants import parse_instant
from cityos.hub.temporal.records import TIME_PROPERTIES, TimeWindow

Representation = Literal["normalized", "temporalValues", "aggregatedValues"]
TIMERELS = ("before", "after", "between")
_REPRESENTATIONS = ("normalized", "temporalValues", "aggregatedValues")
#: ``options`` values a temporal request accepts.
TEMPORAL_OPTIONS = frozenset({"sysAttrs", "count", *_REPRESENTATIONS})


@dataclass(frozen=True)
class TemporalQuery:
    """The temporal part of a request.

    Attributes
    ----------
    timerel, time_at, end_time_at
        The temporal relationship and its instants [µs] (None: the whole history).
    timeproperty
        ``observedAt`` (default), ``createdAt``, ``modifiedAt`` or ``deletedAt``.
    last_n
        Only the last N instances (or periods) of each attribute, or None.
    representation
        ``normalized``, ``temporalValues`` or ``aggregatedValues``.
    aggr_methods, aggr_period
        The aggregation methods and period (None: the whole time range).
    sys_attrs
        Include ``createdAt`` and ``modifiedAt`` (``options=sysAttrs``).
    """

    timerel: str | None = None
    time_at: int | None = None
    end_time_at: int | None = None
    timeproperty: str = "observedAt"
    last_n: int | None = None
    representation: Representation = "normalized"
    aggr_methods: tuple[str, ...] = ()
    aggr_period: Duration | None = None
    sys_attrs: bool = False

    @property
    def window(self) -> TimeWindow:
        """The half-open time range the query selects."""
        if self.timerel == "before":
            return TimeWindow(self.timeproperty, None, self.time_at)
        if self.timerel == "after":
            return TimeWindow(self.timeproperty, self.time_at, None)
        if self.timerel == "between":
            return TimeWindow(self.timeproperty, self.time_at, self.end_time_at)
        return TimeWindow(self.timeproperty)


def make_temporal_query(
    *,
    timerel: Any = None,
    time_at: Any = None,
    end_time_at: Any = None,
    timeproperty: Any = None,
    last_n: Any = None,
    representation: Any = None,
    aggr_methods: Any = None,
    aggr_period: Any = None,
    sys_attrs: bool = False,
) -> TemporalQuery:
    """Validate temporal query parameters as a client wrote them (strings, or JSON values from a
    POSTed ``temporalQ``).

    Raises
    ------
    BadRequestData
        With the parameter's name, for a malformed instant or duration, ``timerel`` without
        ``timeAt`` (or the reverse), ``between`` without ``endTimeAt`` or with an ``endTimeAt``
        not after ``timeAt``, an unknown ``timerel``, ``timeproperty`` or aggregation method,
        ``lastN`` that is not a positive integer, and aggregation parameters without the
        aggregated representation (or that representation without ``aggrMethods``).
    """
    if timerel is not None and timerel not in TIMERELS:
        raise BadRequestData(f"'timerel' must be one of {', '.join(TIMERELS)}, not {timerel!r}")
    if timerel is None and time_at is not None:
        raise BadRequestData("'timeAt' needs 'timerel' (before, after or between)")
    if timerel is not None and time_at is None:
        raise BadRequestData(f"'timerel={timerel}' needs 'timeAt'")
    start = parse_instant(time_at, "timeAt") if time_at is not None else None
    end = None
    if timerel == "between":
        if end_time_at is None:
            raise BadRequestData("'timerel=between' needs 'endTimeAt'")
        end = parse_instant(end_time_at, "endTimeAt")
        assert start is not None
        if end <= start:
            raise BadRequestData("'endTimeAt' must be after 'timeAt'")
    elif end_time_at is not None:
        parse_instant(end_time_at, "endTimeAt")
        raise BadRequestData("'endTimeAt' is only allowed with 'timerel=between'")
    prop = "observedAt" if timeproperty is None else timeproperty
    if prop not in TIME_PROPERTIES:
        raise BadRequestData(
            f"'timeproperty' must be one of {', '.join(TIME_PROPERTIES)}, not {prop!r}"
        )
    rep = representation or "normalized"
    if rep not in _REPRESENTATIONS:
        raise BadRequestData(f"unknown temporal representation {rep!r}")
    methods: tuple[str, ...] = ()
    period = None
    if rep == "aggregatedValues":
        if aggr_methods is None:
            raise BadRequestData("the aggregated representation needs 'aggrMethods'")
        methods = parse_methods(aggr_methods)
        if aggr_period is not None:
            period = parse_duration(aggr_period)
    elif aggr_methods is not None or aggr_period is not None:
        name = "aggrMethods" if aggr_methods is not None else "aggrPeriodDuration"
        raise BadRequestData(
            f"'{name}' needs the aggregated representation "
            "(options=aggregatedValues or format=aggregatedValues)"
        )
    return TemporalQuery(
        timerel=timerel,
        time_at=start,
        end_time_at=end,
        timeproperty=prop,
        last_n=_positive(last_n),
        representation=rep,
        aggr_methods=methods,
        aggr_period=period,
        sys_attrs=sys_attrs,
    )


def _positive(raw: Any) -> int | None:
    if raw is None:
        return None
    if type(raw) is int:
        value = raw
    elif isinstance(raw, str) and raw.isascii() and raw.isdigit():
        value = int(raw)
    else:
        raise BadRequestData(f"'lastN' must be a positive integer, not {raw!r}")
    if value < 1:
        raise BadRequestData(f"'lastN' must be a positive integer, not {raw!r}")
    return value


def temporal_options(params: Mapping[str, str]) -> tuple[set[str], Representation]:
    """``options`` and ``format`` of a temporal request: the options, and the representation."""
    raw = params.get("options")
    options: set[str] = set()
    if raw is not None:
        options = {item.strip() for item in raw.split(",")}
        if "" in options:
            raise BadRequestData("'options' must be a comma-separated list without empty items")
        unknown = options - TEMPORAL_OPTIONS
        if unknown:
            raise BadRequestData(
                f"unknown option(s) for a temporal request: {', '.join(sorted(unknown))}"
            )
    chosen = {o for o in options if o in _REPRESENTATIONS}
    if "format" in params:
        if params["format"] not in _REPRESENTATIONS:
            raise BadRequestData(
                f"unknown format {params['format']!r}; use {', '.join(_REPRESENTATIONS)}"
            )
        chosen.add(params["format"])
    if len(chosen) > 1:
        raise BadRequestData("'options' and 'format' name more than one representation")
    rep: Representation = chosen.pop() if chosen else "normalized"  # type: ignore[assignment]
    return options, rep


def temporal_query_from_params(params: Mapping[str, str]) -> TemporalQuery:
    """The temporal query of a GET request's URL parameters."""
    options, rep = temporal_options(params)
    return make_temporal_query(
        timerel=params.get("timerel"),
        time_at=params.get("timeAt"),
        end_time_at=params.get("endTimeAt"),
        timeproperty=params.get("timeproperty"),
        last_n=params.get("lastN"),
        representation=rep,
        aggr_methods=params.get("aggrMethods"),
        aggr_period=params.get("aggrPeriodDuration"),
        sys_attrs="sysAttrs" in options,
    )
