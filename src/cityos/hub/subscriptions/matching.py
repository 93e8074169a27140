"""Which subscriptions a committed change notifies (ETSI GS CIM 009 §5.8.1, §5.11).

Triggers, read from a :class:`~cityos.hub.broker.Change`:

* creating an entity is ``entityCreated``, and ``attributeCreated`` for each of its attributes
  (so a subscription with the default triggers is notified of new entities);
* updating an entity is ``attributeCreated``/``attributeUpdated``/``attributeDeleted`` for each
  attribute that appeared, changed (any instance member, ``modifiedAt`` included) or disappeared;
  ``entityUpdated`` is those three together;
* deleting an entity is ``entityDeleted`` only.

``watchedAttributes`` restricts every trigger to changes of those attributes (for
``entityCreated``/``entityDeleted``: the entity must have one). ``entities``, ``q`` and ``geoQ`` are
evaluated on the entity after the change (before it, for a deletion).

Matching runs inside every write transaction, so it must cost nothing when nothing matches: a
:class:`TenantIndex` files each change-driven subscription under one entity type IRI of each
alternative of its type selections (or, without ``entities``, under its watched attributes), and a
change only looks at the subscriptions filed under its entity's types and attributes; among
those, subscriptions whose ``q`` sets a numeric threshold are found by bisection on the
entity's value.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cityos.hub.model import Entity
from cityos.hub.query_eval import numeric_extent
from cityos.hub.query_language import Operator
from cityos.hub.subscriptions.model import (
    ATTRIBUTE_CREATED,
    ATTRIBUTE_DELETED,
    ATTRIBUTE_UPDATED,
    ENTITY_CREATED,
    ENTITY_DELETED,
    Subscription,
)

_EMPTY: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ChangeFacts:
    """What one change did, in the terms of the notification triggers.

    Attributes
    ----------
    kind
        ``create``, ``update`` or ``delete``.
    entity
        The state the filters are evaluated on: after the change, before it for a deletion.
    created, updated, deleted
        Expanded attribute IRIs that appeared, changed and disappeared.
    """

    kind: str
    entity: Entity
    created: frozenset[str] = _EMPTY
    updated: frozenset[str] = _EMPTY
    deleted: frozenset[str] = _EMPTY


def change_facts(kind: str, before: Entity | None, after: Entity | None) -> ChangeFacts:
    """Classify a change (see the module docstring)."""
    if kind == "create":
        assert after is not None
        return ChangeFacts(kind, after, created=frozenset(after.attrs))
    if kind == "delete":
        assert before is not None
        return ChangeFacts(kind, before, deleted=frozenset(before.attrs))
    assert before is not None and after is not None
    old, new = before.attrs, after.attrs
    return ChangeFacts(
        kind,
        after,
        created=frozenset(k for k in new if k not in old),
        updated=frozenset(k for k, v in new.items() if k in old and old[k] != v),
        deleted=frozenset(k for k in old if k not in new),
    )


def _hit(watched: frozenset[str] | None, names: frozenset[str]) -> bool:
    return bool(names) if watched is None else not watched.isdisjoint(names)


def triggered(sub: Subscription, facts: ChangeFacts) -> bool:
    """Whether the change fires one of the subscription's triggers (with watchedAttributes)."""
    bits, watched = sub.triggers, sub.watched
    if facts.kind == "create":
        return bool(
            (bits & ENTITY_CREATED and (watched is None or _hit(watched, facts.created)))
            or (bits & ATTRIBUTE_CREATED and _hit(watched, facts.created))
        )
    if facts.kind == "delete":
        return bool(bits & ENTITY_DELETED and (watched is None or _hit(watched, facts.deleted)))
    return bool(
        (bits & ATTRIBUTE_CREATED and _hit(watched, facts.created))
        or (bits & ATTRIBUTE_UPDATED and _hit(watched, facts.updated))
        or (bits & ATTRIBUTE_DELETED and _hit(watched, facts.deleted))
    )


