"""The privacy audit chain's head anchored on the log: truncation and rewrites are caught."""

from __future__ import annotations

import pytest

from cityos.ledger.audit_anchor import anchor_audit_head, check_audit_against_anchors
from cityos.ledger.log import LogIntegrityError
from cityos.privacy.audit import AuditEntry, AuditTrail
from cityos.privacy.database import PrivacyDatabase


def _append(storage, n, start=0):
    trail = AuditTrail(PrivacyDatabase(storage))
    for i in range(start, start + n):
        trail.append(
            AuditEntry(
                1_000 + i,
                "",
                f"op-{i}",
                ("operator",),
                "read",
                "released",
                ("urn:ngsi-ld:Person:7",),
                purpose="mobility-planning",
            )
        )


def test_anchored_head_catches_a_truncated_tail(ledger, hub, backend):
    storage = hub.storage
    assert anchor_audit_head(ledger, storage) is None  # nothing to anchor yet
    _append(storage, 5)
    out = anchor_audit_head(ledger, storage)
    assert out.status == "committed"
    _append(storage, 3, 5)
    assert check_audit_against_anchors(ledger, storage) == 1
    # An insider drops the append-only trigger and cuts the last four rows: the chain that is
    # left is still valid on its own, but no longer reaches the anchored head.
    with storage.write() if backend == "sqlite" else storage.pool.connection() as conn:
        if backend == "sqlite":
            conn.execute("DROP TRIGGER privacy_audit_no_delete")
        else:
            conn.execute("DROP TRIGGER privacy_audit_no_change ON privacy_audit")
        conn.execute("DELETE FROM privacy_audit WHERE seq > 4")
    assert AuditTrail(PrivacyDatabase(storage)).verify().valid
    with pytest.raises(LogIntegrityError, match="truncated"):
        check_audit_against_anchors(ledger, storage)
