"""MyData: a citizen's export of everything about them, and erasure that really deletes.

The data about a subject are the personal entities naming them (:mod:`cityos.privacy.personal`)
— current ones, and deleted ones whose history names them — with their whole history, plus their
consents and the audit entries about them.

Erasure deletes, in this order, each step its own transaction and the whole idempotent (run it
again after a crash and it finishes the job):

1. every entity whose only subject is the citizen, with its whole temporal history (entity rows,
   type index, geo index, history instances and registry), through the hub so every store drops
   it; an entity shared with other subjects keeps its other data but loses the citizen from its
   subject attribute, whose history is dropped;
2. queued or dead-lettered notifications that carry those entities or name the citizen;
3. stored JSON-LD contexts that name the citizen;
4. the citizen's consents.

The audit trail keeps its entries (the city must be able to show every past use, and the chain
cannot lose rows); erasure itself is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from cityos.hub.broker import Hub
from cityos.hub.temporal.instants import from_us
from cityos.hub.temporal.query import TemporalQuery
from cityos.hub.temporal.records import TimeWindow
from cityos.hub.temporal.service import TemporalService
from cityos.privacy.access import Access, acting_as
from cityos.privacy.audit import AuditEntry, AuditTrail
from cityos.privacy.consent_store import ConsentRegistry, now_us
from cityos.privacy.database import PrivacyDatabase
from cityos.privacy.personal import PersonalData
from cityos.privacy.scopes import short_name


@dataclass
class Holdings:
    """Where a subject's data is: entity ids they alone are the subject of, shared ones."""

    sole: list[str] = field(default_factory=list)
    shared: list[str] = field(default_factory=list)
    history_only: list[str] = field(default_factory=list)


@dataclass
class Erasure:
    """What an erasure removed."""

    entities: int = 0
    shared_entities: int = 0
    outbox_rows: int = 0
    contexts: int = 0
    consents: int = 0
    service_records: int = 0

    def to_json(self) -> dict[str, int]:
        return {
            "entities": self.entities,
            "sharedEntitiesUnlinked": self.shared_entities,
            "notificationsScrubbed": self.outbox_rows,
            "contexts": self.contexts,
            "serviceRecords": self.service_records,
            "consents": self.consents,
        }


class ServiceRecords(Protocol):
    """Records a service keeps about people outside the hub (its own tables), which the
    service registers with :meth:`MyData.register` so export and erasure reach them."""

    name: str

    def export_subject(self, subject: str, tenant: str) -> dict[str, Any]: ...

    def erase_subject(self, subject: str, tenant: str) -> int: ...