def selects(
    sub: Subscription,
    entity: Entity,
    *,
    by_type: bool = False,
    q_memo: dict[tuple[str, int], bool] | None = None,
) -> bool:
    """Whether ``entities``, ``q`` and ``geoQ`` hold for the entity (§5.11).

    ``by_type`` tells that the entity has one of the types the subscription is filed under
    (:meth:`TenantIndex.candidates`), which settles ``entities`` when they are plain types.
    ``q_memo`` (one per entity state) shares the answer of a ``q`` among subscriptions with the
    same expression and @context.
    """
    if sub.selectors is not None and not (by_type and sub.types_only):
        types = entity.types
        for selector, pattern in zip(sub.selectors, sub.patterns, strict=True):
            if selector.types is not None and not any(
                all(t in types for t in conjunction) for conjunction in selector.types
            ):
                continue
            if selector.id is not None and selector.id != entity.id:
                continue
            if pattern is not None and pattern.search(entity.id) is None:
                continue
            break
        else:
            return False
    if sub.q is not None:
        if q_memo is None:
            if not sub.q(entity.attrs):
                return False
        else:
            key = (sub.document["q"], id(sub.ctx))
            hit = q_memo.get(key)
            if hit is None:
                hit = q_memo[key] = sub.q(entity.attrs)
            if not hit:
                return False
    if sub.geo is not None:
        assert sub.geoproperty is not None
        return any(
            instance.get("type") == "GeoProperty" and sub.geo.matches(instance["value"])
            for instance in entity.attrs.get(sub.geoproperty, ())
        )
    return True


#: Subscriptions of one type key with a numeric threshold: (attribute, operator) -> the
#: bounds in ascending order and the subscriptions in the same order.
_Thresholds = dict[tuple[str, Operator], tuple[list[int | float], list[Subscription]]]


class TenantIndex:
    """The subscriptions of one tenant, filed for cheap candidate look-up. Immutable.

    A subscription filed under a type whose ``q`` has a numeric
    :class:`~cityos.hub.query_eval.Threshold` (``pm25>35``) is filed by that threshold too: for
    an entity, the subscriptions whose bound its value reaches are found by bisection, so a
    hundred alert levels on one type cost one look-up, not a hundred ``q`` evaluations.
    """

    __slots__ = ("by_attr", "by_threshold", "by_type", "periodic", "subs")

    def __init__(self, subs: Iterable[Subscription]) -> None:
        self.subs: dict[str, Subscription] = {s.id: s for s in subs}
        self.by_type: dict[str, list[Subscription]] = {}
        self.by_threshold: dict[str, _Thresholds] = {}
        self.by_attr: dict[str, list[Subscription]] = {}
        self.periodic: list[Subscription] = []
        filed: dict[str, dict[tuple[str, Operator], list[Subscription]]] = {}
        for sub in self.subs.values():
            if sub.time_interval is not None:
                self.periodic.append(sub)
            elif sub.selectors is not None:
                keys = {
                    min(conjunction)
                    for selector in sub.selectors
                    for conjunction in selector.types or ()
                }
                for key in sorted(keys):
                    if sub.threshold is None:
                        self.by_type.setdefault(key, []).append(sub)
                    else:
                        group = (sub.threshold.attr, sub.threshold.op)
                        filed.setdefault(key, {}).setdefault(group, []).append(sub)
            else:
                for iri in sorted(sub.watched or ()):
                    self.by_attr.setdefault(iri, []).append(sub)
        for key, groups in filed.items():
            self.by_threshold[key] = {}
            for group, members in groups.items():
                members.sort(key=lambda sub: sub.threshold.bound)  # type: ignore[union-attr]
                bounds = [sub.threshold.bound for sub in members]  # type: ignore[union-attr]
                self.by_threshold[key][group] = (bounds, members)

    @property
    def change_driven(self) -> bool:
        """Whether any subscription here reacts to changes (rather than to a timer)."""
        return bool(self.by_type or self.by_threshold or self.by_attr)

    def candidates(
        self,
        types: Sequence[str],
        attrs: Iterable[str] | None = None,
        entity_attrs: Mapping[str, Any] | None = None,
    ) -> list[Subscription]:
        """Subscriptions that may match an entity with these types (and changed attributes).

        With ``entity_attrs`` (the entity's attributes), subscriptions filed by a threshold the
        entity does not reach are left out; without, all are candidates.
        """
        found: dict[str, Subscription] = {}
        by_type, by_threshold = self.by_type, self.by_threshold
        extents: dict[str, Any] = {}
        for type_iri in types:
            for sub in by_type.get(type_iri, ()):
                found[sub.id] = sub
            for (attr, op), (bounds, members) in by_threshold.get(type_iri, {}).items():
                if entity_attrs is None:
                    passing = members
                else:
                    if attr not in extents:
                        extents[attr] = numeric_extent(entity_attrs.get(attr))
                    passing = _reached(op, bounds, members, extents[attr])
                for sub in passing:
                    found[sub.id] = sub
        if self.by_attr and attrs is not None:
            for iri in attrs:
                for sub in self.by_attr.get(iri, ()):
                    found[sub.id] = sub
        return list(found.values())


