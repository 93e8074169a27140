"""Roles of the people and systems that call CityOS, and the scopes each gets by default.

A token names its roles (``roles`` claim) and its scopes (``scope`` claim); the roles decide what
the privacy layer lets through beyond scopes (a citizen sees their own personal data, an auditor
reads the audit trail, a data buyer never gets raw personal rows without consent, an operator may
break the glass in an emergency).
"""

from __future__ import annotations

#: Role name -> what it stands for.
ROLES: dict[str, str] = {
    "citizen": "a resident: manages their own consents, exports or erases their own data",
    "operator": "control-centre staff: operates the city; may use break-glass access",
    "service": "a city service (the SPC's systems): reads and writes on the city's behalf",
    "data_buyer": "a startup or company buying data: de-identified releases only",
    "auditor": "checks the audit trail of every access to personal data",
    "device": "a sensor or gateway: writes its observations",
}

#: Role -> scopes minted when none are asked for.
DEFAULT_SCOPES: dict[str, tuple[str, ...]] = {
    "citizen": ("read",),
    "operator": ("read", "write", "delete"),
    "service": ("read", "write"),
    "data_buyer": ("read",),
    "auditor": (),
    "device": ("write",),
}

#: Roles allowed to use break-glass (emergency) access to personal data.
BREAK_GLASS_ROLES = frozenset({"operator", "service"})


def check_roles(roles: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Validate role names; ValueError names the known roles."""
    if not roles:
        raise ValueError("at least one role is needed")
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise ValueError(
            f"unknown role(s) {', '.join(map(repr, unknown))}; known: {', '.join(ROLES)}"
        )
    return tuple(dict.fromkeys(roles))


def default_scopes(roles: tuple[str, ...]) -> tuple[str, ...]:
    """The union of the default scopes of ``roles``, in a stable order."""
    return tuple(dict.fromkeys(s for r in roles for s in DEFAULT_SCOPES[r]))
