"""The payment port of MaaS bookings: an interface and an in-memory implementation.

Bookings pay through :class:`PaymentPort`; the ledger's local currency plugs in later by
implementing the same two methods. :class:`InMemoryPayments` keeps balances in a dict (for
tests, demos and cities without a ledger); amounts are whole KRW.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import Protocol

from cityos.core.errors import CITYOS_PROBLEM_BASE, CityOSError


class PaymentDeclined(CityOSError):
    """The payment was refused (unknown account, insufficient balance, bad amount)."""

    type_uri = CITYOS_PROBLEM_BASE + "PaymentDeclined"
    title = "Payment declined"
    status = 402


@dataclass(frozen=True)
class Receipt:
    """A completed charge: receipt id, account, amount [KRW], reference."""

    id: str
    account: str
    amount_krw: int
    reference: str


class PaymentPort(Protocol):
    """Charges and refunds in whole KRW."""

    def charge(self, account: str, amount_krw: int, reference: str) -> Receipt: ...

    def refund(self, receipt: Receipt) -> None: ...


class InMemoryPayments:
    """Balances held in memory; thread-safe. With ``opening_balance``, an unknown account is
    opened with it on first use (demo deployments); without, it is declined."""

    def __init__(
        self, balances: dict[str, int] | None = None, opening_balance: int | None = None
    ) -> None:
        self.balances = dict(balances or {})
        self.opening_balance = opening_balance
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def charge(self, account: str, amount_krw: int, reference: str) -> Receipt:
        if not isinstance(amount_krw, int) or amount_krw < 0:
            raise PaymentDeclined(f"amount must be whole KRW >= 0, got {amount_krw!r}")
        with self._lock:
            if account not in self.balances and self.opening_balance is not None:
                self.balances[account] = self.opening_balance
            if account not in self.balances:
                raise PaymentDeclined(f"unknown account {account!r}")
            if self.balances[account] < amount_krw:
                raise PaymentDeclined(
                    f"account {account!r} holds {self.balances[account]} KRW; {amount_krw} needed"
                )
            self.balances[account] -= amount_krw
            return Receipt(f"rcpt-{next(self._ids):06d}", account, amount_krw, reference)

    def refund(self, receipt: Receipt) -> None:
        with self._lock:
            self.balances[receipt.account] = (
                self.balances.get(receipt.account, 0) + receipt.amount_krw
            )
