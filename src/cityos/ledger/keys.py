"""The ledger's own keys, kept under the data directory.

``<data_dir>/ledger/keys.json`` (mode 0600) holds two Ed25519 private keys:

* the **log key**, named after the log's origin, which signs every checkpoint (C2SP signed note);
* the **issuing key** of the city, the only key that may create money and that signs notarisation
  receipts and credentials; its public half is the city's ``did:key``.

The file is created once, atomically, by the first process that needs it (the others read it).
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from cityos.ledger.signed_note import Signer

KEY_FILE = Path("ledger") / "keys.json"
DEFAULT_ORIGIN = "sejong.cityos.example/ledger"
"""Origin line of the city's log (C2SP tlog-checkpoint), like a URL without its scheme."""


@dataclass(frozen=True)
class LedgerKeys:
    """The log's checkpoint signer and the city's issuing key."""

    log: Signer
    issuer: Ed25519PrivateKey

    @property
    def origin(self) -> str:
        return self.log.name


def _raw(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw).decode()


def _key(text: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))


def key_path(data_dir: Path) -> Path:
    """Where the ledger keys of a data directory are stored."""
    return Path(data_dir) / KEY_FILE


def generate_keys(origin: str = DEFAULT_ORIGIN) -> LedgerKeys:
    """Fresh keys (not saved)."""
    return LedgerKeys(Signer.generate(origin), Ed25519PrivateKey.generate())


def load_keys(data_dir: Path, *, origin: str = DEFAULT_ORIGIN, create: bool = True) -> LedgerKeys:
    """Load the ledger keys of ``data_dir``, creating them (with ``origin``) if there are none.

    Raises
    ------
    FileNotFoundError
        If there are no keys and ``create`` is false.
    ValueError
        If the file is unreadable or does not hold two Ed25519 keys.
    """
    path = key_path(data_dir)
    if not path.exists():
        if not create:
            raise FileNotFoundError(f"no ledger keys at {path}; run 'cityos ledger keygen'")
        keys = generate_keys(origin)
        try:
            _write(path, keys)
        except FileExistsError:
            pass  # another process created them first: use theirs
        else:
            return keys
    try:
        doc = json.loads(path.read_text())
        log = Signer(doc["origin"], _key(doc["log_key"]))
        issuer = _key(doc["issuing_key"])
        log.verifier  # noqa: B018  (checks the origin is a valid key name)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"unreadable ledger keys {path}: {exc}") from exc
    return LedgerKeys(log, issuer)


def _write(path: Path, keys: LedgerKeys) -> None:
    """Create the key file, readable by the owner only; fails if it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"origin": keys.origin, "log_key": _raw(keys.log.private_key)}
    doc["issuing_key"] = _raw(keys.issuer)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(doc, indent=1))
        out.flush()
        os.fsync(out.fileno())
    try:
        os.link(tmp, path)  # atomic and exclusive: the file appears complete or not at all
    finally:
        os.unlink(tmp)
