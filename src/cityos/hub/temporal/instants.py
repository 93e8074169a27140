"""Instants on the history's time axis: integer microseconds since the Unix epoch (UTC).

Integers keep range conditions, ordering and bucket arithmetic exact in every backend; the text form
is ISO 8601 UTC with milliseconds (microseconds only when the instant has them), as the rest of the
hub writes timestamps (:func:`cityos.core.timeutil.isoformat`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cityos.core.errors import BadRequestData
from cityos.core.timeutil import parse_datetime

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_CACHE: dict[str, int] = {}
_TEXT: dict[int, str] = {}
_CACHE_SIZE = 16384


def datetime_to_us(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    return (moment - EPOCH) // ONE_US


def us_to_datetime(us: int) -> datetime:
    """The aware UTC datetime ``us`` microseconds after the epoch."""
    return EPOCH + timedelta(microseconds=us)


def to_us(text: str) -> int:
    """Microseconds since the epoch of an ISO 8601 date-time (cached: timestamps repeat).

    Raises
    ------
    ValueError
        If ``text`` is not an ISO 8601 date-time.
    """
    found = _CACHE.get(text)
    if found is None:
        found = datetime_to_us(parse_datetime(text))
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[text] = found
    return found


def from_us(us: int) -> str:
    """ISO 8601 UTC text of an instant: milliseconds, or microseconds when it has them."""
    found = _TEXT.get(us)
    if found is None:
        moment = _NAIVE_EPOCH + timedelta(microseconds=us)
        spec = "milliseconds" if us % 1000 == 0 else "microseconds"
        found = moment.isoformat(timespec=spec) + "Z"
        if len(_TEXT) >= _CACHE_SIZE:
            _TEXT.clear()
        _TEXT[us] = found
    return found


def parse_instant(text: object, name: str) -> int:
    """A request parameter holding an ISO 8601 date-time, as microseconds (§4.11).

    Raises
    ------
    BadRequestData
        Naming the parameter, if ``text`` is not a date-time with a time part.
    """
    if not isinstance(text, str) or not text:
        raise BadRequestData(f"'{name}' must be an ISO 8601 date-time")
    try:
        return to_us(text)
    except (ValueError, OverflowError):
        raise BadRequestData(
            f"'{name}' is not an ISO 8601 date-time: {text!r} (e.g. 2026-01-01T00:00:00Z)"
        ) from None
