"""W3C Verifiable Credentials (data model 2.0) issued by the city, secured as JWTs.

A credential is the VC JSON itself as the claims of a JWS (VC-JOSE-COSE, media type ``vc+jwt``)
signed with the city's issuing key (Ed25519, ``alg`` ``Ed25519`` per RFC 9864) through ``joserfc``;
the ``kid`` is the issuer's ``did:key`` verification method, so anyone verifies it offline from the
DID alone. Each credential names an index in the city's Bitstring Status List; revoking it sets that
bit in the (also signed) status list credential.

Credential kinds, by name in :data:`KINDS`: ``residency`` (lives in a zone of the city),
``age_over_65`` (a predicate, never the birth date) and ``disability_support`` (eligible for
barrier-free services).
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from cityos.ledger._errors import LedgerError
from cityos.ledger.database import LedgerDatabase
from cityos.ledger.did import did_of, public_key_of
from cityos.ledger.status_list import bit, decode_list, encode_list

ALGORITHM = "Ed25519"
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
MEDIA_TYPE = "vc+jwt"


class CredentialError(LedgerError):
    """A credential is malformed, forged, expired, not yet valid, revoked or from another issuer."""

    title = "Invalid credential"
    status = 422


@dataclass(frozen=True)
class Kind:
    """A credential kind: its VC type and the claims it asserts about the subject."""

    vc_type: str
    claims: dict[str, Any]


KINDS: dict[str, Kind] = {
    "residency": Kind("ResidencyCredential", {"residence": {"city": "Sejong", "zone": "5-1"}}),
    "age_over_65": Kind("AgeOver65Credential", {"ageOver": 65}),
    "disability_support": Kind("DisabilitySupportCredential", {"disabilitySupportEligible": True}),
}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwk(key: Ed25519PrivateKey) -> OKPKey:
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public = public_key_of(did_of(key))
    return OKPKey.import_key(
        {"kty": "OKP", "crv": "Ed25519", "x": _b64url(public), "d": _b64url(raw)}
    )


def _public_jwk(did: str) -> OKPKey:
    return OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": _b64url(public_key_of(did))})


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sign(claims: dict[str, Any], key: Ed25519PrivateKey) -> str:
    did = did_of(key)
    header = {"alg": ALGORITHM, "typ": MEDIA_TYPE, "kid": f"{did}#{did[len('did:key:') :]}"}
    return jwt.encode(header, claims, _jwk(key), algorithms=[ALGORITHM])


def _open(token: str, trusted_issuer: str) -> dict[str, Any]:
    """Check the JWS signature by ``trusted_issuer`` and return the credential."""
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 200_000:
        raise CredentialError("a credential is a compact JWS (three dot-separated parts)")
    try:
        decoded = jwt.decode(token, _public_jwk(trusted_issuer), algorithms=[ALGORITHM])
    except (JoseError, ValueError) as exc:
        raise CredentialError(f"the credential's signature does not verify: {exc}") from None
    if decoded.header.get("typ") != MEDIA_TYPE:
        raise CredentialError(f"the credential's typ must be {MEDIA_TYPE}")
    if not str(decoded.header.get("kid", "")).startswith(trusted_issuer + "#"):
        raise CredentialError("the credential's kid is not a key of the trusted issuer")
    vc = dict(decoded.claims)
    if vc.get("issuer") != trusted_issuer:
        raise CredentialError(f"the credential is not issued by {trusted_issuer}")
    context, types = vc.get("@context"), vc.get("type")
    if not isinstance(context, list) or not context or context[0] != VC_CONTEXT:
        raise CredentialError(f"the credential's first @context must be {VC_CONTEXT}")
    if not isinstance(types, list) or "VerifiableCredential" not in types:
        raise CredentialError("the credential's type must include VerifiableCredential")
    return vc


def _instant(vc: dict[str, Any], name: str) -> datetime | None:
    value = vc.get(name)
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise CredentialError(f"{name} is not an ISO 8601 date-time") from None


@dataclass(frozen=True)
class Verified:
    """A verified credential: its kind, subject DID, claims, and status index."""

    vc_type: str
    subject: str
    claims: dict[str, Any]
    status_index: int | None


def verify_credential(
    token: str, trusted_issuer: str, status_list: str | None, *, now: datetime | None = None
) -> Verified:
    """Verify a city credential offline: signature, issuer, validity period and revocation.

    ``status_list`` is the signed status list credential (required when the credential names
    one; a verifier fetches it once and caches it).

    Raises
    ------
    CredentialError
        Naming the first check that failed.
    """
    vc = _open(token, trusted_issuer)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    valid_from, valid_until = _instant(vc, "validFrom"), _instant(vc, "validUntil")
    if valid_from is not None and moment < valid_from:
        raise CredentialError(f"the credential is not valid before {vc['validFrom']}")
    if valid_until is not None and moment > valid_until:
        raise CredentialError(f"the credential expired at {vc['validUntil']}")
    subject = vc.get("credentialSubject")
    if not isinstance(subject, dict) or not isinstance(subject.get("id"), str):
        raise CredentialError("the credential has no credentialSubject.id")
    index = None
    status = vc.get("credentialStatus")
    if status is not None:
        if not isinstance(status, dict) or status.get("statusPurpose") != "revocation":
            raise CredentialError("credentialStatus must be a revocation status list entry")
        try:
            index = int(status["statusListIndex"])
        except (KeyError, TypeError, ValueError):
            raise CredentialError("statusListIndex must be a decimal integer") from None
        if status_list is None:
            raise CredentialError("the credential has a status: the status list is needed")
        listed = _open(status_list, trusted_issuer)
        if listed.get("id") != status.get("statusListCredential"):
            raise CredentialError("the status list is not the one the credential names")
        list_until = _instant(listed, "validUntil")
        if list_until is not None and moment > list_until:
            raise CredentialError("the status list is out of date: fetch it again")
        encoded = listed.get("credentialSubject", {}).get("encodedList")
        if bit(decode_list(encoded), index):
            raise CredentialError(f"the credential (status index {index}) was revoked")
    types = [t for t in vc["type"] if t != "VerifiableCredential"]
    claims = {k: v for k, v in subject.items() if k != "id"}
    return Verified(types[0] if types else "VerifiableCredential", subject["id"], claims, index)


class CredentialIssuer:
    """The city's credential issuer: allocates status indices in the ledger tables."""

    def __init__(self, db: LedgerDatabase, key: Ed25519PrivateKey, status_url: str) -> None:
        self.db = db
        self.key = key
        self.did = did_of(key)
        self.status_url = status_url

    def issue(
        self, kind: str, subject: str, *, valid_days: int = 365, now: datetime | None = None
    ) -> str:
        """Issue a credential of ``kind`` to the holder of ``subject`` (a did:key)."""
        if kind not in KINDS:
            raise CredentialError(f"unknown credential kind {kind!r}; known: {', '.join(KINDS)}")
        public_key_of(subject)
        if not 1 <= valid_days <= 3650:
            raise CredentialError("valid_days must be between 1 and 3650")
        spec = KINDS[kind]
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        with self.db.write() as conn:
            row = conn.execute("SELECT max(idx) FROM ledger_credentials").fetchone()
            index = 0 if row[0] is None else int(row[0]) + 1
            self.db.execute(
                conn,
                "INSERT INTO ledger_credentials (idx, type, subject, issued_at_us) "
                "VALUES (?, ?, ?, ?)",
                (index, spec.vc_type, subject, time.time_ns() // 1000),
            )
        vc = {
            "@context": [VC_CONTEXT],
            "id": f"urn:cityos:credential:{index}",
            "type": ["VerifiableCredential", spec.vc_type],
            "issuer": self.did,
            "validFrom": _iso(moment),
            "validUntil": _iso(moment + timedelta(days=valid_days)),
            "credentialSubject": {"id": subject, **spec.claims},
            "credentialStatus": {
                "id": f"{self.status_url}#{index}",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": str(index),
                "statusListCredential": self.status_url,
            },
        }
        return _sign(vc, self.key)

    def check_issued(self, index: int) -> None:
        """Raise :class:`CredentialError` unless credential ``index`` was issued."""
        with self.db.read() as conn:
            row = self.db.execute(
                conn, "SELECT 1 FROM ledger_credentials WHERE idx = ?", (index,)
            ).fetchone()
        if row is None:
            raise CredentialError(f"no credential was issued with status index {index}")

    def revoke(self, index: int) -> None:
        """Revoke credential ``index`` (idempotent); raises if it was never issued."""
        with self.db.write() as conn:
            row = self.db.execute(
                conn, "SELECT revoked_at_us FROM ledger_credentials WHERE idx = ?", (index,)
            ).fetchone()
            if row is None:
                raise CredentialError(f"no credential was issued with status index {index}")
            if row[0] is None:
                self.db.execute(
                    conn,
                    "UPDATE ledger_credentials SET revoked_at_us = ? WHERE idx = ?",
                    (time.time_ns() // 1000, index),
                )

    def status_list(self, *, now: datetime | None = None) -> str:
        """The signed status list credential (valid for a day; fetch it again after)."""
        with self.db.read() as conn:
            revoked = {
                int(r[0])
                for r in conn.execute(
                    "SELECT idx FROM ledger_credentials WHERE revoked_at_us IS NOT NULL"
                )
            }
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        vc = {
            "@context": [VC_CONTEXT],
            "id": self.status_url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": self.did,
            "validFrom": _iso(moment),
            "validUntil": _iso(moment + timedelta(days=1)),
            "credentialSubject": {
                "id": f"{self.status_url}#list",
                "type": "BitstringStatusList",
                "statusPurpose": "revocation",
                "encodedList": encode_list(revoked),
            },
        }
        return _sign(vc, self.key)
