"""Access scopes: which operation a token allows, on which tenant and entity type.

A scope is written ``<operation>:<tenant>:<type>`` (e.g. ``read:sejong:ParkingSpot``):

* ``operation`` is ``read``, ``write``, ``delete`` or ``admin`` (``admin`` allows all four);
* ``tenant`` is an NGSI-LD tenant name, empty for the default tenant, or ``*`` for every tenant;
* ``type`` is an entity type's short name (or full IRI), or ``*`` for every type.

Missing trailing parts mean ``*``: ``read`` is ``read:*:*`` and ``write:sejong`` is
``write:sejong:*``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

OPERATIONS = ("read", "write", "delete", "admin")
ANY = "*"
_TENANT_RE = re.compile(r"^(\*|[A-Za-z0-9_\-.]{0,64})$")
_TYPE_RE = re.compile(r"^(\*|[^\s:]+|[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+)$")


@dataclass(frozen=True)
class Scope:
    """One parsed scope (see the module docstring)."""

    operation: str
    tenant: str = ANY
    entity_type: str = ANY

    def __str__(self) -> str:
        return f"{self.operation}:{self.tenant}:{self.entity_type}"

    def allows(self, operation: str, tenant: str, entity_type: str | None = None) -> bool:
        """Whether this scope covers ``operation`` on ``tenant`` and, if given, ``entity_type``
        (a short name or an expanded IRI, compared on its short name)."""
        if self.operation not in (operation, "admin"):
            return False
        if self.tenant not in (ANY, tenant):
            return False
        if entity_type is None or self.entity_type == ANY:
            return True
        return self.entity_type in (entity_type, short_name(entity_type))


@lru_cache(maxsize=4096)
def short_name(type_iri: str) -> str:
    """The last segment of an expanded type IRI (``https://.../Person`` -> ``Person``)."""
    for sep in ("#", "/"):
        if sep in type_iri:
            type_iri = type_iri.rsplit(sep, 1)[1]
    if type_iri.startswith("urn:"):
        type_iri = type_iri.rsplit(":", 1)[1]
    return type_iri


def parse_scope(text: str) -> Scope:
    """Parse one scope.

    Raises
    ------
    ValueError
        For an unknown operation, a bad tenant name or an empty type.
    """
    if not isinstance(text, str) or not text:
        raise ValueError("a scope must be a non-empty string")
    operation, _, rest = text.partition(":")
    if operation not in OPERATIONS:
        raise ValueError(
            f"unknown operation {operation!r} in scope {text!r}; use one of {', '.join(OPERATIONS)}"
        )
    if not _:
        return Scope(operation)
    tenant, sep, entity_type = rest.partition(":")
    if not _TENANT_RE.match(tenant):
        raise ValueError(f"invalid tenant {tenant!r} in scope {text!r}")
    if not sep:
        return Scope(operation, tenant)
    if not entity_type or not _TYPE_RE.match(entity_type):
        raise ValueError(f"invalid entity type {entity_type!r} in scope {text!r}")
    return Scope(operation, tenant, entity_type)


def parse_scopes(text: str | Iterable[str]) -> tuple[Scope, ...]:
    """Parse a space-separated scope string (the OAuth2 ``scope`` claim, RFC 8693 §4.2) or a list
    of scopes. ValueError on the first bad one."""
    items = text.split() if isinstance(text, str) else list(text)
    return tuple(parse_scope(item) for item in items)


def allowed(
    scopes: Iterable[Scope], operation: str, tenant: str, entity_type: str | None = None
) -> bool:
    """Whether any of ``scopes`` covers the operation (see :meth:`Scope.allows`)."""
    return any(s.allows(operation, tenant, entity_type) for s in scopes)
