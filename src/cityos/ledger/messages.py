"""Signed ledger messages: what a payer, or the city's issuing key, asks the ledger to commit.

A message is a JSON object with a ``type``; its ``signature`` is an Ed25519 signature (base64url
without padding, RFC 7515 style) over the canonical JSON of every other member
(:func:`~cityos.ledger.canonical.canonical_json`). The signer is named by a ``did:key`` in the
message, so anyone can check it offline.

* ``transfer``, signed by the payer: ``payer payee amount nonce idempotency_key purpose [memo]``;
* signed by the city's issuing key (``issuer``), with an ``idempotency_key`` each:
  ``issue`` (``to amount reason [rule units period]``), ``open_account`` (``did kind
  [service_class daily_limit]``), ``notarise`` (``sha256 [title]``), ``data_trade`` (``dataset
  buyer licence price shares``), ``demurrage`` (``period rate_bp``) and ``revoke_credential``
  (``status_index``).

Each message is parsed strictly: unknown or missing members, wrong types and bad values raise
:class:`InvalidMessage` naming the member.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cityos.ledger._errors import LedgerError
from cityos.ledger.canonical import canonical_json
from cityos.ledger.did import did_of, public_key_of, verify_signature
from cityos.ledger.money import CURRENCY, check_amount


class InvalidMessage(LedgerError):
    """A message is malformed (a member missing, unknown, or of the wrong type or value)."""

    title = "Invalid ledger message"
    status = 400


class ForgedSignature(LedgerError):
    """A message's signature does not verify against the key that must have signed it."""

    title = "Invalid signature"
    status = 401


ACCOUNT_KINDS = ("citizen", "merchant", "public_body")
SERVICE_CLASSES = ("public_good", "spc_commercial", "ecosystem_addon")
"""The plan's three service classes: public good, SPC-run commercial, ecosystem add-on."""
PURPOSES = ("payment", "transfer", "tax", "utility", "fare", "welfare")
PUBLIC_PURPOSES = ("tax", "utility")
"""Purposes whose payee must be a public body (taxes and utility bills)."""

_KEY = re.compile(r"[A-Za-z0-9._:\-]{1,100}")
_PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_SHA256 = re.compile(r"[0-9a-f]{64}")

# type -> (required members, optional members)
SCHEMAS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "transfer": (
        frozenset({"payer", "payee", "amount", "nonce", "idempotency_key", "purpose"}),
        frozenset({"memo"}),
    ),
    "issue": (
        frozenset({"issuer", "to", "amount", "reason", "idempotency_key"}),
        frozenset({"rule", "units", "period"}),
    ),
    "open_account": (
        frozenset({"issuer", "did", "kind", "idempotency_key"}),
        frozenset({"service_class", "daily_limit"}),
    ),
    "notarise": (frozenset({"issuer", "sha256", "idempotency_key"}), frozenset({"title"})),
    "data_trade": (
        frozenset({"issuer", "dataset", "buyer", "licence", "price", "shares", "idempotency_key"}),
        frozenset(),
    ),
    "demurrage": (frozenset({"issuer", "period", "rate_bp", "idempotency_key"}), frozenset()),
    "revoke_credential": (frozenset({"issuer", "status_index", "idempotency_key"}), frozenset()),
}
MAX_DEMURRAGE_BP = 1000
"""Highest demurrage rate of one period [basis points of each balance] (10 %)."""


@dataclass(frozen=True)
class Message:
    """A parsed, signature-checked message."""

    type: str
    body: dict[str, Any]
    signer: str
    """The DID whose key signed it (``payer`` or ``issuer``)."""

    @property
    def idempotency_key(self) -> str:
        return str(self.body["idempotency_key"])

    def __getitem__(self, name: str) -> Any:
        return self.body[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.body.get(name, default)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_\-]{86}", text):
        raise InvalidMessage("signature must be 64 bytes in base64url without padding")
    try:
        return base64.urlsafe_b64decode(text + "==")
    except binascii.Error:  # pragma: no cover - excluded by the pattern
        raise InvalidMessage("signature is not base64url") from None


def signing_bytes(message: dict[str, Any]) -> bytes:
    """The bytes a message's signature covers: canonical JSON of all but ``signature``."""
    return canonical_json({k: v for k, v in message.items() if k != "signature"})


