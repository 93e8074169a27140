"""Bitstring Status List (W3C Recommendation, 2025): which credentials were revoked.

The list is a bitstring of at least 131,072 bits (16 KiB, for group privacy: a verifier fetching it
learns nothing about which credential it checks), GZIP-compressed and multibase-encoded as
base64url without padding (prefix ``u``). Bit ``i`` counts from the left-most bit of the first
byte; 1 means the status (here: ``revocation``) applies.
"""

from __future__ import annotations

import base64
import gzip

from cityos.ledger._errors import LedgerError

MIN_BITS = 131_072


class StatusListError(LedgerError):
    """A status list is malformed, too short, or an index lies outside it."""

    title = "Invalid status list"
    status = 422


def encode_list(revoked: set[int], bits: int = MIN_BITS) -> str:
    """``encodedList`` with the bits of ``revoked`` set (the list grows to hold every index)."""
    size = max(bits, MIN_BITS, (max(revoked) + 1) if revoked else 0)
    size = (size + 7) // 8 * 8
    raw = bytearray(size // 8)
    for i in revoked:
        if i < 0:
            raise StatusListError(f"status index {i} is negative")
        raw[i // 8] |= 0x80 >> (i % 8)
    packed = gzip.compress(bytes(raw), mtime=0)
    return "u" + base64.urlsafe_b64encode(packed).rstrip(b"=").decode()


def decode_list(encoded: str) -> bytes:
    """The raw bitstring of an ``encodedList``."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise StatusListError("encodedList must be multibase base64url (prefix 'u')")
    body = encoded[1:]
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        raw = gzip.decompress(packed)
    except (ValueError, OSError, EOFError) as exc:
        raise StatusListError(f"encodedList is not GZIP in base64url: {exc}") from None
    if len(raw) * 8 < MIN_BITS:
        raise StatusListError(f"a status list holds at least {MIN_BITS} bits")
    return raw


def bit(raw: bytes, index: int) -> bool:
    """Bit ``index`` of the bitstring (left-most first)."""
    if not 0 <= index < len(raw) * 8:
        raise StatusListError(f"status index {index} is outside the list of {len(raw) * 8} bits")
    return bool(raw[index // 8] & (0x80 >> (index % 8)))
