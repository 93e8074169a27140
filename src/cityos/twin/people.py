"""The pseudonymous residents of the twin: households, persons, and their ids.

Persons and households carry no names and no location beyond their home building; their ids are
keyed hashes of the site, the seed and an index (``urn:ngsi-ld:Person:<16 hex>``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from cityos.twin.site import GeneratorParameters


@dataclass
class Household:
    """A household: pseudonymous id, home building, size, ring side and persona (if any)."""

    id: str
    building_key: str
    size: int
    inside_ring: bool
    persona: str | None = None


@dataclass
class Person:
    """A pseudonymous resident."""

    id: str
    age: int
    household: int
    occupation: str = ""
    workplace_key: str | None = None
    workplace_name: str | None = None
    persona: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


@dataclass
class Population:
    """Households and persons (``Person.household`` indexes ``households``)."""

    households: list[Household]
    persons: list[Person]

    @property
    def mean_age(self) -> float:
        """Mean age of residents [years]."""
        return float(np.mean([p.age for p in self.persons]))


def pseudonym(params: GeneratorParameters, kind: str, index: int) -> str:
    """A pseudonymous NGSI-LD id ``urn:ngsi-ld:<kind>:<16 hex>`` keyed by site, seed and index."""
    digest = hashlib.blake2b(
        f"{params.site.name}:{params.seed}:{kind}:{index}".encode(), digest_size=8
    ).hexdigest()
    return f"urn:ngsi-ld:{kind}:{digest}"
