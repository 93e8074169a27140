"""The hub's Python API: NGSI-LD entity operations with the same semantics as the HTTP API.

Services running in-process use :class:`Hub` directly; the HTTP routers are thin adapters over it.
Every operation takes the request's :class:`~cityos.hub.jsonld_context.ActiveContext` (``ctx``) and
tenant (``""`` is the default tenant).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
import pluggy

from cityos.core.errors import (
    AlreadyExists,
    BadRequestData,
    CityOSError,
    NonexistentTenant,
    ResourceNotFound,
    TooManyResults,
)
from cityos.core.settings import Settings
from cityos.core.timeutil import now_iso
from cityos.hub import attribute_ops as ops
from cityos.hub.geo import GeoQuery
from cityos.hub.hookspecs import plugin_manager
from cityos.hub.jsonld_context import ActiveContext, ContextResolver
from cityos.hub.model import (
    ENTITY_RESERVED,
    FORBIDDEN_ATTR_NAMES,
    TYPE_OF_KEY,
    Entity,
    check_entity_id,
    check_name,
    expand_types,
    is_null_attribute,
    parse_attribute,
    parse_attributes,
    parse_entity,
    parse_fragment,
    parse_scope,
)
from cityos.hub.query_language import parse_q
from cityos.hub.representation import RenderOptions, render_entity
from cityos.hub.scope_query import parse_scope_query
from cityos.hub.storage.base import (
    DEFAULT_TENANT,
    EntityFilter,
    EntitySelector,
    QueryPage,
    Storage,
    Transaction,
)
from cityos.hub.type_selection import parse_type_selection

UpsertMode = Literal["replace", "update"]


@dataclass
class Change:
    """One committed change, passed to ``hub_after_commit`` hooks."""

    kind: Literal["create", "update", "delete"]
    entity_id: str
    before: Entity | None
    after: Entity | None


@dataclass
class UpdateResult:
    """Outcome of an attribute append/update (§5.2.18): names updated and not updated."""

    updated: list[str] = field(default_factory=list)
    not_updated: list[dict[str, str]] = field(default_factory=list)


@dataclass
class BatchResult:
    """Outcome of a batch operation (§5.2.16): ids that succeeded and per-entity errors."""

    success: list[str] = field(default_factory=list)
    errors: list[tuple[str, CityOSError]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EntityQuery:
    """The parameters of a query (§5.7.2), as written by the client (names not yet expanded)."""

    type: str | None = None
    ids: Sequence[str] | None = None
    id_pattern: str | None = None
    attrs: Sequence[str] | None = None
    q: str | None = None
    geo: GeoQuery | None = None
    limit: int | None = None
    offset: int = 0
    count: bool = False
    local: bool = False
    entities: Sequence[Any] | None = None
    scope_q: str | None = None


class Hub:
    """The NGSI-LD context broker over one storage backend."""

    def __init__(
        self,
        storage: Storage,
        resolver: ContextResolver,
        settings: Settings,
        plugins: pluggy.PluginManager | None = None,
    ) -> None:
        self.storage = storage
        self.resolver = resolver
        self.settings = settings
        self.plugins = plugins if plugins is not None else plugin_manager()

    # -- contexts and tenants -----------------------------------------------------------------
    def context(self, value: Any = None) -> ActiveContext:
        """The active context for a request's @context (None: the core context only)."""
        return self.resolver.resolve(value)

    def read_tenant(self, tenant: str | None) -> str:
        """Check a tenant named on a read: the default always exists, others must (§5.5.13)."""
        name = tenant or DEFAULT_TENANT
        if name != DEFAULT_TENANT and not self.storage.tenant_exists(name):
            raise NonexistentTenant(f"tenant {name!r} does not exist")
        return name

    # -- single-entity operations -------------------------------------------------------------
    def create_entity(self, body: Any, ctx: ActiveContext, tenant: str = DEFAULT_TENANT) -> str:
        """Create an entity (§5.6.1); AlreadyExists if the id is taken. Returns the id."""
        entity = parse_entity(body, ctx.expand_term, now=now_iso())
        self._validate(entity, tenant, "create")
        with self.storage.transaction(tenant) as tx:
            if tx.get([entity.id]):
                raise AlreadyExists(f"entity {entity.id} already exists", instance=entity.id)
            tx.insert([entity])
            changes = [Change("create", entity.id, None, entity)]
            self._before_commit(tx, tenant, changes)
        self._committed(tenant, changes)
        return entity.id

    def get_entity(self, entity_id: str, tenant: str = DEFAULT_TENANT) -> Entity:
        """The stored entity; ResourceNotFound if absent."""
        check_entity_id(entity_id)
        found = self.storage.get_entities(self.read_tenant(tenant), [entity_id]).get(entity_id)
        if found is None:
            raise ResourceNotFound(f"entity {entity_id} not found", instance=entity_id)
        if self._has_filters():
            kept = self._filtered([found], tenant)
            if not kept:  # a filter withheld it: as if it did not exist
                raise ResourceNotFound(f"entity {entity_id} not found", instance=entity_id)
            return kept[0]
        return found

    def retrieve(
        self,
        entity_id: str,
        ctx: ActiveContext,
        tenant: str = DEFAULT_TENANT,
        options: RenderOptions | None = None,
    ) -> dict[str, Any]:
        """Retrieve an entity rendered for the client (§5.7.1)."""
        return render_entity(
            self.get_entity(entity_id, tenant), ctx.compact_iri, options or RenderOptions()
        )

    def replace_entity(
        self, entity_id: str, body: Any, ctx: ActiveContext, tenant: str = DEFAULT_TENANT
    ) -> None:
        """Replace every attribute (and the type, if given) of an entity (§5.6.18)."""
        check_entity_id(entity_id)
        now = now_iso()
        new = parse_entity(
            body,
            ctx.expand_term,
            now=now,
            require_id=False,
            require_type=False,
            entity_id=entity_id,
        )

        def change(old: Entity) -> Entity:
            new.types = new.types or old.types
            new.scope = new.scope if new.scope is not None else old.scope
            new.created_at = old.created_at
            return new

        self._modify(entity_id, tenant, "replace", change)

    def merge_entity(
        self, entity_id: str, body: Any, ctx: ActiveContext, tenant: str = DEFAULT_TENANT
    ) -> None:
        """Merge-patch an entity (§5.6.17): attributes merge, ``urn:ngsi-ld:null`` deletes."""
        check_entity_id(entity_id)
        now = now_iso()
        if not isinstance(body, dict):
            raise BadRequestData("the payload must be a JSON object")
        patch = parse_entity(
            {k: v for k, v in body.items() if k in ENTITY_RESERVED or k in ("@id", "@type")},
            ctx.expand_term,
            now=now,
            require_id=False,
            require_type=False,
            entity_id=entity_id,
        )
        patch.attrs = parse_attributes(body, ctx.expand_term, now=now, allow_null=True)

        def change(entity: Entity) -> Entity:
            for t in patch.types:
                if t not in entity.types:
                    entity.types.append(t)
            if patch.scope is not None:
                entity.scope = patch.scope
            for iri, instances in patch.attrs.items():
                if instances[0].get("type") == "Null":
                    _delete_null(entity, iri, instances[0])
                else:
                    ops.put_instances(entity, iri, instances, mode="merge", now=now)
            return entity

        self._modify(entity_id, tenant, "merge", change)

    def delete_entity(self, entity_id: str, tenant: str = DEFAULT_TENANT) -> None:
        """Delete an entity (§5.6.6)."""
        check_entity_id(entity_id)
        name = self.read_tenant(tenant)
        with self.storage.transaction(name) as tx:
            old = tx.get([entity_id]).get(entity_id)
            if old is None:
                raise ResourceNotFound(f"entity {entity_id} not found", instance=entity_id)
            tx.delete([entity_id])
            changes = [Change("delete", entity_id, old, None)]
            self._before_commit(tx, name, changes)
        self._committed(name, changes)

    # -- attribute operations -----------------------------------------------------------------
    def append_attrs(
        self,
        entity_id: str,
        body: Any,
        ctx: ActiveContext,
        tenant: str = DEFAULT_TENANT,
        *,
        no_overwrite: bool = False,
    ) -> UpdateResult:
        """Append attributes (§5.6.3); with ``no_overwrite`` existing ones are kept."""
        return self._attrs_write(
            entity_id, body, ctx, tenant, "keep" if no_overwrite else "replace"
        )

    def update_attrs(
        self, entity_id: str, body: Any, ctx: ActiveContext, tenant: str = DEFAULT_TENANT
    ) -> UpdateResult:
        """Update existing attributes (§5.6.2); the others are reported as not updated."""
        return self._attrs_write(entity_id, body, ctx, tenant, "existing")

    def _attrs_write(
        self, entity_id: str, body: Any, ctx: ActiveContext, tenant: str, mode: str
    ) -> UpdateResult:
        check_entity_id(entity_id)
        if not isinstance(body, dict):
            raise BadRequestData("the payload must be a JSON object of attributes")
        now = now_iso()
        if "id" in body and body["id"] != entity_id:
            raise BadRequestData(f"the id in the payload differs from the URL ({entity_id})")
        new_types = expand_types(body["type"], ctx.expand_term) if "type" in body else []
        scope = parse_scope(body["scope"]) if "scope" in body else None
        attrs = parse_attributes(body, ctx.expand_term, now=now, allow_null=mode == "existing")
        if not attrs and not new_types and scope is None:
            raise BadRequestData("the payload has no attributes")
        result = UpdateResult()

        def change(entity: Entity) -> Entity:
            for t in new_types:
                if t not in entity.types:
                    entity.types.append(t)
            if scope is not None:
                _write_scope(entity, scope, mode, result)
            for iri, instances in attrs.items():
                name = iri  # UpdateResult names attributes by their expanded IRI (§5.2.18)
                if instances[0]["type"] == "Null":
                    if _delete_null(entity, iri, instances[0]):
                        result.updated.append(name)
                    else:
                        reason = "attribute does not exist"
                        result.not_updated.append({"attributeName": name, "reason": reason})
                    continue
                skipped = ops.put_instances(entity, iri, instances, mode=mode, now=now)
                if len(skipped) < len(instances):
                    result.updated.append(name)
                if skipped:
                    reason = (
                        "attribute already exists and noOverwrite was given"
                        if mode == "keep"
                        else "attribute does not exist"
                    )
                    result.not_updated.append({"attributeName": name, "reason": reason})
            return entity

        self._modify(entity_id, tenant, "update" if mode == "existing" else "append", change)
        return result

    def update_attr(
        self,
        entity_id: str,
        attr: str,
        body: Any,
        ctx: ActiveContext,
        tenant: str = DEFAULT_TENANT,
        *,
        replace: bool = False,
    ) -> None:
        """Partial attribute update (§5.6.4), or replace the attribute (§5.6.19) if ``replace``.

        A partial update merges the fragment into the instance it names (by ``datasetId``): its
        members replace the stored ones, sub-attributes merge, and the principal value may be left
        out. A fragment whose value is NGSI-LD Null deletes that instance (§5.6.4).
        ResourceNotFound if the entity or the instance does not exist.
        """
        check_entity_id(entity_id)
        check_name(attr)
        if not isinstance(body, dict):
            raise BadRequestData("the payload must be a JSON object (one attribute)")
        now = now_iso()
        iri = ctx.expand_term(attr)
        dataset = body.get("datasetId")
        if dataset is not None:
            check_entity_id(dataset, where=f"{attr}.datasetId")
        if replace:
            if "type" not in body and not any(key in body for key in TYPE_OF_KEY):
                raise BadRequestData(f"the new {attr!r} has no 'type' nor value")
            instances = parse_attribute(body, ctx.expand_term, name=attr, now=now)
        elif is_null_attribute(body):
            self.delete_attr(entity_id, attr, ctx, tenant, dataset_id=dataset)
            return

        def find(existing: list[dict[str, Any]], dataset: str | None) -> int:
            index = ops.find_instance(existing, dataset)
            if index is None:
                label = "no default instance" if dataset is None else f"no datasetId {dataset}"
                raise ResourceNotFound(
                    f"attribute {attr!r} of entity {entity_id} has {label}", instance=entity_id
                )
            return index

        def change(entity: Entity) -> Entity:
            existing = entity.attrs.get(iri)
            if not existing:
                raise ResourceNotFound(
                    f"entity {entity_id} has no attribute {attr!r}", instance=entity_id
                )
            if replace:
                for instance in instances:
                    index = find(existing, ops.dataset_of(instance))
                    existing[index] = ops.replace_instance(
                        existing[index], dict(instance, modifiedAt=now)
                    )
            else:
                index = find(existing, dataset)
                kind = existing[index]["type"]
                given = body.get("type")
                if given is not None and given != kind:
                    raise BadRequestData(
                        f"attribute {attr!r} is a {kind}; a partial update cannot make it a {given}"
                    )
                fragment = parse_fragment(body, ctx.expand_term, name=attr, kind=kind, now=now)
                existing[index] = ops.merge_instance(existing[index], fragment)
            return entity

        self._modify(entity_id, tenant, "update", change)

    def delete_attr(
        self,
        entity_id: str,
        attr: str,
        ctx: ActiveContext,
        tenant: str = DEFAULT_TENANT,
        *,
        dataset_id: str | None = None,
        delete_all: bool = False,
    ) -> None:
        """Delete an attribute instance, or all instances with ``delete_all`` (§5.6.5).
        The name ``scope`` deletes the entity's scopes (§4.18)."""
        check_entity_id(entity_id)
        check_name(attr)
        if dataset_id is not None:
            check_entity_id(dataset_id, where="datasetId")
        iri = ctx.expand_term(attr)

        def change(entity: Entity) -> Entity:
            if attr == "scope":
                if not entity.scope:
                    raise ResourceNotFound(f"entity {entity_id} has no scope", instance=entity_id)
                entity.scope = None
                return entity
            if not ops.delete_instances(entity, iri, dataset_id=dataset_id, delete_all=delete_all):
                raise ResourceNotFound(
                    f"attribute {attr!r} not found in entity {entity_id}", instance=entity_id
                )
            return entity

        self._modify(entity_id, tenant, "update", change)

    # -- queries ------------------------------------------------------------------------------
    def entity_filter(self, query: EntityQuery, ctx: ActiveContext) -> EntityFilter:
        """Validate a query and expand its names into a storage filter."""
        ids = None
        if query.ids is not None:
            ids = tuple(check_entity_id(i) for i in query.ids)
        if query.id_pattern is not None:
            try:
                re.compile(query.id_pattern)
            except re.error as exc:
                raise BadRequestData(f"invalid idPattern {query.id_pattern!r}: {exc}") from None
        types = (
            parse_type_selection(query.type, ctx.expand_term) if query.type is not None else None
        )
        attrs = None
        if query.attrs is not None:
            names = [check_name(a) for a in query.attrs]
            if not names:
                raise BadRequestData("'attrs' is empty")
            reserved = sorted(set(names) & FORBIDDEN_ATTR_NAMES)
            if reserved:
                raise BadRequestData(f"'attrs' names no attribute: {', '.join(reserved)}")
            attrs = frozenset(ctx.expand_term(a) for a in names)
        q = parse_q(query.q) if query.q is not None else None
        selectors = None
        if query.entities is not None:
            selectors = tuple(_selector(item, ctx) for item in query.entities)
            if not selectors:
                raise BadRequestData("'entities' is empty")
        geoproperty = None
        if query.geo is not None:
            geoproperty = ctx.expand_term(check_name(query.geo.geoproperty))
        if not query.local and all(
            x is None for x in (types, attrs, q, query.geo, selectors, query.scope_q)
        ):
            raise BadRequestData(
                "a query needs at least one of: type, attrs, q, geoQ, scopeQ (or local=true)"
            )
        return EntityFilter(
            ids=ids,
            id_pattern=query.id_pattern,
            types=types,
            q=q,
            expand=ctx.expand_term,
            attrs_any=attrs,
            geo=query.geo,
            geoproperty=geoproperty,
            selectors=selectors,
        )

    def query_entities(
        self, query: EntityQuery, ctx: ActiveContext, tenant: str = DEFAULT_TENANT
    ) -> QueryPage:
        """Query entities (§5.7.2): one page, and the total when ``count`` is asked."""
        limit = self.settings.default_limit if query.limit is None else query.limit
        if limit < 0 or query.offset < 0:
            raise BadRequestData("'limit' and 'offset' must not be negative")
        if limit == 0 and not query.count:
            raise BadRequestData("'limit=0' is only allowed together with 'count=true'")
        if limit > self.settings.max_limit:
            raise TooManyResults(
                f"'limit' {limit} is above the maximum of {self.settings.max_limit}"
            )
        flt = self.entity_filter(query, ctx)
        name = self.read_tenant(tenant)
        if query.scope_q is not None:
            page = self._scoped_query(name, flt, query.scope_q, limit, query.offset, query.count)
        else:
            page = self.storage.query(
                name, flt, limit=limit, offset=query.offset, count=query.count
            )
        if self._has_filters():
            page.entities = self._filtered(page.entities, name)
        return page

    def _scoped_query(
        self, tenant: str, flt: EntityFilter, scope_q: str, limit: int, offset: int, count: bool
    ) -> QueryPage:
        """A query with ``scopeQ`` (§4.19): the other filters run in storage, scopes here."""
        matches = parse_scope_query(scope_q)
        selected: list[Entity] = []
        batch, start = 1000, 0
        while True:
            chunk = self.storage.query(tenant, flt, limit=batch, offset=start, count=False)
            selected += [e for e in chunk.entities if e.scope and matches(e.scope)]
            if len(chunk.entities) < batch:
                break
            start += batch
        return QueryPage(selected[offset : offset + limit], len(selected) if count else None)

    # -- batch operations (§5.6.7-§5.6.10) --------------------------------------------------
    #
    # ``ctx`` expands the names of every entity that carries no ``@context`` of its own; an entity
    # with an ``@context`` member (a JSON-LD batch, §6.3.5) is expanded with that context. Each
    # entity succeeds or fails on its own (§5.6.7): a failed one leaves nothing behind.

    def batch_create(
        self, bodies: Any, ctx: ActiveContext, tenant: str = DEFAULT_TENANT
    ) -> BatchResult:
        """Create many entities (§5.6.7); an id taken (or repeated in the batch) is an error."""
        return self._batch_write(bodies, ctx, tenant, "create")

    def batch_upsert(
        self,
        bodies: Any,
        ctx: ActiveContext,
        tenant: str = DEFAULT_TENANT,
        *,
        mode: UpsertMode = "replace",
    ) -> BatchResult:
        """Create or update many entities (§5.6.8): existing ones are replaced, or with
        ``mode="update"`` get the attributes appended (overwriting those with the same name).
        Repeated ids are applied in order."""
        return self._batch_write(bodies, ctx, tenant, "upsert-" + mode)

    def batch_update(
        self,
        bodies: Any,
        ctx: ActiveContext,
        tenant: str = DEFAULT_TENANT,
        *,
        no_overwrite: bool = False,
    ) -> BatchResult:
        """Append attributes to many existing entities (§5.6.9); a missing one is an error.
        NonexistentTenant if the tenant was never written to."""
        return self._batch_write(
            bodies, ctx, tenant, "update-keep" if no_overwrite else "update-replace"
        )

    def batch_merge(
        self, bodies: Any, ctx: ActiveContext, tenant: str = DEFAULT_TENANT
    ) -> BatchResult:
        """Merge-patch many existing entities (§5.6.20), each as :meth:`merge_entity` does; a
        missing one is an error."""
        return self._batch_write(bodies, ctx, tenant, "merge")

    def batch_delete(self, ids: Any, tenant: str = DEFAULT_TENANT) -> BatchResult:
        """Delete many entities by id."""
        items = self._batch_items(ids)
        result = BatchResult()
        name = self.read_tenant(tenant)
        valid: list[str] = []
        for item in items:
            try:
                valid.append(check_entity_id(item))
            except CityOSError as exc:
                result.errors.append((str(item), exc))
        changes: list[Change] = []
        with self.storage.transaction(name) as tx:
            existing = tx.get(valid)
            gone: list[str] = []
            for eid in valid:
                if eid in existing and eid not in gone:
                    gone.append(eid)
                    changes.append(Change("delete", eid, existing[eid], None))
                else:
                    result.errors.append(
                        (eid, ResourceNotFound(f"entity {eid} not found", instance=eid))
                    )
            tx.delete(gone)
            self._before_commit(tx, name, changes)
        result.success = gone
        self._committed(name, changes)
        return result

    def bulk_upsert(
        self,
        bodies: Sequence[Any],
        ctx: ActiveContext,
        tenant: str = DEFAULT_TENANT,
        *,
        chunk_size: int | None = None,
        progress: Any = None,
    ) -> BatchResult:
        """Create or replace any number of entities in one transaction, all or none (for bulk
        loads; not capped by ``max_batch_entities``). See :mod:`cityos.hub.bulk`."""
        from cityos.hub import bulk

        size = bulk.CHUNK_SIZE if chunk_size is None else chunk_size
        return bulk.bulk_upsert(self, bodies, ctx, tenant, chunk_size=size, progress=progress)

    def _batch_items(self, items: Any) -> list[Any]:
        if not isinstance(items, list):
            raise BadRequestData("the payload of a batch operation must be a JSON array")
        if not items:
            raise BadRequestData("the batch is empty")
        if len(items) > self.settings.max_batch_entities:
            raise BadRequestData(
                f"the batch has {len(items)} entries; the maximum is "
                f"{self.settings.max_batch_entities}"
            )
        return items

    def _batch_write(self, bodies: Any, ctx: ActiveContext, tenant: str, op: str) -> BatchResult:
        items = self._batch_items(bodies)
        must_exist = op.startswith("update") or op == "merge"
        name = self.read_tenant(tenant) if must_exist else tenant
        now = now_iso()
        result = BatchResult()
        contexts: dict[bytes, ActiveContext] = {}
        parsed: list[Entity] = []
        for body in items:
            try:
                entity_ctx = self._entity_context(body, ctx, contexts)
                if op == "merge":
                    if not isinstance(body, dict):
                        raise BadRequestData("each entity of a batch must be a JSON object")
                    members = {k: v for k, v in body.items() if k in ENTITY_RESERVED}
                    entity = parse_entity(
                        members, entity_ctx.expand_term, now=now, require_type=False
                    )
                    entity.attrs = parse_attributes(
                        body, entity_ctx.expand_term, now=now, allow_null=True
                    )
                else:
                    entity = parse_entity(
                        body, entity_ctx.expand_term, now=now, require_type=not must_exist
                    )
                parsed.append(entity)
            except CityOSError as exc:
                eid = body.get("id") if isinstance(body, dict) else None
                result.errors.append((eid if isinstance(eid, str) else "", exc))
        if not parsed:
            return result
        created: dict[str, Entity] = {}
        updated: list[Entity] = []
        try:
            with self.storage.transaction(name) as tx:
                existing = tx.get(e.id for e in parsed)  # never modified: the "before" states
                current: dict[str, Entity] = dict(existing)
                succeeded: set[str] = set()
                for entity in parsed:
                    try:
                        before = current.get(entity.id)
                        merged = self._batch_apply(op, entity, before, now)
                        self._validate(merged, name, op.split("-")[0])
                    except CityOSError as exc:
                        result.errors.append((entity.id, exc))
                        continue
                    if entity.id not in existing:
                        created[entity.id] = merged
                    current[entity.id] = merged
                    kept = _kept_attributes(entity, before) if op == "update-keep" else []
                    if kept:  # written, but not wholly: reported as an error (§5.6.9)
                        succeeded.add(entity.id)
                        detail = "not overwritten (noOverwrite): " + ", ".join(kept)
                        result.errors.append((entity.id, BadRequestData(detail)))
                    elif entity.id not in succeeded:
                        succeeded.add(entity.id)
                        result.success.append(entity.id)
                updated = [e for eid, e in current.items() if eid in existing and eid in succeeded]
                if not created and not updated:
                    raise _NothingWritten  # roll back: not even the tenant is created
                tx.insert(list(created.values()))
                tx.update(updated)
                changes = [Change("create", e.id, None, e) for e in created.values()]
                changes += [Change("update", e.id, existing[e.id], e) for e in updated]
                self._before_commit(tx, name, changes)
        except _NothingWritten:
            return result
        result.created = list(created)
        self._committed(name, changes)
        return result

    def _entity_context(
        self, body: Any, ctx: ActiveContext, cache: dict[bytes, ActiveContext]
    ) -> ActiveContext:
        """The context that expands one entity of a batch: its own ``@context``, else ``ctx``."""
        if not isinstance(body, dict) or body.get("@context") is None:
            return ctx
        key = orjson.dumps(body["@context"])
        found = cache.get(key)
        if found is None:
            found = cache[key] = self.context(body["@context"])
        return found

    @staticmethod
    def _batch_apply(op: str, entity: Entity, old: Entity | None, now: str) -> Entity:
        """The state ``entity`` leaves after ``op`` on ``old`` (which is never modified)."""
        if op == "create":
            if old is not None:
                raise AlreadyExists(f"entity {entity.id} already exists", instance=entity.id)
            return entity
        if old is None:
            if op.startswith("update") or op == "merge":
                raise ResourceNotFound(f"entity {entity.id} not found", instance=entity.id)
            return entity
        if op == "merge":
            merged = _copy(old)
            for t in entity.types:
                if t not in merged.types:
                    merged.types.append(t)
            if entity.scope is not None:
                merged.scope = entity.scope
            for iri, instances in entity.attrs.items():
                if instances[0].get("type") == "Null":
                    _delete_null(merged, iri, instances[0])
                else:
                    ops.put_instances(merged, iri, instances, mode="merge", now=now)
            merged.modified_at = now
            return merged
        if op == "upsert-replace":
            entity.created_at = old.created_at
            return entity
        mode = "keep" if op == "update-keep" else "replace"
        merged = _copy(old)
        for t in entity.types:
            if t not in merged.types:
                merged.types.append(t)
        for iri, instances in entity.attrs.items():
            ops.put_instances(merged, iri, instances, mode=mode, now=now)
        merged.modified_at = now
        return merged

    # -- plumbing -----------------------------------------------------------------------------
    def _modify(self, entity_id: str, tenant: str, operation: str, change: Any) -> None:
        name = self.read_tenant(tenant)
        with self.storage.transaction(name) as tx:
            old = tx.get([entity_id]).get(entity_id)
            if old is None:
                raise ResourceNotFound(f"entity {entity_id} not found", instance=entity_id)
            before = _copy(old)
            new = change(old)
            new.modified_at = now_iso()
            self._validate(new, name, operation)
            tx.update([new])
            changes = [Change("update", entity_id, before, new)]
            self._before_commit(tx, name, changes)
        self._committed(name, changes)

    def _validate(self, entity: Entity, tenant: str, operation: str) -> None:
        hook = self.plugins.hook.hub_validate_entity
        if hook.get_hookimpls():
            hook(entity=entity, tenant=tenant, operation=operation)

    def _has_filters(self) -> bool:
        return bool(self.plugins.hook.hub_filter_entities.get_hookimpls())

    def _filtered(self, entities: list[Entity], tenant: str) -> list[Entity]:
        for impl in self.plugins.hook.hub_filter_entities.get_hookimpls():
            replaced = impl.function(entities=entities, tenant=tenant, purpose=None)
            if replaced is not None:
                entities = replaced
        return entities

    def _before_commit(self, tx: Transaction, tenant: str, changes: list[Change]) -> None:
        """Let plugins write in the same transaction (history, notification outbox)."""
        hook = self.plugins.hook.hub_before_commit
        if changes and hook.get_hookimpls():
            hook(transaction=tx, tenant=tenant, changes=changes)

    def _committed(self, tenant: str, changes: list[Change]) -> None:
        if changes:
            self.plugins.hook.hub_after_commit(tenant=tenant, changes=changes)

    def render(
        self, entities: Iterable[Entity], ctx: ActiveContext, options: RenderOptions | None = None
    ) -> list[dict[str, Any]]:
        """Render entities for a client with the given context and options."""
        opts = options or RenderOptions()
        return [render_entity(e, ctx.compact_iri, opts) for e in entities]


