"""Amounts: exact decimal parsing into integer minor units, and what is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityos.ledger._errors import LedgerError
from cityos.ledger.canonical import canonical_json, parse_canonical
from cityos.ledger.money import MAX_AMOUNT, InvalidAmount, format_amount, parse_amount


@given(st.integers(1, MAX_AMOUNT))
def test_format_and_parse_round_trip(minor):
    text = format_amount(minor)
    assert parse_amount(text) == minor
    assert Decimal(text) * 100 == minor  # the naive decimal reading agrees


@given(st.integers(0, 10**9), st.integers(0, 99), st.integers(0, 5))
def test_trailing_zeros_are_exact(whole, cents, zeros):
    if whole == 0 and cents == 0:
        return
    text = f"{whole}.{cents:02d}" + "0" * zeros
    assert parse_amount(text) == whole * 100 + cents


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0",
        "0.00",
        "-1",
        "+1",
        "1.001",
        "0.005",
        "1e3",
        "1,000",
        " 1",
        "1.",
        ".5",
        "01",
        "NaN",
        "Infinity",
        "\uff11\uff12",  # full-width digits
        str(MAX_AMOUNT),
    ],
)
def test_refused_amount_texts(text):
    with pytest.raises(InvalidAmount):
        parse_amount(text)


@given(
    st.dictionaries(
        st.text(max_size=5),
        st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=8) | st.booleans() | st.none(),
        max_size=6,
    )
)
def test_canonical_json_round_trips(value):
    data = canonical_json(value)
    assert parse_canonical(data) == value


def test_canonical_json_refuses_floats_big_integers_and_non_canonical_text():
    for bad in ({"a": 1.5}, {"a": 2**53}, {1: "x"}, {"a": {1, 2}}):
        with pytest.raises(LedgerError):
            canonical_json(bad)
    for text in (b'{"b":1,"a":2}', b'{"a": 1}', b"[1]", b"\xff", b'{"a":1.0}'):
        with pytest.raises(LedgerError):
            parse_canonical(text)
