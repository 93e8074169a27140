"""The temporal API in Python: :class:`TemporalService` (ETSI GS CIM 009 §5.6.11-§5.6.16,
§5.7.3-§5.7.4), with the semantics the HTTP router exposes.

Entity selection
    ``type``, ``id``, ``idPattern``, ``q``, geo-queries and ``attrs`` select entities on their
    *current* state, as a normal query does (and as Stellio does). Entities deleted since keep
    their history: a query without ``q``, ``scopeQ`` or a geo-query also lists them (after the
    current ones, matched on their last id and types), and ``GET /temporal/entities/{id}``
    retrieves them, with their ``deletedAt``.

Provision and the current state
    Temporal provision writes history directly, and keeps the current state consistent with it:
    the latest given instance of each attribute (per datasetId) becomes the current one unless the
    current one was observed later (``observedAt``; an instance without it counts as newest). The
    older instances go straight into the history, in the same transaction as the current-state
    write. Creating a temporal entity that does not exist creates the entity. Deleting a temporal
    entity (or attribute) deletes the entity (or attribute) *and* its history; modifying or deleting
    one instance by ``instanceId`` edits the history only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from cityos.core.errors import (
    AlreadyExists,
    BadRequestData,
    OperationNotSupported,
    ResourceNotFound,
    TooManyResults,
)
from cityos.core.timeutil import now_iso
from cityos.hub.broker import EntityQuery, Hub
from cityos.hub.jsonld_context import ActiveContext
from cityos.hub.model import ENTITY_RESERVED, Entity, check_entity_id, check_name, parse_instance
from cityos.hub.query_language import regex_search
from cityos.hub.storage.base import EntityFilter
from cityos.hub.temporal.aggregation import needs_data_range, plan_buckets
from cityos.hub.temporal.instants import from_us, to_us
from cityos.hub.temporal.pagination import ContentRange, fetch_size, paginate
from cityos.hub.temporal.query import TemporalQuery
from cityos.hub.temporal.records import (
    EntityMark,
    HistoryEntity,
    InstanceRecord,
    TimeWindow,
    number_of,
    pack,
)
from cityos.hub.temporal.recording import Staged, staged
from cityos.hub.temporal.render import (
    parse_instance_uri,
    render_aggregated,
    render_normalized,
    render_simplified,
)
from cityos.hub.temporal.store import ALL_DATASETS, Key, TemporalStore


@dataclass
class TemporalPage:
    """Temporal entities rendered for a client, and what the response headers say.

    Attributes
    ----------
    entities
        Temporal representations, JSON-ready (without @context).
    count
        The number of matching entities when it was asked for (``NGSILD-Results-Count``).
    content_range
        Set when the instance limit cut the answer (206 with ``Content-Range``).
    """

    entities: list[dict[str, Any]]
    count: int | None = None
    content_range: ContentRange | None = None


@dataclass
class _Subject:
    entity_id: str
    types: list[str]
    current: Entity | None
    deleted_at: int | None = None


class TemporalService:
    """Temporal queries, provision and retention over a hub whose backend keeps history."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    @property
    def store(self) -> TemporalStore:
        """The backend's temporal store."""
        store = getattr(self.hub.storage, "temporal", None)
        if store is None:
            raise OperationNotSupported(
                f"the {type(self.hub.storage).__name__} backend keeps no temporal history"
            )
        return store

    # -- consumption --------------------------------------------------------------------------
    def query(
        self,
        query: EntityQuery,
        temporal: TemporalQuery,
        ctx: ActiveContext,
        tenant: str = "",
    ) -> TemporalPage:
        """Query the temporal evolution of entities (§5.7.4): entities as ``query`` selects them
        (one page of ``limit``/``offset``), each with its history in ``temporal``'s range."""
        hub = self.hub
        name = hub.read_tenant(tenant)
        store = self.store
        limit = hub.settings.default_limit if query.limit is None else query.limit
        if limit > hub.settings.max_limit:
            raise TooManyResults(
                f"'limit' {limit} is above the maximum of {hub.settings.max_limit}"
            )
        flt = hub.entity_filter(query, ctx)
        current_only = (
            query.q is not None or query.geo is not None or getattr(query, "scope_q", None)
        )
        deleted = [] if current_only else self._deleted_matching(name, flt)
        if not deleted:
            page = hub.query_entities(query, ctx, name)
            subjects = [_Subject(e.id, e.types, e) for e in page.entities]
            count = page.count
        else:
            page = hub.query_entities(dataclasses.replace(query, count=True), ctx, name)
            total = page.count or 0
            subjects = [_Subject(e.id, e.types, e) for e in page.entities]
            room = limit - len(subjects)
            if room > 0:
                skip = max(0, query.offset - total)
                subjects += [
                    _Subject(h.entity_id, h.types, None, h.deleted_at)
                    for h in deleted[skip : skip + room]
                ]
            count = total + len(deleted) if query.count else None
        result = self._temporal(name, subjects, temporal, ctx, flt.attrs_any)
        result.count = count
        return result

    def retrieve(
        self,
        entity_id: str,
        temporal: TemporalQuery,
        ctx: ActiveContext,
        tenant: str = "",
        *,
        attrs: Sequence[str] | None = None,
    ) -> TemporalPage:
        """Retrieve the temporal evolution of one entity (§5.7.3), deleted or not; ``attrs``
        restricts the attributes. ResourceNotFound if the entity has neither state nor history."""
        check_entity_id(entity_id)
        name = self.hub.read_tenant(tenant)
        wanted = None
        if attrs is not None:
            if not attrs:
                raise BadRequestData("'attrs' is empty")
            wanted = frozenset(ctx.expand_term(check_name(a)) for a in attrs)
        try:
            current: Entity | None = self.hub.get_entity(entity_id, name)
        except ResourceNotFound:
            current = None
        if current is not None:
            subject = _Subject(entity_id, current.types, current)
        else:
            known = self.store.entities(name, [entity_id]).get(entity_id)
            if known is None:
                raise ResourceNotFound(f"entity {entity_id} not found", instance=entity_id)
            subject = _Subject(entity_id, known.types, None, known.deleted_at)
        return self._temporal(name, [subject], temporal, ctx, wanted)

    def _deleted_matching(self, tenant: str, flt: EntityFilter) -> list[HistoryEntity]:
        """Deleted entities with history that the query's id, idPattern, type and attrs select."""
        found = [
            h
            for h in self.store.entities(tenant, deleted_only=True).values()
            if _matches(h, flt)
        ]
        if found and flt.attrs_any is not None:
            history = self.store.attributes(tenant, [h.entity_id for h in found])
            found = [
                h for h in found if flt.attrs_any.intersection(history.get(h.entity_id, ()))
            ]
        return found

    def _temporal(
        self,
        tenant: str,
        subjects: list[_Subject],
        temporal: TemporalQuery,
        ctx: ActiveContext,
        attrs: frozenset[str] | None,
    ) -> TemporalPage:
        store = self.store
        history = store.attributes(tenant, [s.entity_id for s in subjects])
        keys: list[Key] = [
            (s.entity_id, iri)
            for s in subjects
            for iri in history.get(s.entity_id, ())
            if attrs is None or iri in attrs
        ]
        limit = self.hub.settings.temporal_max_instances
        window = temporal.window
        newest_first = temporal.last_n is not None
        size = fetch_size(limit, temporal.last_n)
        compact = ctx.compact_iri
        rendered: dict[Key, Any] = {}
        if temporal.representation == "aggregatedValues":
            period = temporal.aggr_period
            first = last = None
            if keys and needs_data_range(period, window):
                first, last = store.time_range(tenant, keys, window)
            plan = plan_buckets(period, window, first, last)
            fetched = store.aggregate(
                tenant,
                keys,
                window,
                plan,
                temporal.aggr_methods,
                limit=size,
                newest_first=newest_first,
            )
            rows, content = paginate(
                dict(fetched), limit=limit, last_n=temporal.last_n, window=window
            )
            kinds = self._kinds(tenant, subjects, [k for k, v in rows.items() if v])
            for key, members in rows.items():
                if members:
                    rendered[key] = render_aggregated(
                        members, kinds.get(key, {}), temporal.aggr_methods, plan
                    )
        else:
            fetched_instances = store.instances(
                tenant, keys, window, limit=size, newest_first=newest_first
            )

            def at_instant(key: Hashable, moment: int) -> list[Any]:
                exact = TimeWindow(window.timeproperty, moment, moment + 1)
                return store.instances(tenant, [key], exact, limit=None)[key]  # type: ignore[list-item]

            rows, content = paginate(
                dict(fetched_instances),
                limit=limit,
                last_n=temporal.last_n,
                window=window,
                at_instant=at_instant,
            )
            for key, members in rows.items():
                if members:
                    if temporal.representation == "temporalValues":
                        rendered[key] = render_simplified(members, compact)
                    else:
                        rendered[key] = render_normalized(members, compact, temporal)
        entities = []
        for subject in subjects:
            types = [compact(t) for t in subject.types]
            out: dict[str, Any] = {
                "id": subject.entity_id,
                "type": types[0] if len(types) == 1 else types,
            }
            if subject.deleted_at is not None:
                out["deletedAt"] = from_us(subject.deleted_at)
            if temporal.sys_attrs and subject.current is not None:
                out["createdAt"] = subject.current.created_at
                out["modifiedAt"] = subject.current.modified_at
            for iri in history.get(subject.entity_id, ()):
                value = rendered.get((subject.entity_id, iri))
                if value is not None:
                    out[compact(iri)] = value
            entities.append(out)
        return TemporalPage(entities, content_range=content)

    def _kinds(
        self, tenant: str, subjects: list[_Subject], keys: list[Key]
    ) -> dict[Key, dict[str | None, str]]:
        """The attribute type per datasetId of each key: the current one, else the latest
        recorded one."""
        current = {s.entity_id: s.current for s in subjects}
        kinds: dict[Key, dict[str | None, str]] = {}
        missing: list[Key] = []
        for key in keys:
            entity = current.get(key[0])
            instances = entity.attrs.get(key[1], []) if entity is not None else []
            if instances:
                kinds[key] = {i.get("datasetId"): i["type"] for i in instances}
            else:
                missing.append(key)
        if missing:
            latest = self.store.instances(
                tenant, missing, TimeWindow("modifiedAt"), limit=1, newest_first=True
            )
            for key, rows in latest.items():
                if rows:
                    kinds[key] = {None: rows[0].body.get("type", "Property")}
                    kinds[key][rows[0].dataset_id] = kinds[key][None]
        return kinds

    # -- provision ----------------------------------------------------------------------------
    def upsert(self, body: Any, ctx: ActiveContext, tenant: str = "") -> bool:
        """Create a temporal entity, or add instances to an existing one (§5.6.11). Returns
        whether the entity was created (its latest instances become its current state)."""
        if not isinstance(body, dict):
            raise BadRequestData("the payload must be a temporal entity (a JSON object)")
        entity_id = check_entity_id(body.get("id", body.get("@id")))
        return self._provide(entity_id, body, ctx, tenant, create=True)

    def append(self, entity_id: str, body: Any, ctx: ActiveContext, tenant: str = "") -> None:
        """Add attribute instances to a temporal entity (§5.6.12); ResourceNotFound if the entity
        does not exist."""
        check_entity_id(entity_id)
        if not isinstance(body, dict):
            raise BadRequestData("the payload must be a JSON object of temporal attributes")
        if body.get("id", entity_id) != entity_id:
            raise BadRequestData(f"the id in the payload differs from the URL ({entity_id})")
        self._provide(entity_id, body, ctx, self.hub.read_tenant(tenant), create=False)

    def _provide(
        self, entity_id: str, body: dict[str, Any], ctx: ActiveContext, tenant: str, *, create: bool
    ) -> bool:
        now = now_iso()
        now_us = to_us(now)
        current = self.hub.storage.get_entities(tenant, [entity_id]).get(entity_id)
        if current is None and not create:
            raise ResourceNotFound(f"entity {entity_id} not found", instance=entity_id)
        if current is None and body.get("type", body.get("@type")) is None:
            raise BadRequestData("a new temporal entity needs a 'type'")
        payload: dict[str, Any] = {}
        records: list[InstanceRecord] = []
        for name, raws in _temporal_attributes(body):
            iri = ctx.expand_term(name)
            groups: dict[str | None, list[tuple[Any, dict[str, Any]]]] = {}
            for raw in raws:
                parsed = parse_instance(raw, ctx.expand_term, name=name, now=now)
                groups.setdefault(parsed.get("datasetId"), []).append((raw, parsed))
            newest: list[Any] = []
            for dataset, items in groups.items():
                order = sorted(range(len(items)), key=lambda i: (_observed(items[i][1]), i))
                latest = order[-1]
                existing = _instance(current, iri, dataset)
                if existing is None or _observed(existing) <= _observed(items[latest][1]):
                    newest.append(items[latest][0])
                    older = [items[i][1] for i in order[:-1]]
                else:
                    older = [items[i][1] for i in order]
                records += [_history(entity_id, iri, p, now_us) for p in older]
            if newest:
                payload[name] = newest if len(newest) > 1 else newest[0]
        stage = Staged(tenant, entity_id, records=records)
        created = False
        with staged(stage):
            if current is None:
                entity = {"id": entity_id, "type": body.get("type", body.get("@type"))}
                if "scope" in body:
                    entity["scope"] = body["scope"]
                try:
                    self.hub.create_entity({**entity, **payload}, ctx, tenant)
                    created = True
                except AlreadyExists:
                    self.hub.append_attrs(entity_id, {**entity, **payload}, ctx, tenant)
            elif payload or "type" in body:
                if "type" in body:
                    payload["type"] = body["type"]
                self.hub.append_attrs(entity_id, payload, ctx, tenant)
        if records and not stage.applied:
            entity_now = self.hub.storage.get_entities(tenant, [entity_id]).get(entity_id)
            types = entity_now.types if entity_now is not None else []
            with self.hub.storage.transaction(tenant) as tx:
                self.store.record(tx, [EntityMark(entity_id, types)], records)
        return created

    def delete_entity(self, entity_id: str, tenant: str = "") -> None:
        """Delete a temporal entity (§5.6.16): the entity, if it exists, and all its history."""
        check_entity_id(entity_id)
        name = self.hub.read_tenant(tenant)
        current = self.hub.storage.get_entities(name, [entity_id]).get(entity_id)
        known = self.store.entities(name, [entity_id]).get(entity_id)
        if current is None and known is None:
            raise ResourceNotFound(f"entity {entity_id} not found", instance=entity_id)
        stage = Staged(name, entity_id, forget_entity=True)
        if current is not None:
            with staged(stage):
                self.hub.delete_entity(entity_id, name)
        if not stage.applied:
            with self.hub.storage.transaction(name) as tx:
                self.store.delete(tx, entity_id)

    def delete_attr(
        self,
        entity_id: str,
        attr: str,
        ctx: ActiveContext,
        tenant: str = "",
        *,
        dataset_id: str | None = None,
        delete_all: bool = False,
    ) -> None:
        """Delete a temporal attribute (§5.6.13): its current instance(s) and their history — the
        default instance, the one with ``dataset_id``, or every one with ``delete_all``."""
        check_entity_id(entity_id)
        check_name(attr)
        if dataset_id is not None:
            check_entity_id(dataset_id, where="datasetId")
        name = self.hub.read_tenant(tenant)
        iri = ctx.expand_term(attr)
        dataset = ALL_DATASETS if delete_all else dataset_id
        current = self.hub.storage.get_entities(name, [entity_id]).get(entity_id)
        present = current is not None and any(
            delete_all or i.get("datasetId") == dataset_id for i in current.attrs.get(iri, ())
        )
        stage = Staged(name, entity_id, forget_attrs=[(iri, dataset)])
        if present:
            with staged(stage):
                self.hub.delete_attr(
                    entity_id, attr, ctx, name, dataset_id=dataset_id, delete_all=delete_all
                )
        if not stage.applied:
            with self.hub.storage.transaction(name) as tx:
                gone = self.store.delete(tx, entity_id, iri, dataset=dataset)
                if not gone and not present:
                    raise ResourceNotFound(
                        f"attribute {attr!r} of entity {entity_id} has no history",
                        instance=entity_id,
                    )

    def modify_instance(
        self,
        entity_id: str,
        attr: str,
        instance_id: str,
        body: Any,
        ctx: ActiveContext,
        tenant: str = "",
    ) -> None:
        """Replace one recorded instance (§5.6.14), keeping its instanceId, datasetId and, unless
        the body has one, its ``observedAt``. The current state is not changed."""
        check_entity_id(entity_id)
        check_name(attr)
        number = _instance_number(instance_id)
        if not isinstance(body, dict):
            raise BadRequestData("the payload must be an attribute instance (a JSON object)")
        name = self.hub.read_tenant(tenant)
        now = now_iso()
        parsed = parse_instance(body, ctx.expand_term, name=attr, now=now)
        observed = parsed.get("observedAt")
        with self.hub.storage.transaction(name) as tx:
            found = self.store.replace_instance(
                tx,
                entity_id,
                ctx.expand_term(attr),
                number,
                pack(parsed),
                to_us(observed) if observed is not None else None,
                to_us(now),
                number_of(parsed.get("value")),
            )
            if not found:
                raise ResourceNotFound(
                    f"no instance {instance_id} of {attr!r} in entity {entity_id}",
                    instance=instance_id,
                )

    def delete_instance(
        self, entity_id: str, attr: str, instance_id: str, ctx: ActiveContext, tenant: str = ""
    ) -> None:
        """Delete one recorded instance (§5.6.15); the current state is not changed."""
        check_entity_id(entity_id)
        check_name(attr)
        number = _instance_number(instance_id)
        name = self.hub.read_tenant(tenant)
        with self.hub.storage.transaction(name) as tx:
            if not self.store.delete(tx, entity_id, ctx.expand_term(attr), instance_id=number):
                raise ResourceNotFound(
                    f"no instance {instance_id} of {attr!r} in entity {entity_id}",
                    instance=instance_id,
                )

    # -- retention ----------------------------------------------------------------------------
    def purge(self, tenant: str, before: str | int) -> int:
        """Delete the tenant's history recorded before ``before`` (ISO 8601 text or µs)."""
        moment = to_us(before) if isinstance(before, str) else before
        return self.store.purge(tenant, moment)

    def purge_expired(
        self, now: str | None = None, log: Callable[[str, int], None] | None = None
    ) -> dict[str, int]:
        """Apply every tenant's retention (``CITYOS_TEMPORAL_RETENTION_DAYS`` and overrides):
        tenant -> instances deleted. Tenants kept forever (``0`` days) are skipped."""
        moment = to_us(now or now_iso())
        purged: dict[str, int] = {}
        for tenant in self.hub.storage.tenants():
            days = self.hub.settings.retention_days(tenant)
            if days <= 0:
                continue
            purged[tenant] = self.store.purge(tenant, moment - int(days * 86_400_000_000))
            if log is not None:
                log(tenant, purged[tenant])
        return purged