def _selector(item: Any, ctx: ActiveContext) -> EntitySelector:
    """Validate one ``entities`` member of a query (§5.2.33)."""
    if not isinstance(item, dict):
        raise BadRequestData("each member of 'entities' must be an object")
    unknown = set(item) - {"id", "idPattern", "type"}
    if unknown:
        raise BadRequestData(f"unknown member(s) in 'entities': {', '.join(sorted(unknown))}")
    entity_id = check_entity_id(item["id"]) if "id" in item else None
    pattern = item.get("idPattern")
    if pattern is not None:
        if not isinstance(pattern, str):
            raise BadRequestData("'idPattern' must be a string")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise BadRequestData(f"invalid idPattern {pattern!r}: {exc}") from None
    types = None
    if "type" in item:
        if not isinstance(item["type"], str):
            raise BadRequestData("'type' in 'entities' must be a string")
        types = parse_type_selection(item["type"], ctx.expand_term)
    return EntitySelector(id=entity_id, id_pattern=pattern, types=types)


class _NothingWritten(Exception):
    """Raised inside a write transaction to roll it back when no entity was written."""


def _delete_null(entity: Entity, iri: str, marker: dict[str, Any]) -> bool:
    """Apply an NGSI-LD Null: delete the instance with the datasetId it names, or the default
    instance if it names none (§5.6.2, §5.6.17). Whether anything was deleted."""
    return ops.delete_instances(entity, iri, dataset_id=marker.get("datasetId"))


