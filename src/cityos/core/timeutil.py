"""Time helpers: one clock and one ISO 8601 format for the whole system."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def isoformat(moment: datetime) -> str:
    """Format as ISO 8601 UTC with milliseconds and a ``Z`` suffix (as NGSI-LD brokers do)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now_iso() -> str:
    """The current time as an ISO 8601 UTC string."""
    return isoformat(utcnow())


def parse_datetime(text: str) -> datetime:
    """Parse an ISO 8601 date-time; a missing offset means UTC.

    Raises
    ------
    ValueError
        If ``text`` is not an ISO 8601 date-time.
    """
    if not isinstance(text, str) or "T" not in text:
        raise ValueError(f"not an ISO 8601 date-time: {text!r}")
    value = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment
