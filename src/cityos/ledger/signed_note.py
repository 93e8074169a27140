"""C2SP signed notes: text plus Ed25519 signature lines (https://c2sp.org/signed-note).

A note is UTF-8 text of one or more newline-terminated lines, a blank line, then one signature line
per signer: ``— <key name> <base64(key hash || signature)>``.  The key hash is the first 4 bytes of
``SHA-256(key name || "\\n" || signature type || public key)``; the type byte is ``0x01`` for a
plain Ed25519 signature over the note text, ``0x04`` for a ``cosignature/v1`` witness signature
(https://c2sp.org/tlog-cosignature).  Verifier keys are written ``<name>+<hex key hash>+<base64(type
|| public key)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from cityos.ledger._errors import LedgerError

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
SIGNATURE_PREFIX = "\u2014 "
MAX_SIGNATURES = 100


class NoteError(LedgerError):
    """A signed note is malformed, or its signatures do not verify."""

    title = "Invalid signed note"
    status = 422


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def key_hash(name: str, sig_type: int, public_key: bytes) -> bytes:
    """4-byte key hash of a signer (C2SP signed-note, "Signatures")."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key).digest()[:4]


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    """32-byte raw encoding of an Ed25519 public key."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """A named Ed25519 public key that checks note signatures of one type."""

    name: str
    public_key: bytes
    sig_type: int = ED25519

    def __post_init__(self) -> None:
        if not _valid_name(self.name):
            raise NoteError(f"invalid key name {self.name!r}")
        if len(self.public_key) != 32:
            raise NoteError("an Ed25519 public key has 32 bytes")

    @property
    def key_hash(self) -> bytes:
        return key_hash(self.name, self.sig_type, self.public_key)

    def encode(self) -> str:
        """Verifier key string ``name+hash+base64(type||key)``."""
        blob = base64.b64encode(bytes([self.sig_type]) + self.public_key).decode()
        return f"{self.name}+{self.key_hash.hex()}+{blob}"

    @classmethod
    def decode(cls, text: str) -> Verifier:
        """Parse a verifier key string, checking its embedded key hash."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError("a verifier key is name+hash+key")
        name, hex_hash, blob = parts
        try:
            raw = base64.b64decode(blob, validate=True)
            expected = bytes.fromhex(hex_hash)
        except (binascii.Error, ValueError) as exc:
            raise NoteError(f"verifier key is not well encoded: {exc}") from None
        if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
            raise NoteError("verifier key must be a type byte and a 32-byte Ed25519 key")
        verifier = cls(name, raw[1:], raw[0])
        if verifier.key_hash != expected:
            raise NoteError("verifier key hash does not match its name and key")
        return verifier

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True if ``signature`` is a valid Ed25519 signature of ``message``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """A named Ed25519 private key."""

    name: str
    private_key: Ed25519PrivateKey
    sig_type: int = ED25519

    @classmethod
    def generate(cls, name: str, sig_type: int = ED25519) -> Signer:
        return cls(name, Ed25519PrivateKey.generate(), sig_type)

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, raw_public_key(self.private_key.public_key()), self.sig_type)

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: signer name, key hash and signature bytes."""

    name: str
    key_hash: bytes
    signature: bytes

    def line(self) -> str:
        blob = base64.b64encode(self.key_hash + self.signature).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {blob}\n"


@dataclass(frozen=True)
class Note:
    """Note text and its signatures."""

    text: str
    signatures: tuple[NoteSignature, ...] = ()

    def encode(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)


def check_text(text: str) -> None:
    """Reject note text that C2SP signed-note does not allow."""
    if not text or not text.endswith("\n"):
        raise NoteError("note text must be non-empty and end with a newline")
    if "\n\n" in text or text.startswith("\n"):
        raise NoteError("note text must not contain blank lines")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("note text must not contain control characters")


def sign_note(text: str, signer: Signer) -> Note:
    """Sign ``text`` with a plain Ed25519 note signature."""
    check_text(text)
    sig = NoteSignature(signer.name, signer.verifier.key_hash, signer.sign(text.encode()))
    return Note(text, (sig,))


def parse_note(encoded: str) -> Note:
    """Split a signed note into text and signature lines (signatures are not checked here)."""
    if len(encoded) > 1_000_000:
        raise NoteError("note too large")
    split = encoded.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no signature block")
    text, block = encoded[: split + 1], encoded[split + 2 :]
    check_text(text)
    if not block.endswith("\n"):
        raise NoteError("signature block must end with a newline")
    sigs = []
    for line in block[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError(f"malformed signature line {line!r}")
        name, _, blob = line[len(SIGNATURE_PREFIX) :].partition(" ")
        if not _valid_name(name) or not blob or " " in blob:
            raise NoteError(f"malformed signature line {line!r}")
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error:
            raise NoteError(f"signature of {name!r} is not base64") from None
        if len(raw) < 5:
            raise NoteError(f"signature of {name!r} is too short")
        sigs.append(NoteSignature(name, raw[:4], raw[4:]))
    if not sigs or len(sigs) > MAX_SIGNATURES:
        raise NoteError("a note needs between 1 and 100 signatures")
    return Note(text, tuple(sigs))


def find_signature(note: Note, verifier: Verifier) -> NoteSignature | None:
    """The signature line made by ``verifier``'s key, if any."""
    for sig in note.signatures:
        if sig.name == verifier.name and sig.key_hash == verifier.key_hash:
            return sig
    return None


def verify_note(note: Note, verifier: Verifier) -> None:
    """Check the plain Ed25519 signature of ``verifier`` on the note.

    Raises
    ------
    NoteError
        If the verifier did not sign the note or the signature is forged.
    """
    sig = find_signature(note, verifier)
    if sig is None:
        raise NoteError(f"note is not signed by {verifier.name!r}")
    if not verifier.verify(note.text.encode(), sig.signature):
        raise NoteError(f"signature of {verifier.name!r} does not verify")
