"""HTTP endpoints of authentication: the issuer's public keys and the caller's own identity."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cityos.privacy.access import current_access
from cityos.privacy.errors import Unauthenticated
from cityos.privacy.keys import IssuerKeys


def auth_router(keys: IssuerKeys) -> APIRouter:
    """``/.well-known/jwks.json`` and ``/privacy/v1/me``."""
    router = APIRouter(tags=["Privacy"])

    @router.get("/.well-known/jwks.json", summary="Public keys that verify CityOS access tokens")
    def jwks() -> dict[str, Any]:
        return keys.public_jwks()

    @router.get("/privacy/v1/me", summary="Who the bearer token says the caller is")
    def me() -> dict[str, Any]:
        access = current_access()
        if access is None or access.principal.anonymous:
            raise Unauthenticated("no bearer token was given", error="")
        p = access.principal
        return {
            "subject": p.subject,
            "roles": sorted(p.roles),
            "scopes": [str(s) for s in p.scopes],
            "org": p.org,
            "purpose": access.purpose,
            "expiresAt": p.expires_at,
        }

    return router