def _reached(
    op: Operator,
    bounds: list[int | float],
    members: list[Subscription],
    extent: tuple[int | float, int | float] | None,
) -> list[Subscription]:
    """The members (sorted by bound) whose ``value op bound`` some number in ``extent`` meets."""
    if extent is None:
        return []
    low, high = extent
    if op is Operator.GT:
        return members[: bisect_left(bounds, high)]
    if op is Operator.GE:
        return members[: bisect_right(bounds, high)]
    if op is Operator.LT:
        return members[bisect_right(bounds, low) :]
    return members[bisect_left(bounds, low) :]  # Operator.LE


@dataclass
class Matched:
    """What one write notifies to one subscription: the entity states, in change order."""

    sub: Subscription
    items: list[tuple[str, Entity]] = field(default_factory=list)


def match_changes(index: TenantIndex, changes: Sequence[Any], now: str) -> list[Matched]:
    """The subscriptions the changes of one write notify, each with its matching entities.

    ``changes`` are :class:`~cityos.hub.broker.Change` objects; ``now`` (an isoformat string)
    decides expiry. Paused, expired and periodic subscriptions never match.
    """
    matched: dict[str, Matched] = {}
    use_attrs = bool(index.by_attr)
    for change in changes:
        entity = change.after if change.after is not None else change.before
        attrs = None
        if use_attrs:
            attrs = set(entity.attrs)
            if change.before is not None and change.after is not None:
                attrs.update(change.before.attrs)
        candidates = index.candidates(entity.types, attrs, entity.attrs)
        if not candidates:
            continue
        facts = change_facts(change.kind, change.before, change.after)
        q_memo: dict[tuple[str, int], bool] = {}
        for sub in candidates:
            if (
                not sub.live(now)
                or not triggered(sub, facts)
                or not selects(sub, facts.entity, by_type=True, q_memo=q_memo)
            ):
                continue
            entry = matched.get(sub.id)
            if entry is None:
                entry = matched[sub.id] = Matched(sub)
            entry.items.append((facts.kind, facts.entity))
    return list(matched.values())


class SubscriptionIndex:
    """Every tenant's :class:`TenantIndex`, replaced whole on each change (readers never lock)."""

    def __init__(self) -> None:
        self._tenants: dict[str, TenantIndex] = {}
        self._lock = threading.Lock()

    def tenant(self, tenant: str) -> TenantIndex | None:
        """The index of a tenant, or None if it has no subscriptions."""
        return self._tenants.get(tenant)

    def get(self, tenant: str, sub_id: str) -> Subscription | None:
        """One compiled subscription."""
        found = self._tenants.get(tenant)
        return found.subs.get(sub_id) if found is not None else None

    def put(self, sub: Subscription) -> None:
        """Add or replace a subscription."""
        with self._lock:
            current = self._tenants.get(sub.tenant)
            subs = dict(current.subs) if current is not None else {}
            subs[sub.id] = sub
            self._tenants[sub.tenant] = TenantIndex(subs.values())

    def remove(self, tenant: str, sub_id: str) -> None:
        """Forget a subscription."""
        with self._lock:
            current = self._tenants.get(tenant)
            if current is None or sub_id not in current.subs:
                return
            subs = {k: v for k, v in current.subs.items() if k != sub_id}
            if subs:
                self._tenants[tenant] = TenantIndex(subs.values())
            else:
                del self._tenants[tenant]

    def periodic(self) -> Iterator[Subscription]:
        """Every ``timeInterval`` subscription of every tenant."""
        for index in list(self._tenants.values()):
            yield from index.periodic
