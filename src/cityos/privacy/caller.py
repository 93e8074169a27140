"""Who calls the privacy HTTP API (and with which role), for which tenant, with which JSON body."""

from __future__ import annotations

import re
from typing import Any

import orjson
from fastapi import Request

from cityos.privacy.access import Access, current_access
from cityos.privacy.errors import Forbidden, InvalidPrivacyRequest, Unauthenticated

_TENANT_RE = re.compile(r"^[A-Za-z0-9_\-.]{1,64}$")
MAX_BODY_BYTES = 64 * 1024


def caller(*roles: str) -> Access:
    """The access of an authenticated caller holding one of ``roles`` (any role if none).

    Raises
    ------
    Unauthenticated
        For an anonymous caller (the privacy API always needs a token, even in demo mode).
    Forbidden
        For a caller without any of ``roles``.
    """
    access = current_access()
    if access is None or access.principal.anonymous:
        raise Unauthenticated("the privacy API needs a bearer token", error="")
    if roles and not access.principal.has_role(*roles):
        raise Forbidden(f"this needs the role {' or '.join(roles)}")
    return access


def tenant_of(request: Request) -> str:
    raw = request.headers.get("ngsild-tenant") or ""
    if raw and not _TENANT_RE.match(raw):
        raise InvalidPrivacyRequest(f"invalid NGSILD-Tenant header {raw!r}")
    return raw


async def json_body(request: Request) -> Any:
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media not in ("application/json", "application/ld+json"):
        raise InvalidPrivacyRequest("the request body must be application/json")
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidPrivacyRequest(f"the request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidPrivacyRequest(f"the request body is not JSON: {exc}") from None
