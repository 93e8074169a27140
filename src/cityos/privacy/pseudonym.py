"""Keyed pseudonyms: HMAC-SHA-256 (RFC 2104) under per-purpose keys derived with HKDF (RFC 5869).

The same citizen gets the same pseudonym for one purpose and key version, and unrelated
pseudonyms for two purposes (so releases for different purposes cannot be joined), and no one
without the master secret can recompute or invert them. The master secrets live in
``<data_dir>/privacy/pseudonym-keys.json`` (mode 0600), newest first; rotating adds a new secret
(new pseudonyms from then on) and keeps the old ones so earlier releases stay linkable by the city.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_FILE = Path("privacy") / "pseudonym-keys.json"
#: Characters of the pseudonym kept (base32 of the HMAC; 26 characters = 130 bits).
PSEUDONYM_CHARS = 26


@dataclass
class PseudonymKeys:
    """Versioned master secrets (newest first) and the per-purpose keys derived from them."""

    path: Path | None
    secrets: list[tuple[int, bytes]]

    def __post_init__(self) -> None:
        self._derived: dict[tuple[int, str], bytes] = {}

    @property
    def version(self) -> int:
        """The version of the newest secret (the one new pseudonyms use)."""
        return self.secrets[0][0]

    def purpose_key(self, purpose: str, version: int | None = None) -> bytes:
        """The 32-byte key of ``purpose`` under secret ``version`` (default: newest)."""
        wanted = self.version if version is None else version
        cached = self._derived.get((wanted, purpose))
        if cached is not None:
            return cached
        secret = dict(self.secrets).get(wanted)
        if secret is None:
            raise KeyError(f"no pseudonym secret of version {wanted}")
        key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b"cityos-pseudonym-v1",
            info=purpose.encode(),
        ).derive(secret)
        self._derived[(wanted, purpose)] = key
        return key

    def pseudonym(self, identifier: str, purpose: str, version: int | None = None) -> str:
        """The pseudonym of ``identifier`` for ``purpose`` (lower-case base32 text)."""
        digest = hmac.new(
            self.purpose_key(purpose, version), identifier.encode(), hashlib.sha256
        ).digest()
        return base64.b32encode(digest).decode().lower()[:PSEUDONYM_CHARS]

    def rotate(self) -> int:
        """Add a new newest secret and save; returns its version."""
        version = self.version + 1
        self.secrets.insert(0, (version, secrets.token_bytes(32)))
        self._derived.clear()
        if self.path is not None:
            _write(self.path, self.secrets)
        return version


def load_pseudonym_keys(data_dir: Path) -> PseudonymKeys:
    """The pseudonym secrets of ``data_dir``, creating the first one if there is none."""
    path = Path(data_dir) / KEY_FILE
    if not path.exists():
        first = [(1, secrets.token_bytes(32))]
        try:
            _write(path, first, exclusive=True)
            return PseudonymKeys(path, first)
        except FileExistsError:
            pass
    try:
        document = json.loads(path.read_text())
        items = [(int(i["version"]), base64.b64decode(i["secret"])) for i in document["secrets"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"unreadable pseudonym key file {path}: {exc}") from exc
    if not items or any(len(s) < 32 for _, s in items):
        raise ValueError(f"{path} must hold secrets of at least 32 bytes")
    return PseudonymKeys(path, sorted(items, reverse=True))


def _write(path: Path, items: list[tuple[int, bytes]], *, exclusive: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {
        "secrets": [{"version": v, "secret": base64.b64encode(s).decode()} for v, s in items]
    }
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    target = path if exclusive else path.with_suffix(".tmp")
    fd = os.open(target, flags, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(document, out)
        out.flush()
        os.fsync(out.fileno())
    if not exclusive:
        os.replace(target, path)
