"""``did:key`` identifiers for Ed25519 keys (W3C CCG did:key method, v0.7).

A ``did:key`` is the public key itself: ``did:key:z`` + base58btc(multicodec ``ed25519-pub``
``0xed 0x01`` ‖ 32-byte key). ``z`` is the multibase prefix of base58btc (the Bitcoin alphabet).
Resolving one needs no registry, so a signature by a citizen's key is checked offline from the DID.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from cityos.ledger._errors import LedgerError
from cityos.ledger.signed_note import raw_public_key

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
ED25519_PUB = b"\xed\x01"
"""Multicodec prefix of an Ed25519 public key (code 0xed as an unsigned varint)."""
PREFIX = "did:key:z"
MAX_DID_LENGTH = 128


class InvalidDid(LedgerError):
    """A string is not an Ed25519 ``did:key``."""

    title = "Invalid DID"
    status = 400


def b58encode(data: bytes) -> str:
    """Base58btc encoding: each leading zero byte becomes ``1``, the rest a base-58 number."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 58)
        out.append(ALPHABET[r])
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    """Inverse of :func:`b58encode`; raises :class:`InvalidDid` on a character outside base58."""
    n = 0
    for c in text:
        digit = _INDEX.get(c)
        if digit is None:
            raise InvalidDid(f"{c!r} is not a base58btc character")
        n = n * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * zeros + body


def did_from_public_key(public_key: bytes) -> str:
    """The ``did:key`` of a raw 32-byte Ed25519 public key."""
    if len(public_key) != 32:
        raise InvalidDid("an Ed25519 public key has 32 bytes")
    return PREFIX + b58encode(ED25519_PUB + public_key)


def did_of(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The ``did:key`` of an Ed25519 key (private keys give their public half's DID)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return did_from_public_key(raw_public_key(public))


def public_key_of(did: str) -> bytes:
    """The raw Ed25519 public key a ``did:key`` names.

    Raises
    ------
    InvalidDid
        If ``did`` is not a string ``did:key:z...`` whose base58btc body is ``0xed01`` followed by
        32 bytes (other key types, fragments and other DID methods are refused).
    """
    if not isinstance(did, str) or len(did) > MAX_DID_LENGTH:
        raise InvalidDid("a DID is a string of at most 128 characters")
    return _decode(did)


@lru_cache(maxsize=65_536)
def _decode(did: str) -> bytes:
    """Decode a DID string (cached: a DID always names the same key; errors are not cached)."""
    if not did.startswith(PREFIX):
        raise InvalidDid(f"{did!r} is not a base58btc did:key (did:key:z...)")
    raw = b58decode(did[len(PREFIX) :])
    if not raw.startswith(ED25519_PUB):
        raise InvalidDid(f"{did!r} is not an Ed25519 did:key (multicodec 0xed01)")
    if len(raw) != 34:
        raise InvalidDid(f"{did!r} does not hold a 32-byte Ed25519 key")
    if did_from_public_key(raw[2:]) != did:
        raise InvalidDid(f"{did!r} is not in canonical base58btc form")
    return raw[2:]


def verify_signature(did: str, message: bytes, signature: bytes) -> bool:
    """True if ``signature`` is the Ed25519 signature of ``message`` by the key of ``did``."""
    key = Ed25519PublicKey.from_public_bytes(public_key_of(did))
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def did_document(did: str) -> dict[str, object]:
    """The DID document a ``did:key`` resolves to (one Ed25519 verification method)."""
    public_key_of(did)
    method = f"{did}#{did[len('did:key:') :]}"
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [
            {
                "id": method,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": did[len("did:key:") :],
            }
        ],
        "authentication": [method],
        "assertionMethod": [method],
        "capabilityDelegation": [method],
        "capabilityInvocation": [method],
    }
