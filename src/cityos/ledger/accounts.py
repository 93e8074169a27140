"""The currency's state machine: accounts and the rules every committed message obeys.

:func:`apply` is the one place that decides whether a message may commit and what it changes.
The service runs it on accounts loaded from the database; an auditor runs the very same function
over the log's entries (:mod:`cityos.ledger.replay`) and must arrive at the same balances.

Double entry: each money movement debits one account and credits another by the same amount
(demurrage debits every holder a share of its balance and credits the issuer, taking that money out
of circulation). The
city's issuing account is the counterpart of every issuance, so its balance is minus the money in
circulation and the sum of all balances is always zero (checked on every commit).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from cityos.ledger._errors import LedgerError
from cityos.ledger.messages import PUBLIC_PURPOSES, InvalidMessage, Message
from cityos.ledger.rewards import reward_amount, rule_named


class UnknownAccount(LedgerError):
    """The account does not exist (open it first)."""

    title = "Unknown account"
    status = 404


class AccountExists(LedgerError):
    title = "Account exists"
    status = 409


class InsufficientFunds(LedgerError):
    title = "Insufficient funds"
    status = 409


class ReplayedNonce(LedgerError):
    """A transfer's nonce is not the payer's next one (a replay, or out of order)."""

    title = "Bad nonce"
    status = 409


class SpendingLimit(LedgerError):
    title = "Spending limit exceeded"
    status = 409


class RewardCapReached(LedgerError):
    title = "Reward cap reached"
    status = 409


class IdempotencyConflict(LedgerError):
    """An idempotency key was used before for a different message."""

    title = "Idempotency key reused"
    status = 409


@dataclass(frozen=True)
class Account:
    """An account bound to a DID. ``balance`` [minor units]; ``nonce``: last transfer nonce."""

    did: str
    kind: str
    service_class: str | None
    balance: int
    nonce: int
    daily_limit: int | None
    spent_day: str | None
    spent: int
    """Spent on ``spent_day`` (UTC date) [minor units], for the daily limit."""


class State(Protocol):
    """Where :func:`apply` reads and writes accounts and reward totals."""

    def account(self, did: str) -> Account | None: ...

    def put(self, account: Account) -> None: ...

    def reward_total(self, did: str, rule: str, period: str) -> int: ...

    def add_reward(self, did: str, rule: str, period: str, amount: int) -> None: ...

    def all_accounts(self) -> list[Account]: ...


def issuer_account(did: str) -> Account:
    """The city's issuing account (its balance is minus the money in circulation)."""
    return Account(did, "issuer", "public_good", 0, 0, None, None, 0)


def _need(state: State, did: str) -> Account:
    found = state.account(did)
    if found is None:
        raise UnknownAccount(f"no account for {did}")
    return found


def apply(state: State, message: Message, day: str) -> list[tuple[str, int]]:
    """Check ``message`` against the state and apply it; return its postings (DID, delta).

    Everything is checked before anything is written, so a refused message changes nothing.
    ``day`` is the UTC date (``YYYY-MM-DD``) the message commits on, for daily limits.

    Raises
    ------
    LedgerError
        A subclass naming the rule broken (unknown account, insufficient funds, bad nonce,
        spending limit, reward cap, account exists, public payment to a non-public payee).
    """
    kind = message.type
    if kind == "transfer":
        payer, payee = _need(state, message["payer"]), _need(state, message["payee"])
        amount, nonce = message["amount"], message["nonce"]
        if nonce != payer.nonce + 1:
            raise ReplayedNonce(
                f"nonce {nonce} of {payer.did} is not the next one ({payer.nonce + 1})"
            )
        if message["purpose"] in PUBLIC_PURPOSES and payee.kind != "public_body":
            raise InvalidMessage(f"a {message['purpose']} payment must go to a public body")
        if payer.kind == "issuer":
            raise InvalidMessage("the issuing account moves money only by issuance")
        if amount > payer.balance:
            raise InsufficientFunds(
                f"{payer.did} holds {payer.balance} minor units, cannot pay {amount}"
            )
        spent = payer.spent if payer.spent_day == day else 0
        if payer.daily_limit is not None and spent + amount > payer.daily_limit:
            raise SpendingLimit(
                f"{payer.did} may spend {payer.daily_limit} a day; {spent} spent on {day}"
            )
        state.put(
            replace(
                payer,
                balance=payer.balance - amount,
                nonce=nonce,
                spent_day=day,
                spent=spent + amount,
            )
        )
        state.put(replace(payee, balance=payee.balance + amount))
        return [(payer.did, -amount), (payee.did, amount)]
    if kind == "issue":
        issuer = state.account(message.signer) or issuer_account(message.signer)
        to = _need(state, message["to"])
        amount = message["amount"]
        if to.kind == "issuer":
            raise InvalidMessage("cannot issue to the issuing account")
        if "rule" in message.body:
            rule = rule_named(message["rule"])
            already = state.reward_total(to.did, rule.name, message["period"])
            allowed = reward_amount(rule, message["units"], already)
            if allowed == 0:
                raise RewardCapReached(
                    f"{to.did} already received the {rule.name} cap for {message['period']}"
                )
            if amount != allowed:
                raise InvalidMessage(f"the {rule.name} reward for these units is {allowed}")
            state.add_reward(to.did, rule.name, message["period"], amount)
        state.put(replace(issuer, balance=issuer.balance - amount))
        state.put(replace(to, balance=to.balance + amount))
        return [(issuer.did, -amount), (to.did, amount)]
    if kind == "open_account":
        if state.account(message["did"]) is not None:
            raise AccountExists(f"{message['did']} already has an account")
        if message["did"] == message.signer:
            raise InvalidMessage("the issuing key has its own account")
        state.put(
            Account(
                message["did"],
                message["kind"],
                message.get("service_class"),
                0,
                0,
                message.get("daily_limit"),
                None,
                0,
            )
        )
        return []
    if kind == "demurrage":
        issuer = state.account(message.signer) or issuer_account(message.signer)
        period = message["period"]
        if state.reward_total(issuer.did, "demurrage", period):
            raise InvalidMessage(f"demurrage was already applied for {period}")
        moves = []
        for holder in sorted(state.all_accounts(), key=lambda a: a.did):
            fee = holder.balance * message["rate_bp"] // 10_000
            if holder.kind != "issuer" and fee > 0:
                state.put(replace(holder, balance=holder.balance - fee))
                moves.append((holder.did, -fee))
        state.add_reward(issuer.did, "demurrage", period, 1)  # marks the period as applied
        total = -sum(delta for _, delta in moves)
        state.put(replace(issuer, balance=issuer.balance + total))
        return [*moves, (issuer.did, total)]
    if kind == "data_trade":
        _need(state, message["buyer"])
        return []
    return []  # notarise: a record, no money moves
