"""Pseudonymised release rules: for which entity types and purposes personal rows without a
consent may still be released, pseudonymised (``CITYOS_PRIVACY_PSEUDONYMISE_RULES``).

Written ``Type=purpose|purpose,Type=purpose``, e.g. ``Trip=mobility-planning|research``: trips
are released for mobility planning and research with their subject, id and person references
replaced by per-purpose pseudonyms and their direct identifiers removed.
"""

from __future__ import annotations

import re

from cityos.hub.model import Entity
from cityos.privacy.personal import DIRECT_IDENTIFIERS, PersonalData
from cityos.privacy.pseudonym import PseudonymKeys
from cityos.privacy.scopes import short_name

_TYPE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")
_PURPOSE_RE = re.compile(r"^[a-z0-9][a-z0-9._\-]{0,63}$")
_URN_RE = re.compile(r"^urn:ngsi-ld:([^:]+):")


def parse_rules(text: str) -> dict[str, frozenset[str]]:
    """Parse rules into type -> purposes.

    Raises
    ------
    ValueError
        For an item that is not ``Type=purpose|purpose``.
    """
    rules: dict[str, frozenset[str]] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        entity_type, sep, purposes = item.partition("=")
        names = [p.strip() for p in purposes.split("|") if p.strip()]
        if (
            not sep
            or not _TYPE_RE.match(entity_type.strip())
            or not names
            or not all(_PURPOSE_RE.match(p) for p in names)
        ):
            raise ValueError(
                f"invalid pseudonymisation rule {item!r}: use Type=purpose|purpose, "
                "separated by commas"
            )
        rules[entity_type.strip()] = frozenset(names)
    return rules


def pseudonymised(
    entity: Entity, purpose: str, keys: PseudonymKeys, personal: PersonalData
) -> Entity:
    """A copy of a personal entity fit for a pseudonymised release for ``purpose``: its id, its
    subjects and its references to personal entities replaced by pseudonyms, its direct
    identifiers removed."""
    category = personal.category(entity) or "Entity"

    def alias(identifier: str) -> str:
        match = _URN_RE.match(identifier)
        kind = match.group(1) if match else "Subject"
        return f"urn:ngsi-ld:{kind}:pseudonym:{keys.pseudonym(identifier, purpose)}"

    def personal_ref(value: object) -> bool:
        match = _URN_RE.match(value) if isinstance(value, str) else None
        return match is not None and match.group(1) in personal.types

    attrs: dict[str, list[dict]] = {}
    for iri, instances in entity.attrs.items():
        name = short_name(iri)
        if name in DIRECT_IDENTIFIERS:
            continue
        copies = []
        for instance in instances:
            copy = dict(instance)
            value = copy.get("value")
            if name == personal.subject_attribute:
                if isinstance(value, str):
                    copy["value"] = alias(value)
                elif isinstance(value, list):
                    copy["value"] = [alias(v) if isinstance(v, str) else v for v in value]
            elif copy.get("type") in ("Relationship", "ListRelationship"):
                if personal_ref(value):
                    copy["value"] = alias(value)  # type: ignore[arg-type]
                elif isinstance(value, list):
                    copy["value"] = [alias(v) if personal_ref(v) else v for v in value]
            copies.append(copy)
        attrs[iri] = copies
    return Entity(
        id=f"urn:ngsi-ld:{category}:pseudonym:{keys.pseudonym(entity.id, purpose)}",
        types=list(entity.types),
        attrs=attrs,
        scope=None,
        created_at=entity.created_at,
        modified_at=entity.modified_at,
    )