def _matches(entity: HistoryEntity, flt: EntityFilter) -> bool:
    if flt.ids is not None and entity.entity_id not in flt.ids:
        return False
    if flt.id_pattern is not None and not regex_search(flt.id_pattern, entity.entity_id):
        return False
    types = set(entity.types)
    if flt.types is not None and not any(conjunction <= types for conjunction in flt.types):
        return False
    if flt.selectors is not None:
        return any(
            (s.id is None or s.id == entity.entity_id)
            and (s.id_pattern is None or regex_search(s.id_pattern, entity.entity_id))
            and (s.types is None or any(c <= types for c in s.types))
            for s in flt.selectors
        )
    return True


def _temporal_attributes(body: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    """The attributes of a temporal payload: name -> raw instances (§4.5.7)."""
    out = []
    for name, value in body.items():
        if name in ENTITY_RESERVED or name in ("@id", "@type"):
            continue
        check_name(name)
        raws = value if isinstance(value, list) else [value]
        if not raws:
            raise BadRequestData(f"temporal attribute {name!r} has no instance")
        if not all(isinstance(raw, dict) for raw in raws):
            raise BadRequestData(
                f"temporal attribute {name!r} must be an instance or an array of instances"
            )
        out.append((name, raws))
    return out


def _observed(instance: dict[str, Any]) -> float:
    observed = instance.get("observedAt")
    return float(to_us(observed)) if observed is not None else float("inf")


def _instance(entity: Entity | None, iri: str, dataset: str | None) -> dict[str, Any] | None:
    if entity is None:
        return None
    return next((i for i in entity.attrs.get(iri, ()) if i.get("datasetId") == dataset), None)


def _history(entity_id: str, iri: str, instance: dict[str, Any], now_us: int) -> InstanceRecord:
    observed = instance.get("observedAt")
    return InstanceRecord(
        entity_id,
        iri,
        instance.get("datasetId"),
        pack(instance),
        to_us(observed) if observed is not None else None,
        now_us,
        now_us,
        False,
        number_of(instance.get("value")),
    )


def _instance_number(instance_id: str) -> int:
    number = parse_instance_uri(instance_id)
    if number is None:
        raise ResourceNotFound(f"no attribute instance {instance_id!r}", instance=instance_id)
    return number
