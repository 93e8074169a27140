"""Writing the consent guard's decisions to the audit trail.

A read's decision is appended at once (its own transaction). Notifications are filtered inside
the write transaction that triggers them, where a second transaction cannot start on SQLite: their
decisions wait in the writing thread and are appended after the write commits
(``hub_after_commit``); a write that rolls back notifies nobody, so its waiting decisions are
dropped when the thread's next write begins (``hub_before_commit``; the privacy plugin is
registered after the subscriptions plugin, so pluggy calls it first).
"""

from __future__ import annotations

import threading
from typing import Any

from cityos.hub.hookspecs import hookimpl
from cityos.privacy.audit import AuditEntry, AuditTrail
from cityos.privacy.consent_guard import Disclosure
from cityos.privacy.consent_store import now_us


def entry_of(disclosure: Disclosure) -> AuditEntry:
    """The audit entry of one guard decision."""
    access = disclosure.access
    principal = access.principal if access is not None else None
    subjects = sorted(set().union(*disclosure.released.values())) if disclosure.released else []
    if disclosure.purpose == "notification" and access is None:
        actor, action = "notification", "notify"
    else:
        actor = principal.subject if principal is not None else "in-process"
        action = "read"
    ways = "+".join(sorted(disclosure.released))
    outcome = disclosure.outcome + (f":{ways}" if ways else "")
    return AuditEntry(
        at_us=now_us(),
        tenant=disclosure.tenant,
        actor=actor,
        roles=tuple(sorted(principal.roles)) if principal is not None else (),
        action=action,
        outcome=outcome,
        subjects=tuple(subjects),
        org=principal.org if principal is not None else None,
        purpose=disclosure.purpose,
        entities=disclosure.entities,
        withheld=disclosure.withheld,
        justification=access.justification if access is not None else None,
        client=access.client if access is not None else None,
    )


class DisclosureLog:
    """The guard's recorder, and the hooks that flush notification decisions."""

    def __init__(self, trail: AuditTrail) -> None:
        self.trail = trail
        self._local = threading.local()

    def __call__(self, disclosure: Disclosure) -> None:
        entry = entry_of(disclosure)
        if entry.action == "notify":
            pending = getattr(self._local, "pending", None)
            if pending is None:
                pending = self._local.pending = []
            pending.append(entry)
            return
        self.trail.append(entry)

    @hookimpl
    def hub_before_commit(self, transaction: Any, tenant: str, changes: list[Any]) -> None:
        self._local.pending = []

    @hookimpl
    def hub_after_commit(self, tenant: str, changes: list[Any]) -> None:
        pending = getattr(self._local, "pending", None)
        if pending:
            self._local.pending = []
            for entry in pending:
                self.trail.append(entry)