class MyData:
    """Export and erasure for one hub."""

    def __init__(
        self,
        hub: Hub,
        db: PrivacyDatabase,
        personal: PersonalData,
        consents: ConsentRegistry,
        audit: AuditTrail,
    ) -> None:
        self.hub = hub
        self.db = db
        self.personal = personal
        self.consents = consents
        self.audit = audit
        self.services: dict[str, ServiceRecords] = {}

    def register(self, records: ServiceRecords) -> None:
        """Include a service's own records in every export and erasure."""
        self.services[records.name] = records

    # -- finding ------------------------------------------------------------------------------
    def holdings(self, tenant: str, subject: str) -> Holdings:
        """The entities that hold data about ``subject`` (a full scan of the tenant's personal
        entities and of the history of deleted ones)."""
        found = Holdings()
        if not self.hub.storage.tenant_exists(tenant) and tenant:
            return found
        current: set[str] = set()
        for entity in self.hub.storage.iter_entities(tenant):
            if not self.personal.is_personal(entity):
                continue
            current.add(entity.id)
            subjects = self.personal.subjects(entity) | self._past_subjects(tenant, entity.id)
            if subject in subjects:
                (found.sole if subjects == {subject} else found.shared).append(entity.id)
        store = getattr(self.hub.storage, "temporal", None)
        if store is not None:
            for eid, known in store.entities(tenant, deleted_only=True).items():
                if eid in current or not any(
                    short_name(t) in self.personal.types for t in known.types
                ):
                    continue
                past = self._past_subjects(tenant, eid)
                if eid == subject or subject in past:
                    found.history_only.append(eid)
        return found

    def _past_subjects(self, tenant: str, entity_id: str) -> set[str]:
        store = getattr(self.hub.storage, "temporal", None)
        if store is None:
            return set()
        names = store.attributes(tenant, [entity_id]).get(entity_id, [])
        keys = [(entity_id, n) for n in names if short_name(n) == self.personal.subject_attribute]
        if not keys:
            return set()
        seen: set[str] = set()
        for instances in store.instances(
            tenant, keys, TimeWindow("modifiedAt"), limit=None
        ).values():
            for instance in instances:
                value = instance.body.get("value")
                if isinstance(value, str):
                    seen.add(value)
                elif isinstance(value, list):
                    seen.update(v for v in value if isinstance(v, str))
        return seen

    # -- export -------------------------------------------------------------------------------
    def export(self, tenant: str, access: Access) -> dict[str, Any]:
        """Everything about ``access.principal.subject``, JSON-ready."""
        subject = access.principal.subject
        own = Access(access.principal, purpose="mydata-export", enforced=False)
        with acting_as(own):
            held = self.holdings(tenant, subject)
            ids = held.sole + held.shared
            ctx = self.hub.context()
            stored = self.hub.storage.get_entities(tenant, ids) if ids else {}
            entities = self.hub.render([stored[i] for i in ids if i in stored], ctx)
            history = self._history(tenant, ids + held.history_only, ctx)
        consents = [c.to_json(now_us()) for c in self.consents.of_subject(tenant, subject)]
        audit = []
        for entry in self.audit.query(subject=subject, tenant=tenant, limit=1_000_000):
            body = entry.to_json()
            body["subjects"] = [subject]
            audit.append(body)
        self._audit(tenant, access, "mydata.export", f"done:{len(ids)} entities")
        return {
            "subject": subject,
            "tenant": tenant,
            "exportedAt": from_us(now_us()),
            "entities": entities,
            "history": history,
            "consents": consents,
            "audit": audit,
            "services": {
                n: r.export_subject(subject, tenant) for n, r in sorted(self.services.items())
            },
        }

    def _history(self, tenant: str, ids: list[str], ctx: Any) -> list[dict[str, Any]]:
        if getattr(self.hub.storage, "temporal", None) is None:
            return []
        service = TemporalService(self.hub)
        out = []
        for eid in ids:
            page = service.retrieve(eid, TemporalQuery(timeproperty="modifiedAt"), ctx, tenant)
            for item in page.entities:
                if page.content_range is not None:
                    item = dict(item, truncated=True)
                out.append(item)
        return out

    # -- erasure ------------------------------------------------------------------------------
    def erase(self, tenant: str, access: Access) -> Erasure:
        """Delete everything about ``access.principal.subject`` (see the module docstring)."""
        subject = access.principal.subject
        done = Erasure()
        self._audit(tenant, access, "mydata.erase", "started")
        system = Access(access.principal, purpose="mydata-erase", enforced=False)
        with acting_as(system):
            held = self.holdings(tenant, subject)
            has_history = getattr(self.hub.storage, "temporal", None) is not None
            service = TemporalService(self.hub) if has_history else None
            for eid in held.sole + held.history_only:
                if service is not None:
                    service.delete_entity(eid, tenant)
                else:
                    self.hub.delete_entity(eid, tenant)
                done.entities += 1
            for eid in held.shared:
                self._unlink(tenant, eid, subject)
                done.shared_entities += 1
        erased = [*held.sole, *held.history_only]
        done.outbox_rows = self._scrub_outbox(tenant, [*erased, subject])
        done.contexts = self._scrub_contexts(subject)
        with self.db.write() as conn:
            done.consents = self.consents.erase_subject(conn, tenant, subject)
        for records in self.services.values():
            done.service_records += records.erase_subject(subject, tenant)
        self._audit(tenant, access, "mydata.erase", f"done:{done.entities} entities")
        return done

    def _unlink(self, tenant: str, entity_id: str, subject: str) -> None:
        """Remove ``subject`` from a shared entity's subject attribute and drop that attribute's
        history (which names them)."""
        entity = self.hub.storage.get_entities(tenant, [entity_id]).get(entity_id)
        if entity is None:
            return
        store = getattr(self.hub.storage, "temporal", None)
        with self.hub.storage.transaction(tenant) as tx:
            for iri, instances in entity.attrs.items():
                if short_name(iri) != self.personal.subject_attribute:
                    continue
                for instance in instances:
                    value = instance.get("value")
                    if isinstance(value, list):
                        instance["value"] = [v for v in value if v != subject]
                if store is not None:
                    store.delete(tx, entity_id, iri)
            tx.update([entity])

    def _scrub_outbox(self, tenant: str, needles: list[str]) -> int:
        """Remove erased entities from queued notifications (rows left empty are deleted)."""
        if not needles:
            return 0
        changed = 0
        contains = (
            "strpos(data::text, %s) > 0"
            if self.db.dialect == "postgresql"
            else "instr(data, ?) > 0"
        )
        with self.db.write() as conn:
            rows: dict[int, str] = {}
            for needle in needles:
                for seq, data in self.db.execute(
                    conn,
                    f"SELECT seq, data FROM notification_outbox WHERE tenant = ? AND {contains}",
                    (tenant, needle),
                ).fetchall():
                    rows[seq] = data if isinstance(data, str) else orjson.dumps(data).decode()
            for seq, text in rows.items():
                items = orjson.loads(text)
                kept = [
                    item
                    for item in items
                    if not any(n in orjson.dumps(item).decode() for n in needles)
                ]
                if kept:
                    self.db.execute(
                        conn,
                        "UPDATE notification_outbox SET data = ? WHERE seq = ?",
                        (orjson.dumps(kept).decode(), seq),
                    )
                else:
                    self.db.execute(conn, "DELETE FROM notification_outbox WHERE seq = ?", (seq,))
                changed += 1
        return changed

    def _scrub_contexts(self, subject: str) -> int:
        """Delete stored JSON-LD contexts that name the subject (vocabularies never should)."""
        contains = (
            "strpos(body::text, %s) > 0"
            if self.db.dialect == "postgresql"
            else "instr(body, ?) > 0"
        )
        with self.db.write() as conn:
            cursor = self.db.execute(
                conn, f"DELETE FROM jsonld_contexts WHERE {contains}", (subject,)
            )
            return cursor.rowcount

    def _audit(self, tenant: str, access: Access, action: str, outcome: str) -> None:
        self.audit.append(
            AuditEntry(
                at_us=now_us(),
                tenant=tenant,
                actor=access.principal.subject,
                roles=tuple(sorted(access.principal.roles)),
                action=action,
                outcome=outcome,
                subjects=(access.principal.subject,),
                purpose=access.purpose,
                client=access.client,
            )
        )
