"""Proposals, their support signatures and comments, in the service's own SQLite file.

A proposal names a city problem (title, text, category, optional place on the twin map). Verified
residents support it with one signature each — a second one is refused by the database itself
(``UNIQUE (proposal, signer)``), however many requests race. Reaching a threshold obliges an
official answer within a deadline, as Democracy Seoul does (50 supporters: the department
answers; 1,000: the mayor); each level reached is recorded with its due date, shown as overdue
until answered. Texts are stored as given (size-limited, control characters refused) and are
escaped by whoever renders them.
"""

from __future__ import annotations

import math
import re
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cityos.core.errors import AlreadyExists, BadRequestData, ResourceNotFound
from cityos.core.sqlite_file import SqliteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS gov_proposal (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL, category TEXT NOT NULL,
    lat REAL, lon REAL, author TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS gov_signature (
    proposal TEXT NOT NULL REFERENCES gov_proposal (id) ON DELETE CASCADE,
    signer TEXT NOT NULL, signed_at REAL NOT NULL, PRIMARY KEY (proposal, signer)
);
CREATE TABLE IF NOT EXISTS gov_level (
    proposal TEXT NOT NULL REFERENCES gov_proposal (id) ON DELETE CASCADE,
    level TEXT NOT NULL, reached_at REAL NOT NULL, due_at REAL NOT NULL,
    answer TEXT, answered_by TEXT, answered_at REAL, PRIMARY KEY (proposal, level)
);
CREATE TABLE IF NOT EXISTS gov_comment (
    id TEXT PRIMARY KEY, proposal TEXT NOT NULL REFERENCES gov_proposal (id) ON DELETE CASCADE,
    parent TEXT REFERENCES gov_comment (id), author TEXT NOT NULL, body TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS gov_comment_proposal ON gov_comment (proposal, created_at);
"""

CATEGORIES = ("mobility", "environment", "safety", "health", "education", "culture",
              "energy", "housing", "governance", "other")  # fmt: skip
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
DAY_S = 86_400.0


@dataclass(frozen=True)
class Threshold:
    """Supporters that oblige an answer from ``who`` within ``days``."""

    level: str
    supporters: int
    who: str
    days: int


#: Democracy Seoul's rule, the default: 50 supporters, the department; 1,000, the mayor.
DEFAULT_THRESHOLDS = (
    Threshold("department", 50, "the responsible department", 30),
    Threshold("mayor", 1000, "the mayor", 30),
)


@dataclass
class Proposal:
    id: str
    title: str
    body: str
    category: str
    lat: float | None
    lon: float | None
    author: str
    created_at: float
    supporters: int = 0
    levels: list[dict[str, Any]] = field(default_factory=list)


def clean_text(value: object, name: str, limit: int) -> str:
    """A trimmed text of 1..``limit`` characters without control characters."""
    if not isinstance(value, str) or not value.strip():
        raise BadRequestData(f"{name!r} must be a non-empty text")
    text = value.strip()
    if len(text) > limit:
        raise BadRequestData(f"{name!r} is longer than {limit} characters")
    if _CONTROL.search(text):
        raise BadRequestData(f"{name!r} contains control characters")
    return text


class PetitionStore:
    """Proposals with signatures, thresholds and comments (see the module docstring)."""

    def __init__(self, path: Path, thresholds: tuple[Threshold, ...] = DEFAULT_THRESHOLDS) -> None:
        self.file = SqliteFile(path, SCHEMA)
        self.thresholds = tuple(sorted(thresholds, key=lambda t: t.supporters))

    def propose(self, author: str, title: object, body: object, category: object,
                lat: float | None = None, lon: float | None = None) -> Proposal:  # fmt: skip
        if category not in CATEGORIES:
            raise BadRequestData(f"'category' must be one of {', '.join(CATEGORIES)}")
        if (lat is None) != (lon is None):
            raise BadRequestData("give both 'lat' and 'lon', or neither")
        if lat is not None and lon is not None:
            finite = math.isfinite(lat) and math.isfinite(lon)
            if not (finite and -90 <= lat <= 90 and -180 <= lon <= 180):
                raise BadRequestData("'lat'/'lon' are out of range")
        proposal = Proposal(
            f"urn:ngsi-ld:CivicProposal:{uuid.uuid4()}",
            clean_text(title, "title", 200),
            clean_text(body, "body", 10_000),
            str(category),
            lat,
            lon,
            author,
            time.time(),
        )
        with self.file.write() as con:
            con.execute(
                "INSERT INTO gov_proposal VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (proposal.id, proposal.title, proposal.body, proposal.category, lat, lon,
                 author, proposal.created_at),
            )  # fmt: skip
        return proposal

    def sign(self, proposal_id: str, signer: str, now: float | None = None) -> Proposal:
        """Add ``signer``'s support; AlreadyExists for a second signature of the same person."""
        moment = time.time() if now is None else now
        with self.file.write() as con:
            self._row(con, proposal_id)
            try:
                con.execute("INSERT INTO gov_signature VALUES (?, ?, ?)",
                            (proposal_id, signer, moment))  # fmt: skip
            except sqlite3.IntegrityError:
                raise AlreadyExists(f"{signer} already supports {proposal_id}") from None
            count = con.execute(
                "SELECT count(*) FROM gov_signature WHERE proposal = ?", (proposal_id,)
            ).fetchone()[0]
            for t in self.thresholds:
                if count >= t.supporters:
                    con.execute(
                        "INSERT OR IGNORE INTO gov_level (proposal, level, reached_at, due_at) "
                        "VALUES (?, ?, ?, ?)",
                        (proposal_id, t.level, moment, moment + t.days * DAY_S),
                    )
        return self.get(proposal_id)

    def answer(self, proposal_id: str, level: str, text: object, by: str) -> Proposal:
        """Record the official answer of a level the proposal reached."""
        answer = clean_text(text, "answer", 20_000)
        with self.file.write() as con:
            self._row(con, proposal_id)
            row = con.execute(
                "SELECT answer FROM gov_level WHERE proposal = ? AND level = ?",
                (proposal_id, level),
            ).fetchone()
            if row is None:
                raise BadRequestData(f"the proposal has not reached the {level!r} threshold")
            if row[0] is not None:
                raise AlreadyExists(f"the {level!r} answer was already given")
            con.execute(
                "UPDATE gov_level SET answer = ?, answered_by = ?, answered_at = ? "
                "WHERE proposal = ? AND level = ?",
                (answer, by, time.time(), proposal_id, level),
            )
        return self.get(proposal_id)

    def comment(self, proposal_id: str, author: str, body: object,
                parent: str | None = None) -> dict[str, Any]:  # fmt: skip
        text = clean_text(body, "body", 5_000)
        with self.file.write() as con:
            self._row(con, proposal_id)
            if (
                parent is not None
                and con.execute(
                    "SELECT 1 FROM gov_comment WHERE id = ? AND proposal = ?", (parent, proposal_id)
                ).fetchone()
                is None
            ):
                raise BadRequestData(f"no comment {parent!r} on this proposal to reply to")
            comment_id = str(uuid.uuid4())
            moment = time.time()
            con.execute("INSERT INTO gov_comment VALUES (?, ?, ?, ?, ?, ?)",
                        (comment_id, proposal_id, parent, author, text, moment))  # fmt: skip
        return {"id": comment_id, "parent": parent, "author": author, "body": text,
                "createdAt": moment}  # fmt: skip

    def comments(self, proposal_id: str) -> list[dict[str, Any]]:
        with self.file.connect() as con:
            self._row(con, proposal_id)
            rows = con.execute(
                "SELECT id, parent, author, body, created_at FROM gov_comment "
                "WHERE proposal = ? ORDER BY created_at, id",
                (proposal_id,),
            ).fetchall()
        return [{"id": i, "parent": p, "author": a, "body": b, "createdAt": t}
                for i, p, a, b, t in rows]  # fmt: skip

    def get(self, proposal_id: str) -> Proposal:
        with self.file.connect() as con:
            return self._load(con, self._row(con, proposal_id))

    def list(
        self, *, category: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[Proposal]:
        """Proposals by support (most first), then newest."""
        where, params = ("WHERE p.category = ?", [category]) if category else ("", [])
        with self.file.connect() as con:
            rows = con.execute(
                f"SELECT p.* FROM gov_proposal p LEFT JOIN gov_signature s ON s.proposal = p.id "
                f"{where} GROUP BY p.id ORDER BY count(s.signer) DESC, p.created_at DESC "
                "LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
            return [self._load(con, r) for r in rows]

    # -- MyData (cityos.privacy.mydata.ServiceRecords) -------------------------------------
    def export_subject(self, subject: str) -> dict[str, Any]:
        """Everything here about ``subject``: proposals, supports, comments, answers given."""
        with self.file.connect() as con:
            proposals = [
                self._load(con, r)
                for r in con.execute("SELECT * FROM gov_proposal WHERE author = ?", (subject,))
            ]
            supported = [r[0] for r in con.execute(
                "SELECT proposal FROM gov_signature WHERE signer = ? ORDER BY signed_at",
                (subject,),
            )]  # fmt: skip
            comments = [
                {"id": i, "proposal": p, "body": b, "createdAt": t}
                for i, p, b, t in con.execute(
                    "SELECT id, proposal, body, created_at FROM gov_comment WHERE author = ?",
                    (subject,),
                )
            ]
        return {
            "proposals": [{"id": p.id, "title": p.title, "body": p.body} for p in proposals],
            "supported": supported,
            "comments": comments,
        }

    def erase_subject(self, subject: str) -> int:
        """Delete ``subject``'s proposals (with their supports and discussion), supports and
        comments; a reply to an erased comment stays, detached. Returns the rows deleted."""
        with self.file.write() as con:
            erased = con.execute(
                "SELECT id FROM gov_comment WHERE author = ? OR proposal IN "
                "(SELECT id FROM gov_proposal WHERE author = ?)",
                (subject, subject),
            ).fetchall()
            con.executemany(
                "UPDATE gov_comment SET parent = NULL WHERE parent = ?", erased
            )  # fmt: skip
            removed = con.execute("DELETE FROM gov_comment WHERE author = ?", (subject,)).rowcount
            removed += con.execute(
                "DELETE FROM gov_signature WHERE signer = ?", (subject,)
            ).rowcount
            removed += con.execute("DELETE FROM gov_proposal WHERE author = ?", (subject,)).rowcount
        return removed

    @staticmethod
    def _row(con: sqlite3.Connection, proposal_id: str) -> tuple[Any, ...]:
        row = con.execute("SELECT * FROM gov_proposal WHERE id = ?", (proposal_id,)).fetchone()
        if row is None:
            raise ResourceNotFound(f"no proposal {proposal_id!r}")
        return row

    def _load(self, con: sqlite3.Connection, row: tuple[Any, ...]) -> Proposal:
        proposal = Proposal(*row)
        proposal.supporters = con.execute(
            "SELECT count(*) FROM gov_signature WHERE proposal = ?", (proposal.id,)
        ).fetchone()[0]
        reached = {
            r[0]: r
            for r in con.execute(
                "SELECT level, reached_at, due_at, answer, answered_by, answered_at "
                "FROM gov_level WHERE proposal = ?",
                (proposal.id,),
            )
        }
        now = time.time()
        for t in self.thresholds:
            level: dict[str, Any] = {"level": t.level, "supporters": t.supporters, "who": t.who,
                                     "days": t.days, "reached": t.level in reached}  # fmt: skip
            if t.level in reached:
                _, reached_at, due_at, answer, by, answered_at = reached[t.level]
                level |= {"reachedAt": reached_at, "dueAt": due_at, "answer": answer,
                          "answeredBy": by, "answeredAt": answered_at,
                          "overdue": answer is None and now > due_at}  # fmt: skip
            proposal.levels.append(level)
        return proposal
