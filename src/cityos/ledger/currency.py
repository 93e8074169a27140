"""The Sejong local currency: signed messages committed in batches, each one a log entry.

:meth:`Currency.commit` checks signatures first (outside the lock), then, in **one** database
transaction: looks up idempotency keys (a retried message returns its first result and is not
charged again), runs the state machine (:func:`~cityos.ledger.accounts.apply`) on each message,
appends the accepted ones to the transparency log, writes balances, checks conservation of money
(the balances sum to zero and no account but the issuer's is negative), and signs one checkpoint.
A refused message is reported and does not stop the others; a failure of the batch itself (or a
crash) rolls everything back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cityos.ledger._errors import LedgerError
from cityos.ledger.accounts import (
    Account,
    IdempotencyConflict,
    apply,
)
from cityos.ledger.canonical import canonical_json
from cityos.ledger.database import LedgerDatabase
from cityos.ledger.log import LogIntegrityError, TransparencyLog
from cityos.ledger.messages import Message, parse_message, signing_bytes

_ACCOUNT_COLUMNS = "did, kind, service_class, balance, nonce, daily_limit, spent_day, spent"
_CHUNK = 400
"""Most keys looked up in one query (SQLite allows 32,766 parameters; PostgreSQL 65,535)."""


def _dids_of(message: Message) -> list[str]:
    """Every account a message may touch (prefetched before the state machine runs)."""
    names = ("payer", "payee", "to", "did", "buyer")
    return [message.signer, *(message.body[n] for n in names if n in message.body)]


@dataclass
class Outcome:
    """What happened to one message: ``committed``, ``duplicate`` (of ``seq``) or ``rejected``."""

    status: str
    type: str | None = None
    seq: int | None = None
    error: LedgerError | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "type": self.type, "seq": self.seq}
        if self.error is not None:
            out["error"] = self.error.to_problem()
        return out


def entry_body(message: dict[str, Any], committed_at: str) -> bytes:
    """The log entry of a committed message: ``{"committed_at": ..., "tx": message}``."""
    return canonical_json({"committed_at": committed_at, "tx": message})


def message_digest(message: dict[str, Any]) -> bytes:
    """SHA-256 of what a message's signature covers (its identity for idempotency)."""
    return hashlib.sha256(signing_bytes(message)).digest()


