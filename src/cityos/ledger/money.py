"""Amounts of the local currency: integers of minor units, never floats.

One Sejong coin (``SJC``) is 100 minor units. Amounts in messages and tables are positive integers
of minor units; text such as ``"12.50"`` is parsed exactly (decimal digits, at most two after the
point), so no rounding ever happens.
"""

from __future__ import annotations

import re

from cityos.ledger._errors import LedgerError

CURRENCY = "SJC"
DECIMALS = 2
MINOR_PER_UNIT = 10**DECIMALS
MAX_AMOUNT = 10**15
"""Largest amount of one transaction [minor units] (well inside the I-JSON integer range)."""

_DECIMAL = re.compile(r"(0|[1-9][0-9]{0,15})(?:\.([0-9]{1,18}))?")


class InvalidAmount(LedgerError):
    """An amount is negative, zero, fractional beyond the currency's precision, or too large."""

    title = "Invalid amount"
    status = 400


def check_amount(value: object) -> int:
    """A positive integer amount of minor units, at most :data:`MAX_AMOUNT`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAmount(
            f"amount must be an integer number of minor units (1 {CURRENCY} = "
            f"{MINOR_PER_UNIT}), got {value!r}"
        )
    if value <= 0:
        raise InvalidAmount(f"amount must be positive, got {value}")
    if value > MAX_AMOUNT:
        raise InvalidAmount(f"amount {value} exceeds the maximum of {MAX_AMOUNT} minor units")
    return value


def parse_amount(text: str) -> int:
    """Minor units of a decimal amount such as ``"12.5"`` (1250) or ``"3"`` (300).

    Raises
    ------
    InvalidAmount
        For signs, exponents, spaces, more than :data:`DECIMALS` significant fractional digits,
        zero, or amounts beyond :data:`MAX_AMOUNT`.
    """
    if not isinstance(text, str):
        raise InvalidAmount(f"amount text must be a string, got {type(text).__name__}")
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise InvalidAmount(f"{text!r} is not a plain decimal amount (digits, optional '.')")
    whole, frac = match.group(1), match.group(2) or ""
    if len(frac.rstrip("0")) > DECIMALS:
        raise InvalidAmount(f"{text!r} has more than {DECIMALS} decimals ({CURRENCY} precision)")
    frac = frac[:DECIMALS].ljust(DECIMALS, "0")
    return check_amount(int(whole) * MINOR_PER_UNIT + int(frac))


def format_amount(minor: int) -> str:
    """Decimal text of an amount of minor units (``1250`` -> ``"12.50"``)."""
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), MINOR_PER_UNIT)
    return f"{sign}{whole}.{frac:0{DECIMALS}d}"
