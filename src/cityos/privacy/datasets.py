"""Datasets for de-identified releases: the entities of one type as flat rows.

A row maps attribute short names to the principal value of their default instance (Properties
only: relationships and geometry are identifiers, not statistics), keyed by the entity's data
subject (its first subject, or the entity id) for contribution bounding.
"""

from __future__ import annotations

from typing import Any

from cityos.hub.broker import Hub
from cityos.privacy.personal import PersonalData
from cityos.privacy.scopes import short_name


def rows_of(
    hub: Hub, tenant: str, dataset: str, personal: PersonalData
) -> list[tuple[str, dict[str, Any]]]:
    """``(subject, {attribute: value})`` for every entity of type ``dataset`` (short name), in
    storage order."""
    if tenant and not hub.storage.tenant_exists(tenant):
        return []
    rows = []
    for entity in hub.storage.iter_entities(tenant):
        if dataset not in {short_name(t) for t in entity.types}:
            continue
        values: dict[str, Any] = {}
        for iri, instances in entity.attrs.items():
            for instance in instances:
                if "datasetId" not in instance and instance.get("type") == "Property":
                    values[short_name(iri)] = instance.get("value")
        subjects = sorted(personal.subjects(entity)) if personal.is_personal(entity) else []
        rows.append((subjects[0] if subjects else entity.id, values))
    return rows
