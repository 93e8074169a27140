"""Helpers of the privacy tests (imported by name; fixtures live in ``conftest.py``)."""

from __future__ import annotations

from collections.abc import Callable

#: Mints a token: ``mint(subject, roles, scopes=..., org=..., ttl_s=..., now=...)``.
Mint = Callable[..., str]


def bearer(token: str, **headers: str) -> dict[str, str]:
    """Request headers with ``Authorization: Bearer <token>`` and any others (``_`` in a keyword
    stays as written: pass names with dashes through ``**{"CityOS-Purpose": ...}``)."""
    return {"Authorization": f"Bearer {token}", **headers}
