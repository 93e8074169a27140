"""Log checkpoints (signed tree heads) and witness cosignatures.

The body follows C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the log's origin line, the
tree size in decimal, the base64 root hash, then optional extension lines; it is carried in a C2SP
signed note.  Witnesses add ``cosignature/v1`` lines (https://c2sp.org/tlog-cosignature): an
Ed25519 signature over ``"cosignature/v1\\ntime <t>\\n" + body``, encoded as the 8-byte big-endian
timestamp [s since the Unix epoch] followed by the signature.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass, field

from cityos.ledger.hashing import HASH_SIZE
from cityos.ledger.signed_note import (
    COSIGNATURE_V1,
    Note,
    NoteError,
    NoteSignature,
    Signer,
    Verifier,
    find_signature,
    parse_note,
    sign_note,
    verify_note,
)


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: origin, tree size [entries] and root hash [32 bytes]."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.origin or any(c.isspace() and c != " " for c in self.origin):
            raise NoteError("checkpoint origin must be one non-empty line")
        if self.size < 0:
            raise NoteError("checkpoint tree size must be >= 0")
        if len(self.root_hash) != HASH_SIZE:
            raise NoteError("checkpoint root hash must be 32 bytes")

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode()]
        return "".join(line + "\n" for line in (*lines, *self.extensions))

    @classmethod
    def from_body(cls, text: str) -> Checkpoint:
        lines = text.split("\n")[:-1]
        if len(lines) < 3:
            raise NoteError("checkpoint needs origin, size and root hash lines")
        origin, size, root = lines[0], lines[1], lines[2]
        if not size.isascii() or not size.isdigit() or (size != "0" and size.startswith("0")):
            raise NoteError(f"checkpoint tree size {size!r} is not a decimal number")
        try:
            root_hash = base64.b64decode(root, validate=True)
        except binascii.Error:
            raise NoteError("checkpoint root hash is not base64") from None
        return cls(origin, int(size), root_hash, tuple(lines[3:]))


def sign_checkpoint(checkpoint: Checkpoint, log_key: Signer) -> str:
    """Signed note of ``checkpoint`` under the log's key."""
    if log_key.name != checkpoint.origin:
        raise NoteError("the log key name must equal the checkpoint origin")
    return sign_note(checkpoint.body(), log_key).encode()


def open_checkpoint(encoded: str, log_key: Verifier) -> tuple[Checkpoint, Note]:
    """Parse a signed checkpoint and check the log's signature and origin.

    Raises
    ------
    NoteError
        On malformed notes, a forged or missing log signature, or a foreign origin.
    """
    note = parse_note(encoded)
    verify_note(note, log_key)
    checkpoint = Checkpoint.from_body(note.text)
    if checkpoint.origin != log_key.name:
        raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not {log_key.name!r}")
    return checkpoint, note


def _cosigned_message(body: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


def cosign(encoded: str, log_key: Verifier, witness: Signer, timestamp: int | None = None) -> str:
    """A witness checks the log's signature, then adds its ``cosignature/v1`` line."""
    if witness.sig_type != COSIGNATURE_V1:
        raise NoteError("a witness key signs with type cosignature/v1 (0x04)")
    _, note = open_checkpoint(encoded, log_key)
    t = int(time.time()) if timestamp is None else timestamp
    sig = witness.sign(_cosigned_message(note.text, t))
    line = NoteSignature(witness.name, witness.verifier.key_hash, t.to_bytes(8, "big") + sig)
    return Note(note.text, (*note.signatures, line)).encode()


def verify_cosignature(encoded: str, witness: Verifier) -> int:
    """Check a witness cosignature on a signed checkpoint; return its timestamp [s]."""
    note = parse_note(encoded)
    sig = find_signature(note, witness)
    if sig is None:
        raise NoteError(f"checkpoint is not cosigned by {witness.name!r}")
    if len(sig.signature) != 8 + 64:
        raise NoteError("a cosignature is an 8-byte timestamp and a 64-byte signature")
    t = int.from_bytes(sig.signature[:8], "big")
    if not witness.verify(_cosigned_message(note.text, t), sig.signature[8:]):
        raise NoteError(f"cosignature of {witness.name!r} does not verify")
    return t
