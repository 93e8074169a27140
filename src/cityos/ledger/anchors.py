"""Anchors: publishing the log's checkpoints to systems outside the operator's control.

An anchor receives each new checkpoint with a consistency proof from the last checkpoint it saw,
checks the log's signature and the proof, and only then records it - so the operator cannot show
two different histories (a *split view*) or rewrite one without the anchor refusing. Witnesses
answer with a C2SP ``cosignature/v1`` line (https://c2sp.org/tlog-cosignature) that auditors check
offline with :func:`~cityos.ledger.checkpoint.verify_cosignature`.

Built-in anchors, chosen by name from :data:`ANCHORS`:

* ``file`` - :class:`FileWitness`, a witness whose state (its key and the latest checkpoint it
  cosigned) lives in a directory, e.g. on storage another party controls;
* ``http`` - :class:`HttpWitness`, a client of a remote witness speaking the C2SP tlog-witness
  ``add-checkpoint`` protocol (https://c2sp.org/tlog-witness).

Another system (an EVM chain, another city's log) plugs in by implementing :class:`Anchor`.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from cityos.ledger._errors import LedgerError
from cityos.ledger.checkpoint import cosign, open_checkpoint
from cityos.ledger.proofs import verify_consistency
from cityos.ledger.signed_note import COSIGNATURE_V1, Signer, Verifier, parse_note


class AnchorConflict(LedgerError):
    """The anchor holds a checkpoint the new one does not extend (old size differs or a split
    view / rewritten history was detected)."""

    title = "Anchor conflict"
    status = 409


class InvalidWitnessRequest(LedgerError):
    """An ``add-checkpoint`` request is not in the tlog-witness format."""

    title = "Invalid witness request"
    status = 400


class Anchor(Protocol):
    """Something checkpoints are published to."""

    name: str

    def latest_size(self, log_key: Verifier) -> int:
        """Tree size of the latest checkpoint of this log the anchor accepted (0 if none)."""
        ...

    def add_checkpoint(
        self, note: str, old_size: int, proof: list[bytes], log_key: Verifier
    ) -> str:
        """Accept ``note`` if it extends the anchor's latest by ``proof``; return it cosigned."""
        ...


def check_extension(
    latest: str | None, note: str, old_size: int, proof: list[bytes], log_key: Verifier
) -> None:
    """A witness's rule: ``note`` must verify and extend ``latest`` (c2sp tlog-witness).

    Raises
    ------
    AnchorConflict
        If ``old_size`` is not the size of ``latest`` or the proof does not verify.
    NoteError
        If ``note`` is not signed by the log.
    """
    new, _ = open_checkpoint(note, log_key)
    old_root = None
    size = 0
    if latest is not None:
        old, _ = open_checkpoint(latest, log_key)
        size, old_root = old.size, old.root_hash
    if old_size != size:
        raise AnchorConflict(f"the witness is at size {size}, not {old_size}", latest_size=size)
    if new.size < size:
        raise AnchorConflict(f"checkpoint size {new.size} is older than the witness's {size}")
    if old_root is not None:
        try:
            verify_consistency(size, new.size, old_root, new.root_hash, proof)
        except LedgerError as exc:
            raise AnchorConflict(
                f"the checkpoint does not extend the one the witness holds: {exc.detail}"
            ) from None


