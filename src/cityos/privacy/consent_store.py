"""The consent registry: consents stored in the hub's database (table ``privacy_consents``).

Every read of personal data asks :meth:`ConsentRegistry.consenting` once per page, so a
withdrawal is seen by the next query of every server process sharing the database.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import orjson

from cityos.privacy.consent import Consent
from cityos.privacy.database import PrivacyDatabase
from cityos.privacy.errors import PrivacyResourceNotFound

_FIELDS = (
    "id, tenant, subject, purpose, recipient, categories, valid_from, valid_until, granted_at, "
    "withdrawn_at"
)


def now_us() -> int:
    """The current instant in microseconds since the epoch."""
    return time.time_ns() // 1000


def _row(row: tuple[Any, ...]) -> Consent:
    cid, tenant, subject, purpose, recipient, categories, *times = row
    return Consent(
        cid, tenant, subject, purpose, recipient, tuple(orjson.loads(categories)), *times
    )


class ConsentRegistry:
    """Grant, list, withdraw and look up consents."""

    def __init__(self, db: PrivacyDatabase) -> None:
        self.db = db

    def grant(self, consent: Consent) -> Consent:
        with self.db.write() as conn:
            self.db.execute(
                conn,
                f"INSERT INTO privacy_consents ({_FIELDS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    consent.id,
                    consent.tenant,
                    consent.subject,
                    consent.purpose,
                    consent.recipient,
                    orjson.dumps(list(consent.categories)).decode(),
                    consent.valid_from,
                    consent.valid_until,
                    consent.granted_at,
                    consent.withdrawn_at,
                ),
            )
        return consent

    def get(self, tenant: str, consent_id: str) -> Consent | None:
        with self.db.read() as conn:
            row = self.db.execute(
                conn,
                f"SELECT {_FIELDS} FROM privacy_consents WHERE tenant = ? AND id = ?",
                (tenant, consent_id),
            ).fetchone()
        return _row(row) if row else None

    def of_subject(self, tenant: str, subject: str) -> list[Consent]:
        """Every consent of a subject, oldest first."""
        with self.db.read() as conn:
            rows = self.db.execute(
                conn,
                f"SELECT {_FIELDS} FROM privacy_consents WHERE tenant = ? AND subject = ? "
                "ORDER BY granted_at, id",
                (tenant, subject),
            ).fetchall()
        return [_row(r) for r in rows]

    def withdraw(self, tenant: str, consent_id: str, subject: str, now: int) -> Consent:
        """Withdraw a consent of ``subject`` (idempotent: the first withdrawal time stays).

        Raises
        ------
        PrivacyResourceNotFound
            If the consent does not exist or is not the subject's.
        """
        with self.db.write() as conn:
            self.db.execute(
                conn,
                "UPDATE privacy_consents SET withdrawn_at = ? WHERE tenant = ? AND id = ? "
                "AND subject = ? AND withdrawn_at IS NULL",
                (now, tenant, consent_id, subject),
            )
            row = self.db.execute(
                conn,
                f"SELECT {_FIELDS} FROM privacy_consents WHERE tenant = ? AND id = ? "
                "AND subject = ?",
                (tenant, consent_id, subject),
            ).fetchone()
        if row is None:
            raise PrivacyResourceNotFound(f"no consent {consent_id} of yours")
        return _row(row)

    def consenting(
        self,
        tenant: str,
        subjects: Iterable[str],
        purpose: str,
        recipients: Iterable[str],
        now: int,
    ) -> dict[str, set[str]]:
        """subject -> categories it consents to for ``purpose`` and any of ``recipients`` at
        ``now`` (``*`` for all); subjects without a live consent are absent."""
        wanted = sorted(set(subjects))
        names = sorted(set(recipients))
        if not wanted or not names:
            return {}
        found: dict[str, set[str]] = {}
        with self.db.read() as conn:
            for start in range(0, len(wanted), 900):
                chunk = wanted[start : start + 900]
                if self.db.dialect == "postgresql":
                    rows = conn.execute(
                        "SELECT subject, categories FROM privacy_consents WHERE tenant = %s "
                        "AND purpose = %s AND subject = ANY(%s) AND recipient = ANY(%s) "
                        "AND withdrawn_at IS NULL AND valid_from <= %s "
                        "AND (valid_until IS NULL OR valid_until > %s)",
                        (tenant, purpose, chunk, names, now, now),
                    ).fetchall()
                else:
                    marks = ",".join("?" * len(chunk))
                    rmarks = ",".join("?" * len(names))
                    rows = conn.execute(
                        "SELECT subject, categories FROM privacy_consents WHERE tenant = ? "
                        f"AND purpose = ? AND subject IN ({marks}) AND recipient IN ({rmarks}) "
                        "AND withdrawn_at IS NULL AND valid_from <= ? "
                        "AND (valid_until IS NULL OR valid_until > ?)",
                        (tenant, purpose, *chunk, *names, now, now),
                    ).fetchall()
                for subject, categories in rows:
                    found.setdefault(subject, set()).update(orjson.loads(categories))
        return found

    def erase_subject(self, conn: Any, tenant: str, subject: str) -> int:
        """Delete every consent of a subject inside a MyData erasure transaction."""
        cursor = self.db.execute(
            conn, "DELETE FROM privacy_consents WHERE tenant = ? AND subject = ?", (tenant, subject)
        )
        return cursor.rowcount
