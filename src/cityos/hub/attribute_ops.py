"""Attribute-level write semantics shared by every entity operation (ETSI GS CIM 009 §5.6).

Pure functions over internal :class:`~cityos.hub.model.Entity` objects: they decide what an append,
update, merge or replace does to the instances of one attribute, keyed by ``datasetId``.
"""

from __future__ import annotations

from typing import Any

from cityos.hub.model import Entity

Instance = dict[str, Any]


def dataset_of(instance: Instance) -> str | None:
    """The instance's datasetId (None for the default instance)."""
    return instance.get("datasetId")


def find_instance(instances: list[Instance], dataset_id: str | None) -> int | None:
    """Index of the instance with ``dataset_id`` in ``instances``, or None."""
    for index, instance in enumerate(instances):
        if instance.get("datasetId") == dataset_id:
            return index
    return None


def replace_instance(old: Instance, new: Instance) -> Instance:
    """``new`` replaces ``old`` whole; only the creation time survives."""
    result = dict(new)
    if "createdAt" in old:
        result["createdAt"] = old["createdAt"]
    return result


def merge_instance(old: Instance, new: Instance) -> Instance:
    """Merge-patch one instance (§5.6.17): members of ``new`` win, sub-attributes merge
    recursively, and a sub-attribute of type ``Null`` is removed."""
    result = dict(old)
    for key, member in new.items():
        if key == "createdAt":
            continue
        if isinstance(member, dict) and member.get("type") == "Null":
            result.pop(key, None)
        elif (
            key != "value"
            and isinstance(member, dict)
            and "type" in member
            and isinstance(old.get(key), dict)
            and "type" in old[key]
        ):
            result[key] = merge_instance(old[key], member)
        else:
            result[key] = member
    if new.get("type") and new["type"] != old.get("type"):
        result["type"] = new["type"]
    return result


def put_instances(
    entity: Entity, iri: str, new_instances: list[Instance], *, mode: str, now: str
) -> list[str | None]:
    """Write ``new_instances`` of attribute ``iri`` into ``entity``.

    Parameters
    ----------
    mode
        ``replace``: an instance with the same datasetId is replaced, others are added;
        ``merge``: an instance with the same datasetId is merge-patched, others are added;
        ``keep``: existing instances are left alone (``noOverwrite``), others are added;
        ``existing``: only instances that already exist are replaced.

    Returns
    -------
    list
        The datasetIds of the instances that were *not* written.
    """
    instances = entity.attrs.setdefault(iri, [])
    skipped: list[str | None] = []
    for new in new_instances:
        index = find_instance(instances, dataset_of(new))
        if index is None:
            if mode == "existing":
                skipped.append(dataset_of(new))
                continue
            instances.append(dict(new, createdAt=now, modifiedAt=now))
        elif mode == "keep":
            skipped.append(dataset_of(new))
        elif mode == "merge":
            instances[index] = merge_instance(instances[index], dict(new, modifiedAt=now))
        else:
            instances[index] = replace_instance(instances[index], dict(new, modifiedAt=now))
    if not instances:
        del entity.attrs[iri]
    return skipped


def delete_instances(
    entity: Entity, iri: str, *, dataset_id: str | None = None, delete_all: bool = False
) -> bool:
    """Delete the default instance (or the one with ``dataset_id``, or all); whether any went."""
    instances = entity.attrs.get(iri)
    if not instances:
        return False
    if delete_all:
        del entity.attrs[iri]
        return True
    index = find_instance(instances, dataset_id)
    if index is None:
        return False
    del instances[index]
    if not instances:
        del entity.attrs[iri]
    return True