class FileWitness:
    """A witness whose key and state live in ``directory`` (mode 0700).

    ``directory/witness.key`` holds its Ed25519 key; ``directory/<log key hash>.checkpoint`` the
    latest checkpoint it cosigned for each log; ``directory/log.jsonl`` every cosigned checkpoint.
    """

    def __init__(self, directory: Path, name: str = "witness.cityos.example") -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        key_file = self.directory / "witness.key"
        if not key_file.exists():
            raw = Ed25519PrivateKey.generate().private_bytes(
                Encoding.Raw, PrivateFormat.Raw, NoEncryption()
            )
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(json.dumps({"name": name, "key": base64.b64encode(raw).decode()}))
        doc = json.loads(key_file.read_text())
        key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(doc["key"]))
        self.signer = Signer(doc["name"], key, COSIGNATURE_V1)
        self.name = self.signer.name

    @property
    def verifier(self) -> Verifier:
        """The witness's cosignature verifier key (give it to auditors)."""
        return self.signer.verifier

    def _state(self, log_key: Verifier) -> Path:
        return self.directory / f"{log_key.key_hash.hex()}.checkpoint"

    def latest(self, log_key: Verifier) -> str | None:
        path = self._state(log_key)
        return path.read_text() if path.exists() else None

    def latest_size(self, log_key: Verifier) -> int:
        latest = self.latest(log_key)
        return 0 if latest is None else open_checkpoint(latest, log_key)[0].size

    def add_checkpoint(
        self, note: str, old_size: int, proof: list[bytes], log_key: Verifier
    ) -> str:
        check_extension(self.latest(log_key), note, old_size, proof, log_key)
        cosigned = cosign(note, log_key, self.signer)
        path = self._state(log_key)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(note)
        os.replace(tmp, path)  # atomic: the state is the old or the new checkpoint, never half
        with (self.directory / "log.jsonl").open("a") as out:
            out.write(json.dumps({"log": log_key.encode(), "checkpoint": cosigned}) + "\n")
        return cosigned


class HttpWitness:
    """Client of a C2SP tlog-witness: ``POST <url>/add-checkpoint``.

    The request body is ``old <size>\\n``, one base64 proof hash per line, a blank line, then the
    signed checkpoint; a 200 answer carries the witness's signature lines, 409 its current size.
    """

    def __init__(self, url: str, witness_key: Verifier, *, client: object | None = None) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.witness_key = witness_key
        self.name = witness_key.name
        self.client = client if client is not None else httpx.Client(timeout=10.0)
        self._size: dict[str, int] = {}

    def latest_size(self, log_key: Verifier) -> int:
        return self._size.get(log_key.encode(), 0)

    def add_checkpoint(
        self, note: str, old_size: int, proof: list[bytes], log_key: Verifier
    ) -> str:
        lines = [f"old {old_size}", *(base64.b64encode(h).decode() for h in proof)]
        body = "\n".join(lines) + "\n\n" + note
        response = self.client.post(  # type: ignore[attr-defined]
            f"{self.url}/add-checkpoint",
            content=body.encode(),
            headers={"content-type": "text/plain"},
        )
        if response.status_code == 409:
            size = int(response.text.strip() or 0)
            self._size[log_key.encode()] = size
            raise AnchorConflict(f"the witness is at size {size}", latest_size=size)
        if response.status_code != 200:
            raise AnchorConflict(f"the witness refused the checkpoint ({response.status_code})")
        cosigned = note + response.text
        parse_note(cosigned)
        self._size[log_key.encode()] = open_checkpoint(note, log_key)[0].size
        return cosigned


def parse_add_checkpoint(body: str) -> tuple[int, list[bytes], str]:
    """Split a tlog-witness ``add-checkpoint`` request into (old size, proof, checkpoint)."""
    head, sep, note = body.partition("\n\n")
    lines = head.split("\n")
    if not sep or not lines[0].startswith("old ") or not lines[0][4:].isdigit():
        raise InvalidWitnessRequest(
            "an add-checkpoint request starts with 'old <size>', proof lines and a blank line"
        )
    try:
        proof = [base64.b64decode(line, validate=True) for line in lines[1:]]
    except ValueError:
        raise InvalidWitnessRequest("proof lines must be base64 hashes") from None
    return int(lines[0][4:]), proof, note


ANCHORS = {"file": FileWitness, "http": HttpWitness}
"""Anchor kinds by name, in one visible place."""


def anchor_named(name: str) -> type:
    """The anchor class called ``name``; raises ``ValueError`` listing the known ones."""
    try:
        return ANCHORS[name]  # type: ignore[return-value]
    except KeyError:
        raise ValueError(f"unknown anchor {name!r}; known: {', '.join(ANCHORS)}") from None
