"""The prime-order group ristretto255 (RFC 9496) through libsodium, and its scalars.

Points are their 32-byte canonical encodings (the identity is 32 zero bytes); scalars are Python
integers modulo the group order :data:`ORDER`. libsodium refuses a scalar multiplication whose
result is the identity; here such products are the identity, as in the group.
"""

from __future__ import annotations

import ctypes.util
import hashlib
import secrets

if ctypes.util.find_library("sodium") is None:  # pragma: no cover - depends on the machine
    raise ImportError(
        "libsodium is not installed: run scripts/libsodium.sh (Debian package libsodium23)"
    )

import pysodium

#: Order of the ristretto255 group: 2**252 + 27742317777372353535851937790883648493.
ORDER = 2**252 + 27742317777372353535851937790883648493
IDENTITY = bytes(32)


class GroupError(ValueError):
    """An encoding that is not a point or a scalar of the group."""


def scalar_bytes(k: int) -> bytes:
    return (k % ORDER).to_bytes(32, "little")


def random_scalar() -> int:
    """A uniformly random non-zero scalar."""
    while True:
        k = secrets.randbelow(ORDER)
        if k:
            return k


def base_mul(k: int) -> bytes:
    """``g^k`` for the standard generator ``g``."""
    k %= ORDER
    if k == 0:
        return IDENTITY
    return pysodium.crypto_scalarmult_ristretto255_base(scalar_bytes(k))


def mul(k: int, point: bytes) -> bytes:
    """``point^k``."""
    k %= ORDER
    if k == 0 or point == IDENTITY:
        return IDENTITY
    return pysodium.crypto_scalarmult_ristretto255(scalar_bytes(k), point)


def add(p: bytes, q: bytes) -> bytes:
    """The group operation (written multiplicatively elsewhere: ``p · q``)."""
    return pysodium.crypto_core_ristretto255_add(p, q)


def sub(p: bytes, q: bytes) -> bytes:
    """``p · q⁻¹``."""
    return pysodium.crypto_core_ristretto255_sub(p, q)


def point(data: object) -> bytes:
    """A point from its hex encoding, checked to be a canonical group element."""
    try:
        raw = bytes.fromhex(data) if isinstance(data, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != 32 or not (
        raw == IDENTITY or pysodium.crypto_core_ristretto255_is_valid_point(raw)
    ):
        raise GroupError(f"not a ristretto255 point: {str(data)[:80]!r}")
    return raw


def scalar(data: object) -> int:
    """A scalar from its hex encoding (32 bytes little-endian, canonical)."""
    try:
        raw = bytes.fromhex(data) if isinstance(data, str) else b""
    except ValueError:
        raw = b""
    value = int.from_bytes(raw, "little") if len(raw) == 32 else ORDER
    if value >= ORDER:
        raise GroupError(f"not a canonical scalar: {str(data)[:80]!r}")
    return value


def hash_to_scalar(*parts: bytes | str | int) -> int:
    """The Fiat-Shamir challenge of a transcript: SHA-512 of its length-prefixed parts, reduced
    modulo the order."""
    digest = hashlib.sha512(b"cityos-voting-v1")
    for part in parts:
        if isinstance(part, int):
            part = scalar_bytes(part)
        elif isinstance(part, str):
            part = part.encode()
        digest.update(len(part).to_bytes(4, "big") + part)
    return int.from_bytes(digest.digest(), "little") % ORDER


GENERATOR = base_mul(1)
