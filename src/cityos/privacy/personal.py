"""Which entities hold personal data, and whose.

A personal entity is one of the configured types (``CITYOS_PRIVACY_PERSONAL_TYPES``; compared on
the short type name, so any @context works). Its *data subjects* are the pseudonymous citizens
named by the subject attribute (``CITYOS_PRIVACY_SUBJECT_ATTRIBUTE``, default ``dataSubject``): a
Relationship or Property holding one id, or a ListRelationship/ListProperty or a JSON list of
ids, in any of its instances. A ``Person`` without the attribute is its own subject. A personal
entity without a subject is withheld from everyone but an emergency (fail closed).
"""

from __future__ import annotations

from typing import Any

from cityos.core.settings import Settings
from cityos.privacy.scopes import short_name

#: Attributes that identify a person directly; pseudonymised releases drop them.
DIRECT_IDENTIFIERS = frozenset(
    {
        "name",
        "givenName",
        "familyName",
        "alternateName",
        "email",
        "telephone",
        "phone",
        "address",
        "streetAddress",
        "birthDate",
        "taxID",
        "nationalId",
        "faceImage",
    }
)


def _names(text: str) -> frozenset[str]:
    return frozenset(t.strip() for t in text.split(",") if t.strip())


class PersonalData:
    """The personal-data configuration of a deployment (with per-IRI lookups cached)."""

    def __init__(self, types: frozenset[str], subject_attribute: str) -> None:
        self.types = types
        self.subject_attribute = subject_attribute
        self._type_category: dict[str, str | None] = {}
        self._is_subject: dict[str, bool] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> PersonalData:
        return cls(_names(settings.privacy_personal_types), settings.privacy_subject_attribute)

    def category(self, entity: Any) -> str | None:
        """The personal category (short type name) of an entity, or None if not personal."""
        cache = self._type_category
        for entity_type in entity.types:
            found = cache.get(entity_type, "")
            if found == "":
                name = short_name(entity_type)
                found = cache[entity_type] = name if name in self.types else None
            if found is not None:
                return found
        return None

    def is_personal(self, entity: Any) -> bool:
        return self.category(entity) is not None

    def subjects(self, entity: Any) -> frozenset[str]:
        """The data subjects of a personal entity (may be empty)."""
        found: set[str] = set()
        is_subject = self._is_subject
        for iri, instances in entity.attrs.items():
            flag = is_subject.get(iri)
            if flag is None:
                flag = is_subject[iri] = short_name(iri) == self.subject_attribute
            if not flag:
                continue
            for instance in instances:
                value = instance.get("value")
                if isinstance(value, str):
                    found.add(value)
                elif isinstance(value, list):
                    found.update(v for v in value if isinstance(v, str))
                elif isinstance(value, dict) and isinstance(value.get("@list"), list):
                    found.update(v for v in value["@list"] if isinstance(v, str))
        if not found and "Person" in {short_name(t) for t in entity.types}:
            found.add(entity.id)
        return frozenset(found)
