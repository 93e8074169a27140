"""The gate every HTTP request passes: authenticate, rate-limit, authorise, bind the access.

:class:`Gate` decides (pure logic over method, path and headers); the ASGI middleware in
:mod:`cityos.privacy.middleware` runs it and renders its refusals.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from cityos.core.errors import BadRequestData
from cityos.core.settings import Settings
from cityos.privacy.access import BREAK_GLASS_HEADER, PURPOSE_HEADER, Access
from cityos.privacy.errors import Forbidden, InvalidPrivacyRequest, TooManyRequests, Unauthenticated
from cityos.privacy.keys import IssuerKeys
from cityos.privacy.policy import AUTHENTICATED, PUBLIC, operation_for
from cityos.privacy.ratelimit import RateLimiter, retry_after
from cityos.privacy.roles import BREAK_GLASS_ROLES
from cityos.privacy.scopes import allowed
from cityos.privacy.tokens import DEMO_PRINCIPAL, Principal, verify_token

#: Requests per minute per client in production when ``CITYOS_RATE_LIMIT_PER_MINUTE`` is unset.
PRODUCTION_RATE_LIMIT = 1200
_PURPOSE_RE = re.compile(r"^[a-z0-9][a-z0-9._\-]{0,63}$")
_TENANT_RE = re.compile(r"^[A-Za-z0-9_\-.]{1,64}$")
_SIMPLE_TYPE_RE = re.compile(r"^[^\s,;|()]+$")
_NOBODY = Principal("anonymous", frozenset(), (), anonymous=True)


@dataclass(frozen=True)
class Request:
    """What the gate looks at: method, path, lower-cased headers, ``type`` parameter, client."""

    method: str
    path: str
    headers: Mapping[str, str]
    entity_type: str | None = None
    client: str | None = None


class Gate:
    """Access decisions for one application."""

    def __init__(self, settings: Settings, keys: IssuerKeys) -> None:
        self.settings = settings
        self.keys = keys
        self.production = settings.mode == "production"
        per_minute = settings.rate_limit_per_minute
        if per_minute is None:
            per_minute = PRODUCTION_RATE_LIMIT if self.production else 0
        self.limiter = RateLimiter(per_minute) if per_minute > 0 else None

    def admit(self, request: Request) -> Access:
        """The access a request gets.

        Raises
        ------
        Unauthenticated
            No token where one is needed, or a bad token anywhere.
        TooManyRequests
            The client's rate limit is spent.
        Forbidden
            No scope for the route's operation on the tenant (or named type), or a break-glass
            request from a role that may not break the glass.
        InvalidPrivacyRequest, BadRequestData
            Malformed purpose, break-glass or tenant headers.
        """
        operation = operation_for(request.method, request.path)
        principal = self._authenticate(request.headers.get("authorization"))
        if principal is None:
            if self.production and operation != PUBLIC:
                raise Unauthenticated("this endpoint needs a bearer token", error="")
            principal = _NOBODY if self.production else DEMO_PRINCIPAL
        self._limit(principal, request.client)
        enforced = self.production or not principal.anonymous
        if enforced and operation not in (PUBLIC, AUTHENTICATED):
            self._authorise(principal, operation, request)
        purpose = _purpose(request.headers.get(PURPOSE_HEADER.lower()))
        justification = self._break_glass(principal, request.headers)
        return Access(principal, purpose, justification, enforced, request.client)

    def _authenticate(self, header: str | None) -> Principal | None:
        if header is None:
            return None
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("the Authorization header must be 'Bearer <token>'", error="")
        return verify_token(token.strip(), self.keys, self.settings)

    def _limit(self, principal: Principal, client: str | None) -> None:
        if self.limiter is None:
            return
        key = f"sub:{principal.subject}" if not principal.anonymous else f"ip:{client}"
        wait = self.limiter.acquire(key)
        if wait > 0:
            seconds = retry_after(wait)
            raise TooManyRequests(
                f"rate limit of {int(self.limiter.capacity)} requests a minute reached; "
                f"retry in {seconds} s",
                retry_after_s=seconds,
            )

    def _authorise(self, principal: Principal, operation: str, request: Request) -> None:
        tenant = request.headers.get("ngsild-tenant") or ""
        if tenant and not _TENANT_RE.match(tenant):
            raise BadRequestData(f"invalid NGSILD-Tenant header {tenant!r}")
        label = f"tenant {tenant!r}" if tenant else "the default tenant"
        if not allowed(principal.scopes, operation, tenant):
            raise Forbidden(f"the token has no '{operation}' scope on {label}")
        wanted = request.entity_type
        simple = wanted is not None and _SIMPLE_TYPE_RE.match(wanted)
        if simple and not allowed(principal.scopes, operation, tenant, wanted):
            raise Forbidden(f"the token has no '{operation}' scope on type {wanted!r} of {label}")

    def _break_glass(self, principal: Principal, headers: Mapping[str, str]) -> str | None:
        text = headers.get(BREAK_GLASS_HEADER.lower())
        if text is None:
            return None
        text = text.strip()
        if not 10 <= len(text) <= 500 or not text.isprintable():
            raise InvalidPrivacyRequest(
                f"{BREAK_GLASS_HEADER} must be a justification of 10-500 printable characters"
            )
        if principal.anonymous or not principal.has_role(*BREAK_GLASS_ROLES):
            raise Forbidden(
                f"break-glass access is for the roles {', '.join(sorted(BREAK_GLASS_ROLES))}"
            )
        return text


def _purpose(raw: str | None) -> str | None:
    if raw is None:
        return None
    purpose = raw.strip()
    if not _PURPOSE_RE.match(purpose):
        raise InvalidPrivacyRequest(
            f"{PURPOSE_HEADER} must be 1-64 lower-case letters, digits, '.', '_' or '-' "
            "(e.g. mobility-planning)"
        )
    return purpose
