"""Anchoring the privacy audit trail's hash-chain head on the transparency log.

The privacy layer's audit trail is hash-chained, which catches any changed, removed or reordered
row - except a truncated tail, which leaves a shorter but valid chain. Anchoring the head (the hash
of entry ``n``) as a notarised log entry closes that gap: the log is append-only and its checkpoints
are signed and witnessed, so an auditor later checks that entry ``n`` still has that hash.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from cityos.ledger.currency import Outcome
from cityos.ledger.log import LogIntegrityError
from cityos.ledger.service import Ledger
from cityos.privacy.audit import AuditTrail
from cityos.privacy.database import PrivacyDatabase

TITLE = "privacy audit trail head after {n} entries"
_TITLE = re.compile(r"privacy audit trail head after ([0-9]+) entries")


@dataclass(frozen=True)
class AnchoredHead:
    """An audit-chain head found on the log: chain length, head hash, log entry."""

    entries: int
    head: str
    seq: int


def anchor_audit_head(ledger: Ledger, storage: Any) -> Outcome | None:
    """Notarise the current head of the privacy audit chain; None if the chain is empty.

    Raises
    ------
    LogIntegrityError
        If the chain does not verify (a broken chain is never anchored).
    """
    check = AuditTrail(PrivacyDatabase(storage)).verify()
    if not check.valid:
        raise LogIntegrityError(f"the audit trail is broken at entry {check.first_bad_seq}")
    if check.entries == 0:
        return None
    return ledger.notarise(check.head, TITLE.format(n=check.entries))


def anchored_heads(ledger: Ledger) -> list[AnchoredHead]:
    """Every audit-chain head notarised on the log, in log order."""
    found = []
    for entry in ledger.log.entries():
        if entry.kind != "notarise":
            continue
        tx = json.loads(entry.body)["tx"]
        match = _TITLE.fullmatch(str(tx.get("title", "")))
        if match and tx.get("issuer") == ledger.issuer_did:
            found.append(AnchoredHead(int(match.group(1)), tx["sha256"], entry.seq))
    return found


def check_audit_against_anchors(ledger: Ledger, storage: Any) -> int:
    """Check the audit trail still holds every anchored head; returns how many were checked.

    Raises
    ------
    LogIntegrityError
        If the chain is broken, or shorter than an anchored head (truncated), or holds another
        hash at an anchored position (rewritten and re-chained).
    """
    db = PrivacyDatabase(storage)
    check = AuditTrail(db).verify()
    if not check.valid:
        raise LogIntegrityError(f"the audit trail is broken at entry {check.first_bad_seq}")
    heads = anchored_heads(ledger)
    with db.read() as conn:
        for head in heads:
            row = db.execute(
                conn, "SELECT hash FROM privacy_audit WHERE seq = ?", (head.entries,)
            ).fetchone()
            if row is None:
                raise LogIntegrityError(
                    f"the audit trail has {check.entries} entries but log entry {head.seq} "
                    f"anchored {head.entries}: its tail was truncated"
                )
            if row[0] != head.head:
                raise LogIntegrityError(
                    f"audit entry {head.entries} no longer has the hash anchored by log entry "
                    f"{head.seq}: the trail was rewritten"
                )
    return len(heads)
