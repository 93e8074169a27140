"""Records a city service keeps about one person (a parking booking, a trip booking): who may
see or change them, and the audit of every access.

A service's own tables sit outside the hub, so the hub's consent hooks never see them; the
service calls :func:`check_record_access` instead. The person a record is about (the token's
``sub``) may act on it; so may staff (``operator``, ``service`` roles); anyone else gets
``403 Forbidden``. Every decision, allowed or denied, is appended to the audit trail with the
subject, so the person finds it under ``/privacy/v1/my/audit``. In the open demo mode (no
token) the access is allowed and audited as the demo principal.
"""

from __future__ import annotations

from typing import Any

from cityos.privacy.access import current_access
from cityos.privacy.audit import AuditEntry
from cityos.privacy.consent_store import now_us
from cityos.privacy.errors import Forbidden

#: Roles that may act on any person's service records.
STAFF_ROLES = ("operator", "service")


def may_see_person(subject: str) -> bool:
    """Whether the caller may see who ``subject`` is (themselves, staff, or the open demo)."""
    access = current_access()
    if access is None or not access.enforced:
        return True
    principal = access.principal
    return principal.subject == subject or principal.has_role(*STAFF_ROLES)


def check_record_access(app: Any, subject: str, action: str, tenant: str = "") -> None:
    """Allow ``action`` (e.g. ``parking.booking.read``) on a record about ``subject``, or raise
    :class:`~cityos.privacy.errors.Forbidden`; either way the decision is audited.

    ``app`` is the application (its ``state.privacy`` holds the audit trail); without the
    privacy layer installed nothing is enforced or recorded.
    """
    privacy = getattr(getattr(app, "state", None), "privacy", None)
    access = current_access()
    allowed = may_see_person(subject)
    if privacy is not None:
        principal = access.principal if access is not None else None
        privacy.audit.append(
            AuditEntry(
                at_us=now_us(),
                tenant=tenant,
                actor=principal.subject if principal is not None else "anonymous",
                roles=tuple(sorted(principal.roles)) if principal is not None else (),
                org=principal.org if principal is not None else None,
                action=action,
                outcome="allowed" if allowed else "denied",
                subjects=(subject,),
                entities=1,
                purpose=access.purpose if access is not None else None,
                client=access.client if access is not None else None,
            )
        )
    if not allowed:
        raise Forbidden(
            f"{action}: only the person the record is about, operators and city services may "
            "do this"
        )
