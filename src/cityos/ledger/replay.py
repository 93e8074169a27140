"""Recompute every balance from the log alone, as an auditor would.

Each entry is ``{"committed_at": ..., "tx": message}``; replaying re-checks each message's
signature and form, refuses reused idempotency keys, and runs the same state machine as the service
(:func:`~cityos.ledger.accounts.apply`) on accounts held in memory. The result must equal the
service's account table; :func:`compare` names the first difference.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from cityos.ledger._errors import LedgerError
from cityos.ledger.accounts import Account, apply
from cityos.ledger.canonical import parse_canonical
from cityos.ledger.log import LogIntegrityError
from cityos.ledger.messages import parse_message


@dataclass
class MemoryState:
    """Accounts and reward totals in dictionaries (see :class:`~cityos.ledger.accounts.State`)."""

    accounts: dict[str, Account] = field(default_factory=dict)
    rewards: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def account(self, did: str) -> Account | None:
        return self.accounts.get(did)

    def put(self, account: Account) -> None:
        self.accounts[account.did] = account

    def reward_total(self, did: str, rule: str, period: str) -> int:
        return self.rewards.get((did, rule, period), 0)

    def add_reward(self, did: str, rule: str, period: str, amount: int) -> None:
        self.rewards[(did, rule, period)] = self.reward_total(did, rule, period) + amount

    def all_accounts(self) -> list[Account]:
        return list(self.accounts.values())


def replay(bodies: Iterable[bytes], issuer_did: str) -> MemoryState:
    """Apply every log entry in order; raises :class:`LogIntegrityError` at the first bad one."""
    state = MemoryState()
    seen: set[tuple[str, str]] = set()
    for seq, body in enumerate(bodies):
        try:
            entry = parse_canonical(body)
            if set(entry) != {"committed_at", "tx"} or not isinstance(entry["committed_at"], str):
                raise LedgerError("an entry is {committed_at, tx}")
            message = parse_message(entry["tx"], issuer_did)
            key = (message.signer, message.idempotency_key)
            if key in seen:
                raise LedgerError(f"idempotency key {key[1]!r} committed twice")
            seen.add(key)
            apply(state, message, entry["committed_at"][:10])
        except (LedgerError, json.JSONDecodeError) as exc:
            detail = exc.detail if isinstance(exc, LedgerError) else str(exc)
            raise LogIntegrityError(f"log entry {seq} does not replay: {detail}") from None
    return state


def compare(replayed: dict[str, Account], stored: dict[str, Account]) -> None:
    """Raise :class:`LogIntegrityError` if the stored accounts differ from the replayed ones."""
    for did in sorted(set(replayed) | set(stored)):
        want, got = replayed.get(did), stored.get(did)
        if want is None:
            raise LogIntegrityError(f"account {did} is stored but no log entry opened it")
        if got is None:
            raise LogIntegrityError(f"account {did} of the log is missing from the database")
        if want != got:
            raise LogIntegrityError(
                f"account {did} differs from the log: stored balance {got.balance}, "
                f"nonce {got.nonce}; replayed balance {want.balance}, nonce {want.nonce}"
            )
