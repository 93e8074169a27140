"""A MyData consent: a citizen lets one recipient use some categories of their data for one
purpose, for a period, until they withdraw it.

Purposes are free names in a fixed shape (``mobility-planning``, ``family-doctor``,
``emergency``...); categories are personal entity types (short names) or ``*`` for all.
Instants are microseconds since the epoch (UTC).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from cityos.hub.temporal.instants import from_us, to_us
from cityos.privacy.errors import InvalidPrivacyRequest

PURPOSE_RE = re.compile(r"^[a-z0-9][a-z0-9._\-]{0,63}$")
_NAME_RE = re.compile(r"^[^\s]{1,256}$")
_CATEGORY_RE = re.compile(r"^(\*|[A-Za-z][A-Za-z0-9_\-]{0,63})$")
#: Members a consent request may carry.
GRANT_MEMBERS = frozenset(
    {"subject", "purpose", "recipient", "categories", "validFrom", "validUntil"}
)


@dataclass(frozen=True)
class Consent:
    """One consent record."""

    id: str
    tenant: str
    subject: str
    purpose: str
    recipient: str
    categories: tuple[str, ...]
    valid_from: int
    valid_until: int | None
    granted_at: int
    withdrawn_at: int | None = None

    def live(self, now: int) -> bool:
        """Whether the consent is in force at ``now`` [µs]."""
        if self.withdrawn_at is not None and self.withdrawn_at <= now:
            return False
        if now < self.valid_from:
            return False
        return self.valid_until is None or now < self.valid_until

    def covers(self, category: str) -> bool:
        return "*" in self.categories or category in self.categories

    def state(self, now: int) -> str:
        """``active``, ``pending`` (not yet valid), ``expired`` or ``withdrawn``."""
        if self.withdrawn_at is not None and self.withdrawn_at <= now:
            return "withdrawn"
        if now < self.valid_from:
            return "pending"
        if self.valid_until is not None and now >= self.valid_until:
            return "expired"
        return "active"

    def to_json(self, now: int) -> dict[str, Any]:
        """The consent as the API shows it."""
        body: dict[str, Any] = {
            "id": self.id,
            "subject": self.subject,
            "purpose": self.purpose,
            "recipient": self.recipient,
            "categories": list(self.categories),
            "validFrom": from_us(self.valid_from),
            "validUntil": from_us(self.valid_until) if self.valid_until is not None else None,
            "grantedAt": from_us(self.granted_at),
            "withdrawnAt": from_us(self.withdrawn_at) if self.withdrawn_at is not None else None,
            "state": self.state(now),
        }
        if self.tenant:
            body["tenant"] = self.tenant
        return body


def _instant(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidPrivacyRequest(f"'{name}' must be an ISO 8601 date-time string")
    try:
        return to_us(value)
    except (ValueError, OverflowError):
        raise InvalidPrivacyRequest(f"'{name}' is not an ISO 8601 date-time: {value!r}") from None


def parse_grant(body: Any, *, subject: str, tenant: str, now: int) -> Consent:
    """Validate a consent request (``purpose``, ``recipient``, ``categories``, optional
    ``validFrom``/``validUntil``) into a new consent of ``subject``.

    Raises
    ------
    InvalidPrivacyRequest
        Naming the member that is missing or wrong.
    """
    if not isinstance(body, dict):
        raise InvalidPrivacyRequest("the consent must be a JSON object")
    unknown = sorted(set(body) - GRANT_MEMBERS)
    if unknown:
        raise InvalidPrivacyRequest(f"unknown member(s): {', '.join(unknown)}")
    purpose = body.get("purpose")
    if not isinstance(purpose, str) or not PURPOSE_RE.match(purpose):
        raise InvalidPrivacyRequest(
            "'purpose' must be 1-64 lower-case letters, digits, '.', '_' or '-' "
            "(e.g. mobility-planning)"
        )
    recipient = body.get("recipient")
    if not isinstance(recipient, str) or not _NAME_RE.match(recipient):
        raise InvalidPrivacyRequest("'recipient' must name the organisation or account (no spaces)")
    categories = body.get("categories")
    if (
        not isinstance(categories, list)
        or not categories
        or not all(isinstance(c, str) and _CATEGORY_RE.match(c) for c in categories)
    ):
        raise InvalidPrivacyRequest(
            "'categories' must be a non-empty list of entity type names (or '*')"
        )
    valid_from = _instant(body, "validFrom")
    valid_until = _instant(body, "validUntil")
    start = now if valid_from is None else valid_from
    if valid_until is not None and valid_until <= now:
        raise InvalidPrivacyRequest("'validUntil' is in the past")
    if valid_until is not None and valid_until <= start:
        raise InvalidPrivacyRequest("'validUntil' must be after 'validFrom'")
    return Consent(
        id=f"urn:ngsi-ld:Consent:{uuid.uuid4()}",
        tenant=tenant,
        subject=subject,
        purpose=purpose,
        recipient=recipient,
        categories=tuple(dict.fromkeys(categories)),
        valid_from=start,
        valid_until=valid_until,
        granted_at=now,
    )