class _DbState:
    """Accounts and reward totals read through from the database, written back at the end."""

    def __init__(self, db: LedgerDatabase, conn: Any) -> None:
        self.db, self.conn = db, conn
        self.accounts: dict[str, Account | None] = {}
        self.dirty: dict[str, Account] = {}
        self.rewards: dict[tuple[str, str, str], int] = {}
        self.dirty_rewards: set[tuple[str, str, str]] = set()

    def account(self, did: str) -> Account | None:
        if did not in self.accounts:
            row = self.db.execute(
                self.conn, f"SELECT {_ACCOUNT_COLUMNS} FROM ledger_accounts WHERE did = ?", (did,)
            ).fetchone()
            self.accounts[did] = None if row is None else Account(*row)
        return self.accounts[did]

    def prefetch(self, dids: set[str]) -> None:
        """Load the accounts of ``dids`` in a few queries (absent ones are remembered too)."""
        pending = sorted(d for d in dids if d not in self.accounts)
        for start in range(0, len(pending), _CHUNK):
            chunk = pending[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            rows = self.db.execute(
                self.conn,
                f"SELECT {_ACCOUNT_COLUMNS} FROM ledger_accounts WHERE did IN ({marks})",
                chunk,
            ).fetchall()
            for did in chunk:
                self.accounts[did] = None
            for row in rows:
                self.accounts[row[0]] = Account(*row)

    def put(self, account: Account) -> None:
        self.accounts[account.did] = account
        self.dirty[account.did] = account

    def reward_total(self, did: str, rule: str, period: str) -> int:
        key = (did, rule, period)
        if key not in self.rewards:
            row = self.db.execute(
                self.conn,
                "SELECT amount FROM ledger_rewards WHERE did = ? AND rule = ? AND period = ?",
                key,
            ).fetchone()
            self.rewards[key] = 0 if row is None else int(row[0])
        return self.rewards[key]

    def add_reward(self, did: str, rule: str, period: str, amount: int) -> None:
        key = (did, rule, period)
        self.rewards[key] = self.reward_total(did, rule, period) + amount
        self.dirty_rewards.add(key)

    def all_accounts(self) -> list[Account]:
        rows = self.conn.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM ledger_accounts").fetchall()
        for row in rows:
            self.accounts.setdefault(row[0], Account(*row))
        return [a for a in self.accounts.values() if a is not None]

    def flush(self, opened: dict[str, int]) -> None:
        rows = [
            (
                a.did,
                a.kind,
                a.service_class,
                a.balance,
                a.nonce,
                a.daily_limit,
                a.spent_day,
                a.spent,
                opened.get(a.did, -1),
            )
            for a in self.dirty.values()
        ]
        self.db.executemany(
            self.conn,
            f"INSERT INTO ledger_accounts ({_ACCOUNT_COLUMNS}, opened_seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (did) DO UPDATE SET "
            "balance = excluded.balance, nonce = excluded.nonce, "
            "spent_day = excluded.spent_day, spent = excluded.spent",
            rows,
        )
        self.db.executemany(
            self.conn,
            "INSERT INTO ledger_rewards (did, rule, period, amount) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (did, rule, period) DO UPDATE SET amount = excluded.amount",
            [(*k, self.rewards[k]) for k in self.dirty_rewards],
        )


class Currency:
    """Accounts, issuance, transfers, rewards and notarised records over one log."""

    def __init__(self, db: LedgerDatabase, log: TransparencyLog, issuer_did: str) -> None:
        self.db = db
        self.log = log
        self.issuer_did = issuer_did

    # -- committing ------------------------------------------------------------------------------
    def commit(self, messages: list[Any], *, now: datetime | None = None) -> list[Outcome]:
        """Commit a batch of signed messages; one outcome per message, in order."""
        parsed: list[Message | LedgerError] = []
        for raw in messages:
            try:
                parsed.append(parse_message(raw, self.issuer_did))
            except LedgerError as exc:
                parsed.append(exc)
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        committed_at = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        day = moment.strftime("%Y-%m-%d")
        outcomes = [
            Outcome("rejected", error=p) if isinstance(p, LedgerError) else None for p in parsed
        ]
        with self.db.write() as conn:
            state = _DbState(self.db, conn)
            messages_ok = [p for p in parsed if isinstance(p, Message)]
            state.prefetch({d for m in messages_ok for d in _dids_of(m)})
            known = self._known_keys(conn, {(m.signer, m.idempotency_key) for m in messages_ok})
            batch: dict[tuple[str, str], tuple[bytes, int]] = {}  # idempotency -> (digest, index)
            accepted: list[int] = []
            postings = 0
            for i, item in enumerate(parsed):
                if isinstance(item, LedgerError):
                    continue
                key = (item.signer, item.idempotency_key)
                digest = message_digest(item.body)
                try:
                    duplicate = self._duplicate(known, batch, key, digest)
                    if duplicate is not None:
                        outcomes[i] = Outcome("duplicate", item.type, duplicate)
                        continue
                    moves = apply(state, item, day)
                except LedgerError as exc:
                    outcomes[i] = Outcome("rejected", item.type, error=exc)
                    continue
                postings += sum(delta for _, delta in moves)
                batch[key] = (digest, i)
                accepted.append(i)
                outcomes[i] = Outcome("committed", item.type)
            if not accepted:
                return [o for o in outcomes if o is not None]
            if postings != 0:
                raise LogIntegrityError("the batch's postings do not balance")
            seqs = self.log.append(
                conn,
                [(parsed[i].type, entry_body(parsed[i].body, committed_at)) for i in accepted],  # type: ignore[union-attr]
            )
            seq_of = dict(zip(accepted, seqs, strict=True))
            opened: dict[str, int] = {}
            for i in accepted:
                message = parsed[i]
                assert isinstance(message, Message)
                outcomes[i].seq = seq_of[i]  # type: ignore[union-attr]
                if message.type == "open_account":
                    opened[message["did"]] = seq_of[i]
                elif message.type == "issue":
                    opened.setdefault(message.signer, seq_of[i])
                elif message.type == "notarise":
                    self.db.execute(
                        conn,
                        "INSERT INTO ledger_documents (digest, seq) VALUES (?, ?)",
                        (message["sha256"], seq_of[i]),
                    )
            for o in outcomes:
                if o is not None and o.status == "duplicate" and o.seq is not None and o.seq < 0:
                    o.seq = seq_of[-1 - o.seq]
            state.flush(opened)
            self.db.executemany(
                conn,
                "INSERT INTO ledger_idempotency (actor, key, digest, seq) VALUES (?, ?, ?, ?)",
                [(*k, d, seq_of[i]) for k, (d, i) in batch.items()],
            )
            self.check_conservation(conn)
            self.log.sign(conn)
        return [o for o in outcomes if o is not None]

    def _known_keys(
        self, conn: Any, keys: set[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[bytes, int]]:
        """Digest and seq of the idempotency keys already committed, in few queries."""
        found: dict[tuple[str, str], tuple[bytes, int]] = {}
        pending = sorted(keys)
        for start in range(0, len(pending), _CHUNK):
            chunk = pending[start : start + _CHUNK]
            values = ", ".join(["(?, ?)"] * len(chunk))
            rows = self.db.execute(
                conn,
                "SELECT actor, key, digest, seq FROM ledger_idempotency "
                f"WHERE (actor, key) IN (VALUES {values})",
                [v for pair in chunk for v in pair],
            ).fetchall()
            for actor, key, digest, seq in rows:
                found[(actor, key)] = (bytes(digest), int(seq))
        return found

    @staticmethod
    def _duplicate(
        known: dict[tuple[str, str], tuple[bytes, int]],
        batch: dict[tuple[str, str], tuple[bytes, int]],
        key: tuple[str, str],
        digest: bytes,
    ) -> int | None:
        """The seq of an earlier commit of the same message (``-1 - index`` for one earlier in
        this batch), None if the key is new; a key reused for another message is refused."""
        prior = batch.get(key)
        if prior is not None:
            found, seq = prior[0], -1 - prior[1]
        elif key in known:
            found, seq = known[key]
        else:
            return None
        if found != digest:
            raise IdempotencyConflict(f"idempotency key {key[1]!r} was used for another message")
        return seq

    def commit_one(self, message: Any) -> Outcome:
        """Commit one message; raises its error if refused."""
        outcome = self.commit([message])[0]
        if outcome.error is not None:
            raise outcome.error
        return outcome

    def check_conservation(self, conn: Any) -> None:
        """Balances sum to zero and only the issuer's is negative, else the batch rolls back."""
        total, lowest = conn.execute(
            "SELECT COALESCE(SUM(balance), 0), "
            "COALESCE(MIN(CASE WHEN kind <> 'issuer' THEN balance END), 0) FROM ledger_accounts"
        ).fetchone()
        if int(total) != 0:
            raise LogIntegrityError(f"money is not conserved: balances sum to {total}, not 0")
        if int(lowest) < 0:
            raise LogIntegrityError("an account other than the issuer's has a negative balance")

    # -- reading ---------------------------------------------------------------------------------
    def account(self, did: str) -> Account | None:
        """The account of ``did``, or None."""
        with self.db.read() as conn:
            row = self.db.execute(
                conn, f"SELECT {_ACCOUNT_COLUMNS} FROM ledger_accounts WHERE did = ?", (did,)
            ).fetchone()
        return None if row is None else Account(*row)

    def balance(self, did: str) -> int:
        """Balance of ``did`` [minor units] (0 without an account)."""
        found = self.account(did)
        return 0 if found is None else found.balance

    def accounts(self) -> dict[str, Account]:
        """Every account by DID."""
        with self.db.read() as conn:
            rows = conn.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM ledger_accounts").fetchall()
        return {r[0]: Account(*r) for r in rows}
