"""OAuth2 bearer access tokens (RFC 6750) as signed JWTs (RFC 7519, RFC 9068 claims).

A token carries ``iss``, ``aud``, ``sub`` (the caller's pseudonymous id), ``iat``/``nbf``/``exp``,
``jti``, ``roles`` (see :mod:`cityos.privacy.roles`), ``scope`` (space-separated scopes, see
:mod:`cityos.privacy.scopes`) and optionally ``org`` (the organisation a consent names as
recipient). Signing and verification are joserfc's; only Ed25519 (RFC 9864) is accepted.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from joserfc import jwt
from joserfc.errors import JoseError

from cityos.core.settings import Settings
from cityos.privacy.errors import Unauthenticated
from cityos.privacy.keys import ALGORITHM, IssuerKeys
from cityos.privacy.roles import check_roles, default_scopes
from cityos.privacy.scopes import Scope, parse_scopes

#: Clock skew tolerated on ``exp``/``nbf``/``iat`` [s].
LEEWAY_S = 30
_SUBJECT_MAX = 256


@dataclass(frozen=True)
class Principal:
    """Who is calling, as a verified token (or the demo mode) says.

    Attributes
    ----------
    subject
        The token's ``sub``: a citizen's pseudonymous id, a staff or service account.
    roles
        Role names (:data:`cityos.privacy.roles.ROLES`).
    scopes
        Parsed scopes.
    org
        The organisation acting (``org`` claim), or None.
    token_id
        The ``jti`` of the token, or None for the anonymous demo principal.
    """

    subject: str
    roles: frozenset[str]
    scopes: tuple[Scope, ...]
    org: str | None = None
    token_id: str | None = None
    expires_at: int | None = None
    anonymous: bool = False
    recipients: frozenset[str] = field(default=frozenset())

    def __post_init__(self) -> None:
        names = {self.subject} | ({self.org} if self.org else set())
        object.__setattr__(self, "recipients", frozenset(names))

    def has_role(self, *roles: str) -> bool:
        """Whether the principal holds any of ``roles``."""
        return bool(self.roles.intersection(roles))


#: The caller of an open (demo mode) request without a token: every scope, no role.
DEMO_PRINCIPAL = Principal(
    "anonymous", frozenset(), parse_scopes("admin"), anonymous=True, token_id=None
)


def mint_token(
    keys: IssuerKeys,
    settings: Settings,
    *,
    subject: str,
    roles: list[str] | tuple[str, ...],
    scopes: list[str] | tuple[str, ...] | None = None,
    org: str | None = None,
    ttl_s: int | None = None,
    audience: str | None = None,
    now: float | None = None,
) -> str:
    """Sign an access token for ``subject``. Scopes default to those of the roles.

    Raises
    ------
    ValueError
        For an empty or oversized subject, unknown roles, bad scopes or a ttl outside
        60 s ... 31 days.
    """
    if not subject or len(subject) > _SUBJECT_MAX or any(c.isspace() for c in subject):
        raise ValueError(f"the subject must be 1-{_SUBJECT_MAX} characters without spaces")
    role_names = check_roles(tuple(roles))
    scope_list = tuple(scopes) if scopes else default_scopes(role_names)
    parse_scopes(scope_list)
    ttl = settings.auth_token_ttl_s if ttl_s is None else ttl_s
    if not 60 <= ttl <= 31 * 86400:
        raise ValueError("the token lifetime must be between 60 s and 31 days")
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": settings.auth_issuer,
        "aud": audience or settings.auth_audience,
        "sub": subject,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl,
        "jti": uuid.uuid4().hex,
        "roles": list(role_names),
        "scope": " ".join(scope_list),
    }
    if org:
        claims["org"] = org
    header = {"alg": ALGORITHM, "typ": "at+jwt", "kid": keys.signing_key.kid}
    return jwt.encode(header, claims, keys.signing_key, algorithms=[ALGORITHM])


def verify_token(token: str, keys: IssuerKeys, settings: Settings) -> Principal:
    """Check a bearer token's signature, issuer, audience and validity period.

    Raises
    ------
    Unauthenticated
        With a detail that says what is wrong (never echoing the token).
    """
    if not token or len(token) > 8192:
        raise Unauthenticated("the bearer token is empty or too long")
    try:
        decoded = jwt.decode(token, keys.key_set(), algorithms=[ALGORITHM])
    except JoseError as exc:
        raise Unauthenticated(f"the bearer token is not valid: {exc.error}") from None
    except ValueError:
        raise Unauthenticated("the bearer token is not a JWT") from None
    claims = decoded.claims
    registry = jwt.JWTClaimsRegistry(
        leeway=LEEWAY_S,
        iss={"essential": True, "value": settings.auth_issuer},
        aud={"essential": True, "value": settings.auth_audience},
        sub={"essential": True},
        exp={"essential": True},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise Unauthenticated(f"the bearer token was refused: {exc.description}") from None
    try:
        roles = check_roles(tuple(claims.get("roles") or ()))
        scope_text = claims.get("scope", "")
        if not isinstance(scope_text, str):
            raise ValueError("'scope' must be a string")
        scopes = parse_scopes(scope_text)
    except (TypeError, ValueError) as exc:
        raise Unauthenticated(f"the bearer token has bad claims: {exc}") from None
    org = claims.get("org")
    return Principal(
        subject=str(claims["sub"]),
        roles=frozenset(roles),
        scopes=scopes,
        org=org if isinstance(org, str) and org else None,
        token_id=claims.get("jti"),
        expires_at=claims.get("exp"),
    )
