"""The server's periodic ledger duties: anchor the audit head, publish to witnesses.

Every ``CITYOS_LEDGER_ANCHOR_INTERVAL_S`` the server (1) checks the privacy audit trail against its
anchored heads and notarises the current head, and (2) publishes the latest checkpoint to every
witness in ``CITYOS_LEDGER_WITNESSES`` (C2SP tlog-witness URLs and their cosignature keys),
collecting their cosignatures into one *witnessed checkpoint* served at
``GET /ledger/v1/checkpoint/witnessed``. A witness that is down or refuses is logged and retried
next round; it never stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from cityos.core.errors import CityOSError
from cityos.core.logging import get_logger
from cityos.ledger.anchors import HttpWitness
from cityos.ledger.audit_anchor import anchor_audit_head, check_audit_against_anchors
from cityos.ledger.service import Ledger
from cityos.ledger.signed_note import Note, Verifier, parse_note

log = get_logger(__name__)


def parse_witnesses(text: str) -> list[tuple[str, Verifier]]:
    """``"URL KEY, URL KEY"`` -> (witness URL, cosignature verifier key) pairs.

    Raises
    ------
    ValueError
        For an item that is not a URL and a verifier key separated by a space.
    """
    found = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        url, _, key = item.partition(" ")
        if not url.startswith(("http://", "https://")) or not key.strip():
            raise ValueError(f"invalid witness {item!r}: use 'URL VERIFIER-KEY', comma-separated")
        try:
            found.append((url, Verifier.decode(key.strip())))
        except CityOSError as exc:
            raise ValueError(f"invalid witness key in {item!r}: {exc.detail}") from None
    return found


def merge_cosignatures(notes: list[str]) -> str:
    """One note with every signature line of ``notes`` (all over the same checkpoint text)."""
    parsed = [parse_note(n) for n in notes]
    if any(p.text != parsed[0].text for p in parsed):
        raise ValueError("cosigned notes are over different checkpoints")
    lines, seen = [], set()
    for note in parsed:
        for sig in note.signatures:
            if (sig.name, sig.key_hash) not in seen:
                seen.add((sig.name, sig.key_hash))
                lines.append(sig)
    return Note(parsed[0].text, tuple(lines)).encode()


@dataclass
class Publisher:
    """Runs the periodic duties for one ledger; keeps the latest witnessed checkpoint."""

    ledger: Ledger
    witnesses: list[HttpWitness]
    witnessed: str | None = None
    failures: dict[str, str] = field(default_factory=dict)

    def run_once(self) -> str | None:
        """Anchor the audit head, publish to every witness; returns the witnessed checkpoint."""
        storage = self.ledger.db.storage
        try:
            check_audit_against_anchors(self.ledger, storage)
            anchor_audit_head(self.ledger, storage)
        except CityOSError as exc:
            log.error(
                "privacy audit trail does not match its anchors", extra={"detail": exc.detail}
            )
            self.failures["audit"] = exc.detail
        cosigned = [self.ledger.log.checkpoint()]
        for witness in self.witnesses:
            try:
                cosigned.append(self.ledger.publish(witness))
                self.failures.pop(witness.url, None)
            except Exception as exc:  # a witness's failure must not stop the others
                detail = getattr(exc, "detail", None) or repr(exc)
                log.warning("witness refused", extra={"witness": witness.url, "detail": detail})
                self.failures[witness.url] = detail
        by_text: dict[str, list[str]] = {}
        for note in cosigned:  # a batch may commit meanwhile: keep the most-cosigned checkpoint
            by_text.setdefault(parse_note(note).text, []).append(note)
        self.witnessed = merge_cosignatures(max(by_text.values(), key=len))
        return self.witnessed


@contextlib.asynccontextmanager
async def running(publisher: Publisher, interval_s: float) -> AsyncIterator[None]:
    """Run ``publisher`` every ``interval_s`` seconds in a worker thread while the app runs."""

    async def loop() -> None:
        while True:
            await asyncio.to_thread(publisher.run_once)
            await asyncio.sleep(interval_s)

    task = asyncio.create_task(loop()) if interval_s > 0 else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def publisher_for(ledger: Ledger, settings: Any) -> Publisher:
    """The publisher configured by ``CITYOS_LEDGER_WITNESSES``."""
    pairs = parse_witnesses(settings.ledger_witnesses)
    return Publisher(ledger, [HttpWitness(url, key) for url, key in pairs])
