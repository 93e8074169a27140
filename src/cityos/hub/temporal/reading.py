"""Temporal consumption (ETSI GS CIM 009 §5.7.3, §5.7.4): which entities a temporal query
selects, and their history in the requested representation.

``type``, ``id``, ``idPattern``, ``q``, geo-queries and ``attrs`` select entities on their *current*
state, as a normal query does (and as Stellio does). Entities deleted since keep their history: a
query without ``q``, ``scopeQ`` or a geo-query also lists them (after the current ones, matched on
their last id and types), and retrieving one by id shows it, with its ``deletedAt``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from cityos.core.errors import BadRequestData, ResourceNotFound, TooManyResults
from cityos.hub.broker import EntityQuery, Hub
from cityos.hub.jsonld_context import ActiveContext
from cityos.hub.model import Entity, check_entity_id, check_name
from cityos.hub.query_language import regex_search
from cityos.hub.storage.base import EntityFilter
from cityos.hub.temporal.aggregation import needs_data_range, plan_buckets
from cityos.hub.temporal.instants import from_us
from cityos.hub.temporal.pagination import ContentRange, fetch_size, paginate
from cityos.hub.temporal.query import TemporalQuery
from cityos.hub.temporal.records import HistoryEntity, TimeWindow
from cityos.hub.temporal.render import render_aggregated, render_normalized, render_simplified
from cityos.hub.temporal.store import Key, TemporalStore


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


class TemporalReader:
    """Temporal queries and retrievals (the consumption half of
    :class:`~cityos.hub.temporal.service.TemporalService`)."""

    hub: Hub
    store: TemporalStore

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
        limit = hub.settings.default_limit if query.limit is None else query.limit
        if limit > hub.settings.max_limit:
            raise TooManyResults(
                f"'limit' {limit} is above the maximum of {hub.settings.max_limit}"
            )
        flt = hub.entity_filter(query, ctx)
        current_only = (
            query.q is not None or query.geo is not None or getattr(query, "scope_q", None)
        )
        deleted = [] if current_only else self._visible(name, self._deleted_matching(name, flt))
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
            if known is not None and not self._visible(name, [known]):
                known = None  # a read filter withholds it, as it would its current state
            if known is None:
                raise ResourceNotFound(f"entity {entity_id} not found", instance=entity_id)
            subject = _Subject(entity_id, known.types, None, known.deleted_at)
        return self._temporal(name, [subject], temporal, ctx, wanted)

    def _visible(self, tenant: str, found: list[HistoryEntity]) -> list[HistoryEntity]:
        """The history-only entities that ``hub_filter_entities`` lets through, each shown to
        it by id and types only (its attributes are gone with its current state)."""
        if not found or not self.hub._has_filters():
            return found
        kept = self.hub._filtered(
            [Entity(id=h.entity_id, types=list(h.types)) for h in found], tenant
        )
        ids = {e.id for e in kept}
        return [h for h in found if h.entity_id in ids]

    def _deleted_matching(self, tenant: str, flt: EntityFilter) -> list[HistoryEntity]:
        """Deleted entities with history that the query's id, idPattern, type and attrs select."""
        found = [
            h for h in self.store.entities(tenant, deleted_only=True).values() if _matches(h, flt)
        ]
        if found and flt.attrs_any is not None:
            history = self.store.attributes(tenant, [h.entity_id for h in found])
            found = [h for h in found if flt.attrs_any.intersection(history.get(h.entity_id, ()))]
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