def _kept_attributes(entity: Entity, old: Entity | None) -> list[str]:
    """The attributes of ``entity`` that a ``noOverwrite`` update leaves as they are in ``old``:
    those with an instance of the same datasetId already there."""
    if old is None:
        return []
    kept = []
    for iri, instances in entity.attrs.items():
        existing = old.attrs.get(iri) or []
        if any(ops.find_instance(existing, ops.dataset_of(i)) is not None for i in instances):
            kept.append(iri)
    return kept


def _write_scope(entity: Entity, scope: list[str], mode: str, result: UpdateResult) -> None:
    """Apply the ``scope`` of an append (§5.6.3) or update (§5.6.2) payload.

    An append replaces the scopes, or with ``noOverwrite`` adds to them; an update replaces them
    only if the entity has scopes already (otherwise ``scope`` is reported as not updated).
    """
    if mode == "existing" and not entity.scope:
        result.not_updated.append({"attributeName": "scope", "reason": "entity has no scope"})
        return
    if mode == "keep" and entity.scope:
        entity.scope = entity.scope + [s for s in scope if s not in entity.scope]
    else:
        entity.scope = list(scope)
    result.updated.append("scope")


def _copy(entity: Entity) -> Entity:
    return Entity(
        id=entity.id,
        types=list(entity.types),
        attrs={iri: [dict(i) for i in instances] for iri, instances in entity.attrs.items()},
        scope=list(entity.scope) if entity.scope else None,
        created_at=entity.created_at,
        modified_at=entity.modified_at,
    )