def sign(message: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """``message`` with the ``currency`` filled in and its ``signature`` by ``key`` added."""
    unsigned = {k: v for k, v in message.items() if k != "signature"}
    unsigned.setdefault("currency", CURRENCY)
    return {**unsigned, "signature": _b64url(key.sign(signing_bytes(unsigned)))}


def transfer(
    key: Ed25519PrivateKey,
    payee: str,
    amount: int,
    nonce: int,
    idempotency_key: str,
    *,
    purpose: str = "payment",
    memo: str | None = None,
) -> dict[str, Any]:
    """A transfer from the holder of ``key`` (the payer), signed."""
    body: dict[str, Any] = {
        "type": "transfer",
        "payer": did_of(key),
        "payee": payee,
        "amount": amount,
        "nonce": nonce,
        "idempotency_key": idempotency_key,
        "purpose": purpose,
    }
    if memo is not None:
        body["memo"] = memo
    return sign(body, key)


def _text(body: dict[str, Any], name: str, limit: int = 200) -> str:
    value = body[name]
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidMessage(f"{name} must be a non-empty string of at most {limit} characters")
    return value


def _int(body: dict[str, Any], name: str, low: int, high: int) -> int:
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidMessage(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return value


def _did(body: dict[str, Any], name: str) -> str:
    try:
        public_key_of(body[name])
    except LedgerError as exc:
        raise InvalidMessage(f"{name}: {exc.detail}") from None
    return str(body[name])


def _check_members(kind: str, body: dict[str, Any]) -> None:
    required, optional = SCHEMAS[kind]
    present = set(body) - {"type", "signature", "currency"}
    missing = sorted(required - present)
    unknown = sorted(present - required - optional)
    if missing:
        raise InvalidMessage(f"{kind} lacks {', '.join(missing)}")
    if unknown:
        raise InvalidMessage(f"{kind} has unknown member(s) {', '.join(unknown)}")


def _check_values(kind: str, body: dict[str, Any]) -> None:
    key = body["idempotency_key"]
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise InvalidMessage("idempotency_key must be 1-100 characters of [A-Za-z0-9._:-]")
    if kind == "transfer":
        _did(body, "payer")
        _did(body, "payee")
        if body["payer"] == body["payee"]:
            raise InvalidMessage("payer and payee must differ")
        check_amount(body["amount"])
        _int(body, "nonce", 1, 2**53 - 1)
        if body["purpose"] not in PURPOSES:
            raise InvalidMessage(f"purpose must be one of {', '.join(PURPOSES)}")
        if "memo" in body:
            _text(body, "memo", 140)
    elif kind == "issue":
        _did(body, "to")
        check_amount(body["amount"])
        _text(body, "reason")
        reward = [m in body for m in ("rule", "units", "period")]
        if any(reward) and not all(reward):
            raise InvalidMessage("a reward names its rule, units and period together")
        if all(reward):
            _text(body, "rule", 40)
            _int(body, "units", 1, 10**6)
            if not isinstance(body["period"], str) or not _PERIOD.fullmatch(body["period"]):
                raise InvalidMessage("period must be a month YYYY-MM")
    elif kind == "open_account":
        _did(body, "did")
        if body["kind"] not in ACCOUNT_KINDS:
            raise InvalidMessage(f"kind must be one of {', '.join(ACCOUNT_KINDS)}")
        service_class = body.get("service_class")
        if body["kind"] == "citizen" and service_class is not None:
            raise InvalidMessage("a citizen account has no service class")
        if body["kind"] != "citizen" and service_class not in SERVICE_CLASSES:
            raise InvalidMessage(
                f"a {body['kind']} account needs service_class, one of {', '.join(SERVICE_CLASSES)}"
            )
        if "daily_limit" in body:
            check_amount(body["daily_limit"])
    elif kind == "notarise":
        if not isinstance(body["sha256"], str) or not _SHA256.fullmatch(body["sha256"]):
            raise InvalidMessage("sha256 must be 64 lower-case hex digits")
        if "title" in body:
            _text(body, "title")
    elif kind == "revoke_credential":
        _int(body, "status_index", 0, 2**31)
    elif kind == "demurrage":
        if not isinstance(body["period"], str) or not _PERIOD.fullmatch(body["period"]):
            raise InvalidMessage("period must be a month YYYY-MM")
        _int(body, "rate_bp", 1, MAX_DEMURRAGE_BP)
    elif kind == "data_trade":
        _text(body, "dataset")
        _did(body, "buyer")
        _text(body, "licence", 100)
        shares = body["shares"]
        if type(body["price"]) is int and body["price"] == 0 and shares == []:
            return  # a data access without a sale: who used which dataset under which licence
        price = check_amount(body["price"])
        if not isinstance(shares, list) or not 1 <= len(shares) <= 100:
            raise InvalidMessage("shares must be a list of 1-100 {provider, amount} objects")
        total = 0
        for i, share in enumerate(shares):
            if not isinstance(share, dict) or set(share) != {"provider", "amount"}:
                raise InvalidMessage(f"shares[{i}] must be an object {{provider, amount}}")
            _did(share, "provider")
            total += check_amount(share["amount"])
        if total != price:
            raise InvalidMessage(f"the revenue shares sum to {total}, not the price {price}")


def parse_message(message: Any, issuer: str) -> Message:
    """Check a message's form and signature; ``issuer`` is the city's issuing DID.

    Raises
    ------
    InvalidMessage
        For a malformed message (naming the member).
    ForgedSignature
        If the signature is not the payer's (transfers) or the issuing key's (everything else).
    """
    if not isinstance(message, dict):
        raise InvalidMessage("a message is a JSON object")
    kind = message.get("type")
    if kind not in SCHEMAS:
        raise InvalidMessage(f"type must be one of {', '.join(SCHEMAS)}, got {kind!r}")
    if message.get("currency", CURRENCY) != CURRENCY:
        raise InvalidMessage(f"currency must be {CURRENCY}")
    if "signature" not in message:
        raise InvalidMessage("the message is not signed (no signature)")
    _check_members(kind, message)
    _check_values(kind, message)
    signature = _unb64url(message["signature"])
    signer = message["payer"] if kind == "transfer" else message["issuer"]
    if kind != "transfer":
        _did(message, "issuer")
        if signer != issuer:
            raise ForgedSignature(f"only the city's issuing key ({issuer}) may sign a {kind}")
    if not verify_signature(signer, signing_bytes(message), signature):
        raise ForgedSignature(f"the signature of the {kind} is not by {signer}")
    return Message(kind, dict(message), signer)
