"""Temporal representations of entities (ETSI GS CIM 009 §4.5.7, §4.5.9, §4.5.19).

* normalized: each attribute is an array of instances, each with its ``instanceId``; a deleted
  instance shows NGSI-LD Null as its value and its ``deletedAt``;
* simplified (``temporalValues``): ``{"type": ..., "values": [[value, time], ...]}`` (``objects``
  for Relationships, ``languageMaps``, ``vocabs``, ``jsons``, ``valueLists``, ``objectsLists``);
* aggregated: ``{"type": ..., "avg": [[value, start, end], ...], ...}`` per method.

Simplified and aggregated attributes with several datasetIds are arrays of such objects, each with
its ``datasetId`` (the default instance first). Instants are ISO 8601 UTC.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from cityos.hub.model import NGSI_LD_NULL, PRINCIPAL_KEY
from cityos.hub.representation import RenderOptions, principal_out, render_instance
from cityos.hub.temporal.aggregation import BucketPlan, finish
from cityos.hub.temporal.instants import from_us
from cityos.hub.temporal.query import TemporalQuery
from cityos.hub.temporal.records import AggregateRow, StoredInstance, unpack

Compact = Callable[[str], str]
INSTANCE_PREFIX = "urn:ngsi-ld:Instance:"
_INSTANCE_RE = re.compile(r"urn:ngsi-ld:Instance:([1-9][0-9]{0,18})")
#: Attribute type -> member holding the list of [value, time] pairs (§4.5.9).
VALUES_KEY = {
    "Property": "values",
    "GeoProperty": "values",
    "Relationship": "objects",
    "LanguageProperty": "languageMaps",
    "VocabProperty": "vocabs",
    "JsonProperty": "jsons",
    "ListProperty": "valueLists",
    "ListRelationship": "objectsLists",
}
_NULLS: dict[str, Any] = {
    "LanguageProperty": {"@none": NGSI_LD_NULL},
    "ListProperty": [NGSI_LD_NULL],
    "ListRelationship": [NGSI_LD_NULL],
}


def instance_uri(instance_id: int) -> str:
    """The ``instanceId`` of a stored instance."""
    return f"{INSTANCE_PREFIX}{instance_id}"


def parse_instance_uri(text: str) -> int | None:
    """The stored instance number of an ``instanceId``, or None if it names none of ours."""
    match = _INSTANCE_RE.fullmatch(text)
    return int(match.group(1)) if match else None


def render_normalized(
    rows: Sequence[StoredInstance], compact: Compact, query: TemporalQuery
) -> list[dict[str, Any]]:
    """An attribute's instances in the normalized temporal representation (§4.5.7)."""
    opts = RenderOptions(sys_attrs=query.sys_attrs)
    out = []
    for row in rows:
        if row.deleted:
            kind = row.body.get("type", "Property")
            item: dict[str, Any] = {
                "type": kind,
                PRINCIPAL_KEY.get(kind, "value"): _NULLS.get(kind, NGSI_LD_NULL),
            }
            if row.dataset_id is not None:
                item["datasetId"] = row.dataset_id
            item["deletedAt"] = from_us(row.modified)
            if query.sys_attrs:
                item["createdAt"] = from_us(row.created)
                item["modifiedAt"] = from_us(row.modified)
        else:
            instance = unpack(row)
            item = render_instance(instance, compact, opts)
            if query.timeproperty in ("createdAt", "modifiedAt"):
                item[query.timeproperty] = instance[query.timeproperty]
        item["instanceId"] = instance_uri(row.instance_id)
        out.append(item)
    return out


def render_simplified(rows: Sequence[StoredInstance], compact: Compact) -> Any:
    """An attribute's instances as ``[value, time]`` pairs, per datasetId (§4.5.9)."""
    groups: dict[str | None, list[StoredInstance]] = {}
    for row in rows:
        groups.setdefault(row.dataset_id, []).append(row)
    out = []
    for dataset, members in _default_first(groups):
        kind = members[-1].body.get("type", "Property")
        pairs = [
            [
                NGSI_LD_NULL if row.deleted else principal_out(row.body, compact),
                from_us(row.time),
            ]
            for row in members
        ]
        item: dict[str, Any] = {"type": kind, VALUES_KEY.get(kind, "values"): pairs}
        if dataset is not None:
            item["datasetId"] = dataset
        out.append(item)
    return out[0] if len(out) == 1 else out


def render_aggregated(
    rows: Sequence[AggregateRow],
    kinds: dict[str | None, str],
    methods: Sequence[str],
    plan: BucketPlan,
) -> Any:
    """An attribute's aggregated values per method, per datasetId (§4.5.19): each method lists
    ``[value, start, end]`` for the periods where it has a result."""
    groups: dict[str | None, list[AggregateRow]] = {}
    for row in rows:
        groups.setdefault(row.dataset_id, []).append(row)
    out = []
    for dataset, members in _default_first(groups):
        item: dict[str, Any] = {"type": kinds.get(dataset, "Property")}
        if dataset is not None:
            item["datasetId"] = dataset
        bounds = [(from_us(plan.start(r.bucket)), from_us(plan.end(r.bucket))) for r in members]
        for method in methods:
            results = [row.values.get(method) for row in members]
            if method == "stddev":
                results = [finish(method, value) for value in results]
            item[method] = [
                [value, start, end]
                for value, (start, end) in zip(results, bounds, strict=True)
                if value is not None
            ]
        out.append(item)
    return out[0] if len(out) == 1 else out


def _default_first(groups: dict[str | None, list[Any]]) -> list[tuple[str | None, list[Any]]]:
    return sorted(groups.items(), key=lambda item: (item[0] is not None, item[0] or ""))
