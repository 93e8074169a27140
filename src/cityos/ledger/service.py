"""The ledger of one hub: its tables, keys and log, and the documents it hands out.

:func:`open_ledger` is the Python API's entry point; the HTTP router and the CLI use it too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cityos.ledger.accounts import RewardCapReached
from cityos.ledger.anchors import Anchor
from cityos.ledger.checkpoint import open_checkpoint
from cityos.ledger.credentials import CredentialIssuer
from cityos.ledger.currency import Currency, Outcome
from cityos.ledger.database import LedgerDatabase
from cityos.ledger.did import did_of
from cityos.ledger.keys import DEFAULT_ORIGIN, LedgerKeys, load_keys
from cityos.ledger.log import TransparencyLog
from cityos.ledger.messages import InvalidMessage, sign
from cityos.ledger.receipts import ConsistencyBundle, Export, Receipt
from cityos.ledger.replay import compare, replay
from cityos.ledger.rewards import reward_amount, rule_named


class Ledger:
    """The transparency log and the services built on it, over the hub's storage."""

    def __init__(self, db: LedgerDatabase, keys: LedgerKeys) -> None:
        self.db = db
        self.keys = keys
        self.log = TransparencyLog(db, keys.log)
        self.issuer_did = did_of(keys.issuer)
        self.currency = Currency(db, self.log, self.issuer_did)
        self.credentials = CredentialIssuer(
            db, keys.issuer, f"https://{keys.origin.split('/')[0]}/ledger/v1/credentials/status"
        )

    # -- the city's own messages, signed with the issuing key ----------------------------------
    def signed(self, message: dict[str, Any]) -> dict[str, Any]:
        """``message`` from the city: its ``issuer`` set and signed with the issuing key."""
        return sign({**message, "issuer": self.issuer_did}, self.keys.issuer)

    def open_account(
        self,
        did: str,
        kind: str = "citizen",
        *,
        service_class: str | None = None,
        daily_limit: int | None = None,
    ) -> Outcome:
        """Open the account of ``did`` (merchants and public bodies name a service class)."""
        message: dict[str, Any] = {
            "type": "open_account",
            "did": did,
            "kind": kind,
            "idempotency_key": f"open:{did}",
        }
        if service_class is not None:
            message["service_class"] = service_class
        if daily_limit is not None:
            message["daily_limit"] = daily_limit
        return self.currency.commit_one(self.signed(message))

    def issue(self, to: str, amount: int, reason: str, idempotency_key: str) -> Outcome:
        """Create ``amount`` [minor units] for ``to``, with the stated ``reason``."""
        return self.currency.commit_one(
            self.signed(
                {
                    "type": "issue",
                    "to": to,
                    "amount": amount,
                    "reason": reason,
                    "idempotency_key": idempotency_key,
                }
            )
        )

    def reward(self, did: str, rule: str, units: int, period: str, claim_id: str) -> Outcome:
        """Pay a reward by rule for ``units`` verified in month ``period`` (capped monthly).

        ``claim_id`` identifies the verified claim, so paying it twice is a no-op.
        """
        found = rule_named(rule)
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise InvalidMessage(f"units must be a positive integer, got {units!r}")
        with self.db.read() as conn:
            row = self.db.execute(
                conn,
                "SELECT amount FROM ledger_rewards WHERE did = ? AND rule = ? AND period = ?",
                (did, rule, period),
            ).fetchone()
        amount = reward_amount(found, units, 0 if row is None else int(row[0]))
        if amount == 0:
            raise RewardCapReached(f"{did} already received the {rule} cap for {period}")
        return self.currency.commit_one(
            self.signed(
                {
                    "type": "issue",
                    "to": did,
                    "amount": amount,
                    "reason": f"reward: {found.description}",
                    "rule": rule,
                    "units": units,
                    "period": period,
                    "idempotency_key": f"reward:{rule}:{period}:{claim_id}",
                }
            )
        )

    def basic_income(self, period: str, amount: int) -> list[Outcome]:
        """Pay every citizen account ``amount`` for month ``period``, in one batch.

        Running it again for the same period pays nobody twice (idempotency keys).
        """
        citizens = [a.did for a in self.currency.accounts().values() if a.kind == "citizen"]
        return self.currency.commit(
            [
                self.signed(
                    {
                        "type": "issue",
                        "to": did,
                        "amount": amount,
                        "reason": f"basic income {period}",
                        "idempotency_key": f"basic-income:{period}:{did}",
                    }
                )
                for did in sorted(citizens)
            ]
        )

    def demurrage(self, period: str, rate_bp: int) -> Outcome:
        """Charge every holder ``rate_bp`` basis points of its balance for month ``period``
        (money taken out of circulation, so the currency circulates rather than sits)."""
        return self.currency.commit_one(
            self.signed(
                {
                    "type": "demurrage",
                    "period": period,
                    "rate_bp": rate_bp,
                    "idempotency_key": f"demurrage:{period}",
                }
            )
        )

    def revoke_credential(self, index: int) -> Outcome:
        """Revoke credential ``index``: a log entry first (the public record), then its bit in
        the status list. Both steps are idempotent, so a retry after a crash completes it."""
        self.credentials.check_issued(index)
        outcome = self.currency.commit_one(
            self.signed(
                {
                    "type": "revoke_credential",
                    "status_index": index,
                    "idempotency_key": f"revoke:{index}",
                }
            )
        )
        self.credentials.revoke(index)
        return outcome

    def notarise(self, sha256: str, title: str | None = None) -> Outcome:
        """Put a document's SHA-256 (hex) on the log; notarising it again returns the first."""
        message: dict[str, Any] = {
            "type": "notarise",
            "sha256": sha256,
            "idempotency_key": f"notarise:{sha256}",
        }
        if title is not None:
            message["title"] = title
        return self.currency.commit_one(self.signed(message))

    def record_data_trade(
        self,
        dataset: str,
        buyer: str,
        licence: str,
        price: int,
        shares: list[dict[str, Any]],
        trade_id: str,
    ) -> Outcome:
        """Record who bought which dataset under which licence, and each provider's share
        (``price`` 0 with no shares records a data access without a sale)."""
        return self.currency.commit_one(
            self.signed(
                {
                    "type": "data_trade",
                    "dataset": dataset,
                    "buyer": buyer,
                    "licence": licence,
                    "price": price,
                    "shares": shares,
                    "idempotency_key": f"trade:{trade_id}",
                }
            )
        )

    @property
    def log_key(self) -> str:
        """The log's verifier key (C2SP note verifier string) that auditors pin."""
        return self.log.verifier.encode()

    def receipt(self, seq: int, size: int | None = None) -> Receipt:
        """Inclusion receipt of entry ``seq`` under the checkpoint of ``size`` (default latest)."""
        note = self.log.checkpoint(size)
        size = open_checkpoint(note, self.log.verifier)[0].size  # the note's, even if one is newer
        proof = self.log.inclusion_proof(seq, size)
        return Receipt(self.log_key, self.log.entry(seq).body, seq, proof, note)

    def consistency(self, first: int, second: int | None = None) -> ConsistencyBundle:
        """Consistency proof between two signed checkpoints (default: to the latest)."""
        new = self.log.checkpoint(second)
        second = open_checkpoint(new, self.log.verifier)[0].size
        old = self.log.checkpoint(first)
        return ConsistencyBundle(self.log_key, old, new, self.log.consistency_proof(first, second))

    def audit(self) -> str:
        """Check the stored log against its signed checkpoints; returns a one-line summary.

        Raises
        ------
        LogIntegrityError
            If any stored row was changed outside the ledger.
        """
        head = self.log.audit()
        bodies = (e.body for e in self.log.entries(0, head.size))
        state = replay(bodies, self.issuer_did)
        compare(state.accounts, self.currency.accounts())
        return (
            f"{head.size} entries match the signed checkpoints and replay to the "
            f"{len(state.accounts)} stored accounts"
        )

    def publish(self, anchor: Anchor) -> str:
        """Publish the latest checkpoint to ``anchor`` with a consistency proof from the last one
        it holds; returns the checkpoint cosigned by the anchor."""
        head = self.log.latest()
        old = anchor.latest_size(self.log.verifier)
        proof = self.log.consistency_proof(old, head.size) if 0 < old <= head.size else []
        return anchor.add_checkpoint(self.log.checkpoint(head.size), old, proof, self.log.verifier)

    def export(self) -> Export:
        """Every entry and every signed checkpoint, for offline verification."""
        with self.db.read() as conn:
            notes = [
                str(r[0]) for r in conn.execute("SELECT note FROM ledger_checkpoints ORDER BY size")
            ]
            if not notes:
                notes = [self.log.checkpoint()]
            size = open_checkpoint(notes[-1], self.log.verifier)[0].size
            rows = self.db.execute(
                conn, "SELECT body FROM ledger_entries WHERE seq < ? ORDER BY seq", (size,)
            ).fetchall()
        return Export(self.log_key, [bytes(r[0]) for r in rows], notes)


def open_ledger(storage: Any, data_dir: Path, *, origin: str = DEFAULT_ORIGIN) -> Ledger:
    """The ledger on the hub's ``storage``, with its keys under ``data_dir`` (created if absent)."""
    return Ledger(LedgerDatabase(storage), load_keys(data_dir, origin=origin))
