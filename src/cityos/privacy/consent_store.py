"""The consent registry: consents stored in the hub's database (table ``privacy_consents``).

Every read of personal data asks :meth:`ConsentRegistry.consenting` once per page. Each change
to a tenant's consents bumps that tenant's version (``privacy_consent_versions``) in the same
transaction; a lookup reads the version (one indexed row) and reuses the consents it loaded for
that purpose and recipient while the version is unchanged. So a withdrawal is seen by the next
query of every server process sharing the database, and validity periods are checked at the
instant of each query.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
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
#: Most (tenant, purpose, recipients) consent sets kept in memory.
CACHE_SIZE = 64

# subject -> [(categories, valid_from, valid_until)]
_Loaded = dict[str, list[tuple[frozenset[str], int, int | None]]]


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
        self._cache: OrderedDict[tuple[str, str, frozenset[str]], tuple[int, _Loaded]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def _bump(self, conn: Any, tenant: str) -> None:
        self.db.execute(
            conn,
            "INSERT INTO privacy_consent_versions (tenant, version) VALUES (?, 1) "
            "ON CONFLICT (tenant) DO UPDATE SET version = privacy_consent_versions.version + 1",
            (tenant,),
        )

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
            self._bump(conn, consent.tenant)
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
            self._bump(conn, tenant)
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
        wanted = set(subjects)
        names = frozenset(recipients)
        if not wanted or not names:
            return {}
        loaded = self._loaded(tenant, purpose, names)
        found: dict[str, set[str]] = {}
        for subject in wanted & loaded.keys():
            for categories, valid_from, valid_until in loaded[subject]:
                if valid_from <= now and (valid_until is None or now < valid_until):
                    found.setdefault(subject, set()).update(categories)
        return found

    def _loaded(self, tenant: str, purpose: str, names: frozenset[str]) -> _Loaded:
        key = (tenant, purpose, names)
        with self.db.read() as conn:
            row = self.db.execute(
                conn, "SELECT version FROM privacy_consent_versions WHERE tenant = ?", (tenant,)
            ).fetchone()
            version = row[0] if row else 0
            with self._lock:
                cached = self._cache.get(key)
                if cached is not None and cached[0] == version:
                    self._cache.move_to_end(key)
                    return cached[1]
            if self.db.dialect == "postgresql":
                rows = conn.execute(
                    "SELECT subject, categories, valid_from, valid_until FROM privacy_consents "
                    "WHERE tenant = %s AND purpose = %s AND recipient = ANY(%s) "
                    "AND withdrawn_at IS NULL",
                    (tenant, purpose, sorted(names)),
                ).fetchall()
            else:
                marks = ",".join("?" * len(names))
                rows = conn.execute(
                    "SELECT subject, categories, valid_from, valid_until FROM privacy_consents "
                    f"WHERE tenant = ? AND purpose = ? AND recipient IN ({marks}) "
                    "AND withdrawn_at IS NULL",
                    (tenant, purpose, *sorted(names)),
                ).fetchall()
        loaded: _Loaded = {}
        for subject, categories, valid_from, valid_until in rows:
            loaded.setdefault(subject, []).append(
                (frozenset(orjson.loads(categories)), valid_from, valid_until)
            )
        with self._lock:
            self._cache[key] = (version, loaded)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return loaded

    def erase_subject(self, conn: Any, tenant: str, subject: str) -> int:
        """Delete every consent of a subject inside a MyData erasure transaction."""
        cursor = self.db.execute(
            conn, "DELETE FROM privacy_consents WHERE tenant = ? AND subject = ?", (tenant, subject)
        )
        self._bump(conn, tenant)
        return cursor.rowcount
