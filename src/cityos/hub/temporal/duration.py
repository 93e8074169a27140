"""ISO 8601 durations for ``aggrPeriodDuration`` (ETSI GS CIM 009 §4.5.19, §6.3.18).

``P[n]Y[n]M[n]W[n]DT[n]H[n]M[n]S``: every number is a non-negative integer except the seconds,
which may have a fraction. A duration is split into a calendar part (months; a year is twelve) and
an exact part (microseconds; a day is 24 hours, as in UTC). A zero duration (``PT0S``, ``P0D``)
means one aggregation period spanning the whole time range of the query.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from cityos.core.errors import BadRequestData
from cityos.hub.temporal.instants import datetime_to_us, us_to_datetime

_DURATION_RE = re.compile(
    r"P(?:(?P<Y>\d+)Y)?(?:(?P<MO>\d+)M)?(?:(?P<W>\d+)W)?(?:(?P<D>\d+)D)?"
    r"(?:T(?:(?P<H>\d+)H)?(?:(?P<MI>\d+)M)?(?:(?P<S>\d+(?:[.,]\d{1,6})?)S)?)?"
)
_US = {"W": 7 * 86_400_000_000, "D": 86_400_000_000, "H": 3_600_000_000, "MI": 60_000_000}
#: Durations longer than this many years are refused (nothing in a history spans them).
MAX_YEARS = 10_000


@dataclass(frozen=True)
class Duration:
    """A parsed ISO 8601 duration.

    Attributes
    ----------
    text
        The duration as written.
    months
        The calendar part [months].
    micros
        The exact part [µs].
    """

    text: str
    months: int
    micros: int

    @property
    def is_zero(self) -> bool:
        """Whether the duration is zero (one period over the whole time range)."""
        return self.months == 0 and self.micros == 0

    @property
    def is_calendar(self) -> bool:
        """Whether the periods follow the calendar (years or months), not a fixed length."""
        return self.months != 0

    def shift(self, origin_us: int, count: int) -> int:
        """The instant ``count`` durations after ``origin_us`` (before it when negative) [µs].

        Months are added on the calendar: the day of the month is kept, or clamped to the last
        day of a shorter month (January 31 plus one month is February 28 or 29).
        """
        if not self.months:
            return origin_us + count * self.micros
        moment = add_months(us_to_datetime(origin_us), count * self.months)
        return datetime_to_us(moment) + count * self.micros


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus ``months`` calendar months, the day clamped to the month's length."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise BadRequestData("the aggregation periods reach beyond the years 1-9999")
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def parse_duration(text: object, name: str = "aggrPeriodDuration") -> Duration:
    """Parse an ISO 8601 duration.

    Raises
    ------
    BadRequestData
        Naming the parameter, for anything but ``P[n]Y[n]M[n]W[n]DT[n]H[n]M[n]S`` with at least
        one component (``P``, ``PT``, ``1H``, ``PT-1H`` and ``P1H`` are all refused).
    """
    if not isinstance(text, str):
        raise BadRequestData(f"'{name}' must be an ISO 8601 duration such as PT1H or P1D")
    match = _DURATION_RE.fullmatch(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise BadRequestData(
            f"'{name}' is not an ISO 8601 duration: {text!r} "
            "(use P[n]Y[n]M[n]W[n]DT[n]H[n]M[n]S, e.g. PT1H, P1D, P1M)"
        )
    parts = match.groupdict()
    if all(value is None for value in parts.values()):
        raise BadRequestData(f"'{name}' has no component: {text!r}")
    years = int(parts["Y"] or 0)
    months = years * 12 + int(parts["MO"] or 0)
    micros = sum(int(parts[key] or 0) * factor for key, factor in _US.items())
    if parts["S"] is not None:
        micros += int(Decimal(parts["S"].replace(",", ".")) * 1_000_000)
    if months > MAX_YEARS * 12 or micros > timedelta(days=MAX_YEARS * 366) // timedelta(
        microseconds=1
    ):
        raise BadRequestData(f"'{name}' is longer than {MAX_YEARS} years: {text!r}")
    return Duration(text=text, months=months, micros=micros)
