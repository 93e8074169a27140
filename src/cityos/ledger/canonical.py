"""Canonical JSON for signed ledger messages and log entries.

The bytes a signature covers must be the same on every machine, so messages are serialised the way
RFC 8785 (JSON Canonicalization Scheme) does for the values the ledger uses: object members sorted
by key, no insignificant whitespace, UTF-8, and no floating-point numbers at all (amounts are
integer minor units, so the number rules of RFC 8785 §3.2.2.3 reduce to plain integers).
"""

from __future__ import annotations

import json
from typing import Any

from cityos.ledger._errors import LedgerError

#: Largest integer accepted: I-JSON (RFC 7493 §2.2) safe range, so every JSON parser agrees.
MAX_SAFE_INTEGER = 2**53 - 1


def _check(value: Any, where: str) -> None:
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise LedgerError(f"{where}: integer {value} is outside the I-JSON safe range")
        return
    if isinstance(value, float):
        raise LedgerError(f"{where}: floating-point numbers are not allowed; use integers")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise LedgerError(f"{where}: object keys must be strings")
            _check(item, f"{where}.{key}")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check(item, f"{where}[{i}]")
        return
    raise LedgerError(f"{where}: {type(value).__name__} is not a JSON value")


def canonical_json(value: Any) -> bytes:
    """Canonical UTF-8 JSON bytes of ``value`` (sorted keys, no spaces, integers only).

    Raises
    ------
    LedgerError
        For floats, non-string keys, integers beyond 2**53 - 1 or non-JSON values.
    """
    _check(value, "$")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def parse_canonical(data: bytes) -> dict[str, Any]:
    """Parse a canonical JSON object, rejecting anything that does not re-serialise identically."""
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise LedgerError(f"entry is not UTF-8 JSON: {exc}") from None
    if not isinstance(value, dict):
        raise LedgerError("entry must be a JSON object")
    if canonical_json(value) != data:
        raise LedgerError("entry is not in canonical form")
    return value
