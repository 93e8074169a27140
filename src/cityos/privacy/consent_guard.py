"""Consent enforced by the hub at query time (``hub_filter_entities``).

Every read passes here, whatever the route (query, retrieve, batch query, temporal, notification).
For each personal entity (:mod:`cityos.privacy.personal`) the guard decides:

1. ``own``: a citizen reading data whose subjects include themselves — released;
2. ``break-glass``: an operator or service declaring an emergency with a justification —
   released, and audited with the justification;
3. ``consent``: every subject holds a live consent for the request's purpose
   (``CityOS-Purpose``), the caller (token ``sub`` or ``org``) as recipient and the entity's
   category — released;
4. ``pseudonymised``: a release rule allows this type for this purpose — released pseudonymised;
5. otherwise withheld (as if it did not exist).

Without a bound access (in-process code) personal entities are released in demo mode and withheld
in production; notifications (purpose ``notification``) carry no personal entity in production,
except pseudonymised where a rule names the purpose ``notification``. Each decision that released
or withheld personal data is handed to the ``recorder`` (the audit trail).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cityos.hub.hookspecs import hookimpl
from cityos.privacy.access import Access, current_access
from cityos.privacy.consent_store import ConsentRegistry, now_us
from cityos.privacy.personal import PersonalData
from cityos.privacy.pseudonym import PseudonymKeys
from cityos.privacy.release_rules import pseudonymised


@dataclass
class Disclosure:
    """What one read did with personal data (one audit entry)."""

    tenant: str
    access: Access | None
    purpose: str | None
    released: dict[str, set[str]] = field(default_factory=dict)  # how -> subjects
    entities: int = 0
    withheld: int = 0

    @property
    def outcome(self) -> str:
        if self.released and self.withheld:
            return "partial"
        return "released" if self.released else "withheld"


Recorder = Callable[[Disclosure], None]


class ConsentGuard:
    """The consent filter, as a hub hook."""

    def __init__(
        self,
        registry: ConsentRegistry,
        personal: PersonalData,
        keys: PseudonymKeys,
        rules: dict[str, frozenset[str]],
        *,
        production: bool,
        recorder: Recorder | None = None,
    ) -> None:
        self.registry = registry
        self.personal = personal
        self.keys = keys
        self.rules = rules
        self.production = production
        self.recorder = recorder

    @hookimpl
    def hub_filter_entities(
        self, entities: list[Any], tenant: str, purpose: str | None
    ) -> list[Any] | None:
        category = self.personal.category
        kinds = [category(e) for e in entities]
        if not any(kinds):
            return None
        access = current_access()
        if purpose == "notification":
            if not self.production:
                return None
            return self._decide(entities, kinds, tenant, None, "notification")
        if access is None:
            return self._decide(entities, kinds, tenant, None, None) if self.production else None
        if not access.enforced:
            return None
        return self._decide(entities, kinds, tenant, access, access.purpose)

    def _decide(
        self,
        entities: list[Any],
        kinds: list[str | None],
        tenant: str,
        access: Access | None,
        purpose: str | None,
    ) -> list[Any]:
        personal = self.personal
        principal = access.principal if access is not None else None
        own = principal.subject if principal is not None and principal.has_role("citizen") else None
        subjects_of = [
            personal.subjects(e) if k else frozenset() for e, k in zip(entities, kinds, strict=True)
        ]
        consents: dict[str, set[str]] = {}
        if purpose and principal is not None and not (access and access.break_glass):
            consents = self.registry.consenting(
                tenant, set().union(*subjects_of), purpose, principal.recipients, now_us()
            )
        disclosure = Disclosure(tenant, access, purpose)
        released = disclosure.released
        glass = access is not None and access.break_glass
        kept: list[Any] = []
        for entity, kind, subjects in zip(entities, kinds, subjects_of, strict=True):
            if kind is None:
                kept.append(entity)
                continue
            how = self._how(kind, subjects, own, glass, purpose, consents)
            if how is None:
                disclosure.withheld += 1
                continue
            disclosure.entities += 1
            if how in released:
                released[how].update(subjects)
            else:
                released[how] = set(subjects)
            if how == "pseudonymised":
                kept.append(pseudonymised(entity, purpose or "", self.keys, personal))
            else:
                kept.append(entity)
        if self.recorder is not None:
            self.recorder(disclosure)
        return kept

    def _how(
        self,
        kind: str,
        subjects: frozenset[str],
        own: str | None,
        glass: bool,
        purpose: str | None,
        consents: dict[str, set[str]],
    ) -> str | None:
        """How a personal entity may be released (see the module docstring), or None."""
        if own is not None and own in subjects:
            return "own"
        if glass:
            return "break-glass"
        if not purpose:
            return None
        if subjects:
            for subject in subjects:
                allowed = consents.get(subject)
                if allowed is None or (kind not in allowed and "*" not in allowed):
                    break
            else:
                return "consent"
        if purpose in self.rules.get(kind, ()):
            return "pseudonymised"
        return None
