"""Portable JSON documents that verify offline: inclusion receipts, consistency proofs, exports.

Each document names its ``format`` and carries the log's verifier key (C2SP note verifier string)
so it is self-describing; an auditor should still compare that key with one obtained
independently (``cityos ledger verify --key``). Hashes and entries are base64 (RFC 4648 §4).

* ``cityos-ledger-receipt/1`` — an entry, its index, an inclusion proof and the signed checkpoint
  it leads to (RFC 9162 §2.1.3). A notarisation receipt is one of these.
* ``cityos-ledger-consistency/1`` — two signed checkpoints and the consistency proof between them
  (RFC 9162 §2.1.4).
* ``cityos-ledger-export/1`` — every entry in order and every signed checkpoint.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from cityos.ledger._errors import ProofError

RECEIPT = "cityos-ledger-receipt/1"
CONSISTENCY = "cityos-ledger-consistency/1"
EXPORT = "cityos-ledger-export/1"
FORMATS = (RECEIPT, CONSISTENCY, EXPORT)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(value: Any, what: str) -> bytes:
    """Decode strict base64, raising :class:`ProofError` naming ``what``."""
    if not isinstance(value, str):
        raise ProofError(f"{what} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ProofError(f"{what} is not valid base64") from None


def _field(doc: dict[str, Any], name: str, kind: type) -> Any:
    if name not in doc:
        raise ProofError(f"missing field {name!r}")
    value = doc[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProofError(f"field {name!r} must be a {kind.__name__}")
    return value


def _hashes(doc: dict[str, Any], name: str) -> list[bytes]:
    return [unb64(h, f"{name}[{i}]") for i, h in enumerate(_field(doc, name, list))]


def document_format(doc: Any) -> str:
    """The ``format`` of a ledger document, checked against the known ones."""
    if not isinstance(doc, dict):
        raise ProofError("a ledger document is a JSON object")
    fmt = doc.get("format")
    if fmt not in FORMATS:
        raise ProofError(f"unknown document format {fmt!r}; known: {', '.join(FORMATS)}")
    return str(fmt)


@dataclass(frozen=True)
class Receipt:
    """Proof that ``entry`` is leaf ``index`` of the log under the signed ``checkpoint``."""

    log_key: str
    entry: bytes
    index: int
    proof: list[bytes]
    checkpoint: str

    def to_json(self) -> dict[str, Any]:
        return {
            "format": RECEIPT,
            "log_key": self.log_key,
            "entry": b64(self.entry),
            "index": self.index,
            "proof": [b64(h) for h in self.proof],
            "checkpoint": self.checkpoint,
        }

    @classmethod
    def from_json(cls, doc: Any) -> Receipt:
        if document_format(doc) != RECEIPT:
            raise ProofError(f"not a receipt ({doc.get('format')})")
        return cls(
            _field(doc, "log_key", str),
            unb64(_field(doc, "entry", str), "entry"),
            _field(doc, "index", int),
            _hashes(doc, "proof"),
            _field(doc, "checkpoint", str),
        )


@dataclass(frozen=True)
class ConsistencyBundle:
    """Two signed checkpoints and the proof that the second extends the first."""

    log_key: str
    old: str
    new: str
    proof: list[bytes]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CONSISTENCY,
            "log_key": self.log_key,
            "old": self.old,
            "new": self.new,
            "proof": [b64(h) for h in self.proof],
        }

    @classmethod
    def from_json(cls, doc: Any) -> ConsistencyBundle:
        if document_format(doc) != CONSISTENCY:
            raise ProofError(f"not a consistency proof ({doc.get('format')})")
        return cls(
            _field(doc, "log_key", str),
            _field(doc, "old", str),
            _field(doc, "new", str),
            _hashes(doc, "proof"),
        )


@dataclass(frozen=True)
class Export:
    """Every entry of the log in order, and every signed checkpoint (ascending size)."""

    log_key: str
    entries: list[bytes]
    checkpoints: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": EXPORT,
            "log_key": self.log_key,
            "entries": [b64(e) for e in self.entries],
            "checkpoints": self.checkpoints,
        }

    @classmethod
    def from_json(cls, doc: Any) -> Export:
        if document_format(doc) != EXPORT:
            raise ProofError(f"not a log export ({doc.get('format')})")
        entries = [unb64(e, f"entries[{i}]") for i, e in enumerate(_field(doc, "entries", list))]
        checkpoints = _field(doc, "checkpoints", list)
        if not all(isinstance(c, str) for c in checkpoints):
            raise ProofError("checkpoints must be signed notes (strings)")
        return cls(_field(doc, "log_key", str), entries, list(checkpoints))
