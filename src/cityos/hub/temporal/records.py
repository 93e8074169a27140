"""The shapes history travels in between the recorder, the stores and the renderers.

An attribute instance is kept in the hub's internal form (:mod:`cityos.hub.model`), *packed*: the
members a store keeps in columns (``observedAt``, ``createdAt``, ``modifiedAt``, ``datasetId``) are
taken out, and so are sub-attribute timestamps equal to the instance's own; :func:`unpack` puts them
back exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from cityos.hub.temporal.instants import from_us

#: Time properties a temporal query can select on (§4.11, ``timeproperty``).
TimeProperty = Literal["observedAt", "createdAt", "modifiedAt", "deletedAt"]
TIME_PROPERTIES: tuple[str, ...] = ("observedAt", "createdAt", "modifiedAt", "deletedAt")
_COLUMNS = frozenset({"observedAt", "createdAt", "modifiedAt", "datasetId", "instanceId"})
_PLAIN_KEYS = frozenset({"type", "value", "unitCode", "lang"})


class EntityMark(NamedTuple):
    """An entity's identity in the history after a write: its types, and when it was deleted."""

    entity_id: str
    types: list[str]
    deleted_at: int | None = None


class InstanceRecord(NamedTuple):
    """One attribute instance to add to the history.

    Attributes
    ----------
    entity_id, attr, dataset_id
        The entity, the attribute IRI and the instance's datasetId (None: the default instance).
    body
        The packed instance (see :func:`pack`); for a deletion, only its ``type``.
    observed, created, modified
        ``observedAt`` (None if absent), ``createdAt`` and ``modifiedAt`` [µs since the epoch];
        a deletion's ``modified`` is its ``deletedAt``.
    deleted
        Whether this records the deletion of the instance.
    number
        The principal value when it is a number (booleans as 0 and 1), for aggregations.
    """

    entity_id: str
    attr: str
    dataset_id: str | None
    body: dict[str, Any]
    observed: int | None
    created: int
    modified: int
    deleted: bool = False
    number: int | float | None = None


@dataclass(frozen=True)
class TimeWindow:
    """Which instances a query reads: those whose ``timeproperty`` is in [start, end) [µs].

    ``observedAt`` selects instances that have it; ``createdAt`` every stored version (deletions
    excluded); ``modifiedAt`` every version and deletion; ``deletedAt`` deletions only.
    """

    timeproperty: str = "observedAt"
    start: int | None = None
    end: int | None = None


@dataclass(slots=True)
class StoredInstance:
    """An attribute instance read back from the history."""

    instance_id: int
    dataset_id: str | None
    body: dict[str, Any]
    observed: int | None
    created: int
    modified: int
    deleted: bool
    time: int  #: the instant of the query's ``timeproperty`` [µs]


@dataclass(slots=True)
class AggregateRow:
    """The aggregated values of one attribute instance (datasetId) over one period.

    ``bucket`` numbers the period from the plan's origin; ``values`` maps each aggregation method to
    its result (None when the method does not apply to the values, e.g. ``avg`` of strings).
    """

    dataset_id: str | None
    bucket: int
    time: int  #: the period's start [µs]
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HistoryEntity:
    """An entity known to the history: its latest types, and when it was deleted (if it was)."""

    entity_id: str
    types: list[str]
    deleted_at: int | None = None


def number_of(value: Any) -> int | float | None:
    """The principal value as a number for aggregations, or None (booleans count as 0 and 1)."""
    kind = type(value)
    if kind is float:
        return value
    if kind is int:
        return value if -(2**63) <= value < 2**63 else float(value)
    if kind is bool:
        return int(value)
    return None


def pack(instance: dict[str, Any]) -> dict[str, Any]:
    """The instance without the members kept in columns, and without sub-attribute timestamps
    equal to the instance's own (most of them)."""
    columns = _COLUMNS
    packed = {key: member for key, member in instance.items() if key not in columns}
    if len(packed) <= 2 or packed.keys() <= _PLAIN_KEYS:  # no sub-attribute: the common case
        return packed
    for key, member in packed.items():
        if key not in _PLAIN_KEYS and type(member) is dict and "type" in member:
            packed[key] = _pack_sub(member, instance.get("createdAt"), instance.get("modifiedAt"))
    return packed


def _pack_sub(sub: dict[str, Any], created: str | None, modified: str | None) -> dict[str, Any]:
    packed: dict[str, Any] = {}
    for key, member in sub.items():
        if (key == "createdAt" and member == created) or (
            key == "modifiedAt" and member == modified
        ):
            continue
        if key != "value" and type(member) is dict and "type" in member:
            member = _pack_sub(member, created, modified)
        packed[key] = member
    return packed


def unpack(stored: StoredInstance) -> dict[str, Any]:
    """The internal form of a stored (non-deleted) instance, with its timestamps and datasetId."""
    created, modified = from_us(stored.created), from_us(stored.modified)
    instance = dict(stored.body)
    for key, member in instance.items():
        if key != "value" and type(member) is dict and "type" in member:
            instance[key] = _unpack_sub(member, created, modified)
    if stored.observed is not None:
        instance["observedAt"] = from_us(stored.observed)
    if stored.dataset_id is not None:
        instance["datasetId"] = stored.dataset_id
    instance["createdAt"] = created
    instance["modifiedAt"] = modified
    return instance


def _unpack_sub(sub: dict[str, Any], created: str, modified: str) -> dict[str, Any]:
    out = dict(sub)
    for key, member in out.items():
        if key != "value" and type(member) is dict and "type" in member:
            out[key] = _unpack_sub(member, created, modified)
    out.setdefault("createdAt", created)
    out.setdefault("modifiedAt", modified)
    return out
