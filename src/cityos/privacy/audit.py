"""The audit trail: every access to personal data, appended to a hash chain.

Each entry records who (subject, roles, organisation, client), for what purpose, what happened
(``action``: ``read``, ``notify``, ``consent.grant``, ``consent.withdraw``, ``mydata.export``,
``mydata.erase``...; ``outcome``: ``released``, ``withheld``, ``partial``, ``done``), which data
subjects, when, and the break-glass justification if any. Rows are append-only (database
triggers refuse UPDATE and DELETE) and chained: ``hash = SHA-256(prev_hash || canonical JSON of
the entry)``, so changing, removing or reordering any row breaks :meth:`AuditTrail.verify` from
that row on. Anchoring the chain head on the ledger's transparency log is the ledger layer's job.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import orjson

from cityos.privacy.database import PG_AUDIT_LOCK, PrivacyDatabase

GENESIS = "0" * 64
_FIELDS = (
    "seq, at_us, tenant, actor, roles, org, purpose, action, outcome, subjects, entities, "
    "withheld, justification, client, prev_hash, hash"
)


@dataclass
class AuditEntry:
    """One audit record (``seq``, ``prev_hash`` and ``hash`` are set when appended)."""

    at_us: int
    tenant: str
    actor: str
    roles: tuple[str, ...]
    action: str
    outcome: str
    subjects: tuple[str, ...] = ()
    org: str | None = None
    purpose: str | None = None
    entities: int = 0
    withheld: int = 0
    justification: str | None = None
    client: str | None = None
    seq: int = 0
    prev_hash: str = GENESIS
    hash: str = field(default="")

    def canonical(self) -> bytes:
        """The bytes the chain hashes: every field but ``hash``, as sorted-key JSON."""
        return orjson.dumps(
            {
                "seq": self.seq,
                "at_us": self.at_us,
                "tenant": self.tenant,
                "actor": self.actor,
                "roles": list(self.roles),
                "org": self.org,
                "purpose": self.purpose,
                "action": self.action,
                "outcome": self.outcome,
                "subjects": list(self.subjects),
                "entities": self.entities,
                "withheld": self.withheld,
                "justification": self.justification,
                "client": self.client,
            },
            option=orjson.OPT_SORT_KEYS,
        )

    def chained_hash(self) -> str:
        return hashlib.sha256(self.prev_hash.encode() + self.canonical()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        from cityos.hub.temporal.instants import from_us

        return {
            "seq": self.seq,
            "at": from_us(self.at_us),
            "tenant": self.tenant,
            "actor": self.actor,
            "roles": list(self.roles),
            "org": self.org,
            "purpose": self.purpose,
            "action": self.action,
            "outcome": self.outcome,
            "subjects": list(self.subjects),
            "entities": self.entities,
            "withheld": self.withheld,
            "justification": self.justification,
            "client": self.client,
            "hash": self.hash,
        }


def _row(row: tuple[Any, ...]) -> AuditEntry:
    (seq, at_us, tenant, actor, roles, org, purpose, action, outcome, subjects, entities,
     withheld, justification, client, prev_hash, digest) = row  # fmt: skip
    return AuditEntry(
        at_us=at_us,
        tenant=tenant,
        actor=actor,
        roles=tuple(orjson.loads(roles)),
        action=action,
        outcome=outcome,
        subjects=tuple(orjson.loads(subjects)),
        org=org,
        purpose=purpose,
        entities=entities,
        withheld=withheld,
        justification=justification,
        client=client,
        seq=seq,
        prev_hash=prev_hash,
        hash=digest,
    )


@dataclass(frozen=True)
class Verification:
    """The outcome of checking the chain: ``valid``, entries checked, the head hash, and the
    first entry that does not verify (None if all do)."""

    valid: bool
    entries: int
    head: str
    first_bad_seq: int | None = None


class AuditTrail:
    """Append, query and verify the audit trail."""

    def __init__(self, db: PrivacyDatabase) -> None:
        self.db = db

    def append(self, entry: AuditEntry, conn: Any = None) -> AuditEntry:
        """Chain and store ``entry`` (in ``conn``'s transaction if given, else its own)."""
        if conn is not None:
            return self._append(conn, entry)
        with self.db.write() as own:
            return self._append(own, entry)

    def _append(self, conn: Any, entry: AuditEntry) -> AuditEntry:
        if self.db.dialect == "postgresql":
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (PG_AUDIT_LOCK,))
        last = conn.execute(
            "SELECT seq, hash FROM privacy_audit ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        entry.seq = (last[0] + 1) if last else 1
        entry.prev_hash = last[1] if last else GENESIS
        entry.subjects = tuple(sorted(set(entry.subjects)))
        entry.hash = entry.chained_hash()
        self.db.execute(
            conn,
            f"INSERT INTO privacy_audit ({_FIELDS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                entry.seq,
                entry.at_us,
                entry.tenant,
                entry.actor,
                orjson.dumps(list(entry.roles)).decode(),
                entry.org,
                entry.purpose,
                entry.action,
                entry.outcome,
                orjson.dumps(list(entry.subjects)).decode(),
                entry.entities,
                entry.withheld,
                entry.justification,
                entry.client,
                entry.prev_hash,
                entry.hash,
            ),
        )
        return entry

    def reindex(self, batch: int = 5000) -> int:
        """Bring the subject index (``privacy_audit_subjects``) up to date with the trail.

        Appends write only the chained row (which lists its subjects), so they stay cheap; the
        index is derived from those rows here, before any lookup by subject, and can always be
        rebuilt from them. Returns the number of entries indexed."""
        done = 0
        while True:
            with self.db.write() as conn:
                if self.db.dialect == "postgresql":
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (PG_AUDIT_LOCK + 1,))
                row = conn.execute("SELECT seq FROM privacy_audit_indexed WHERE id = 1").fetchone()
                last = row[0] if row else 0
                rows = self.db.execute(
                    conn,
                    "SELECT seq, subjects FROM privacy_audit WHERE seq > ? ORDER BY seq LIMIT ?",
                    (last, batch),
                ).fetchall()
                if not rows:
                    return done
                pairs = [(s, seq) for seq, subjects in rows for s in orjson.loads(subjects)]
                if pairs:
                    conn.cursor().executemany(
                        self.db.sql(
                            "INSERT INTO privacy_audit_subjects (subject, seq) VALUES (?, ?) "
                            "ON CONFLICT DO NOTHING"
                        ),
                        pairs,
                    )
                self.db.execute(
                    conn,
                    "INSERT INTO privacy_audit_indexed (id, seq) VALUES (1, ?) "
                    "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq",
                    (rows[-1][0],),
                )
                done += len(rows)
            if len(rows) < batch:
                return done

    def query(
        self,
        *,
        subject: str | None = None,
        actor: str | None = None,
        purpose: str | None = None,
        action: str | None = None,
        since_us: int | None = None,
        until_us: int | None = None,
        tenant: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[AuditEntry]:
        """Entries matching every given filter, oldest first."""
        where: list[str] = []
        params: list[Any] = []
        if subject is not None:
            self.reindex()
            where.append("seq IN (SELECT seq FROM privacy_audit_subjects WHERE subject = ?)")
            params.append(subject)
        for column, value in (
            ("actor", actor),
            ("purpose", purpose),
            ("action", action),
            ("tenant", tenant),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if since_us is not None:
            where.append("at_us >= ?")
            params.append(since_us)
        if until_us is not None:
            where.append("at_us < ?")
            params.append(until_us)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self.db.read() as conn:
            rows = self.db.execute(
                conn,
                f"SELECT {_FIELDS} FROM privacy_audit{clause} ORDER BY seq LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return [_row(r) for r in rows]

    def verify(self, batch: int = 5000) -> Verification:
        """Recompute the chain from the first entry; the first entry whose ``prev_hash`` or
        ``hash`` does not match, or whose ``seq`` is not the next one, makes it invalid."""
        previous, expected_seq, count = GENESIS, 1, 0
        with self.db.read() as conn:
            while True:
                rows = self.db.execute(
                    conn,
                    f"SELECT {_FIELDS} FROM privacy_audit WHERE seq >= ? ORDER BY seq LIMIT ?",
                    (expected_seq, batch),
                ).fetchall()
                for row in rows:
                    entry = _row(row)
                    ok = (
                        entry.seq == expected_seq
                        and entry.prev_hash == previous
                        and entry.chained_hash() == entry.hash
                    )
                    if not ok:
                        return Verification(False, count, previous, expected_seq)
                    previous, expected_seq, count = entry.hash, expected_seq + 1, count + 1
                if len(rows) < batch:
                    break
        return Verification(True, count, previous)
