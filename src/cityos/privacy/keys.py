"""The city's token-signing keys: Ed25519 JWKs (RFC 8037) kept under the data directory.

The key set lives in ``<data_dir>/privacy/issuer-keys.json`` (mode 0600), newest key first: the
newest signs, every key in the set verifies (so tokens survive a rotation until they expire).
The public half is served as a JWK Set at ``/.well-known/jwks.json`` (RFC 7517 §5).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.jwk import KeySet, OKPKey

#: JWS algorithm of the city's tokens: Ed25519 as fully specified by RFC 9864.
ALGORITHM = "Ed25519"
KEY_FILE = Path("privacy") / "issuer-keys.json"
#: Most keys kept after a rotation (older ones are dropped: their tokens stop verifying).
MAX_KEYS = 3


@dataclass
class IssuerKeys:
    """The key set and where it is stored."""

    path: Path
    keys: list[OKPKey]

    @property
    def signing_key(self) -> OKPKey:
        """The newest key, which signs new tokens."""
        return self.keys[0]

    def key_set(self) -> KeySet:
        """Every key, for verification (joserfc picks one by ``kid``)."""
        return KeySet(list(self.keys))

    def public_jwks(self) -> dict[str, Any]:
        """The public JWK Set (no private members)."""
        return {"keys": [dict(k.as_dict(private=False), alg=ALGORITHM) for k in self.keys]}

    def rotate(self) -> OKPKey:
        """Generate a new signing key, keep at most :data:`MAX_KEYS`, and save. Returns it."""
        key = OKPKey.generate_key("Ed25519", auto_kid=True)
        self.keys = [key, *self.keys][:MAX_KEYS]
        _write(self.path, self.keys)
        return key


def key_path(data_dir: Path) -> Path:
    """Where the key set of a data directory is stored."""
    return Path(data_dir) / KEY_FILE


def load_keys(data_dir: Path, *, create: bool = True) -> IssuerKeys:
    """Load the key set of ``data_dir``, generating and saving a first key if there is none.

    Raises
    ------
    FileNotFoundError
        If there is no key set and ``create`` is false.
    ValueError
        If the file is not a JWK Set of Ed25519 private keys.
    """
    path = key_path(data_dir)
    if not path.exists():
        if not create:
            raise FileNotFoundError(f"no issuer keys at {path}; run 'cityos auth keygen'")
        key = OKPKey.generate_key("Ed25519", auto_kid=True)
        try:
            _write(path, [key], exclusive=True)
        except FileExistsError:
            pass  # another process created it first: use theirs
        else:
            return IssuerKeys(path, [key])
    try:
        document = json.loads(path.read_text())
        keys = [OKPKey.import_key(item) for item in document["keys"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"unreadable issuer key set {path}: {exc}") from exc
    if not keys or not all(k.is_private and k.curve_name == "Ed25519" for k in keys):
        raise ValueError(f"{path} must hold Ed25519 private keys")
    return IssuerKeys(path, keys)


def _write(path: Path, keys: list[OKPKey], *, exclusive: bool = False) -> None:
    """Write the key set readable by the owner only; atomically (rename) unless ``exclusive``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"keys": [k.as_dict(private=True) for k in keys]}, indent=1)
    if exclusive:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)
        return
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
