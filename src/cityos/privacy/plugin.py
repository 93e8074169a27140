"""Plugging the privacy layer into an application and its hub, in one visible place.

:func:`install` registers the hub hooks on the hub's plugin manager (type scopes, consent),
adds the access-control middleware and mounts the privacy routers. The hub itself never
imports this package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cityos.core.settings import Settings
from cityos.privacy.audit import AuditTrail
from cityos.privacy.audit_api import audit_router
from cityos.privacy.auth_api import auth_router
from cityos.privacy.budget import PrivacyBudgets
from cityos.privacy.consent_api import consent_router
from cityos.privacy.consent_guard import ConsentGuard
from cityos.privacy.consent_store import ConsentRegistry
from cityos.privacy.database import PrivacyDatabase
from cityos.privacy.disclosure_log import DisclosureLog
from cityos.privacy.gate import Gate
from cityos.privacy.keys import IssuerKeys, load_keys
from cityos.privacy.middleware import AccessControlMiddleware
from cityos.privacy.mydata import MyData
from cityos.privacy.mydata_api import mydata_router
from cityos.privacy.personal import PersonalData
from cityos.privacy.pseudonym import PseudonymKeys, load_pseudonym_keys
from cityos.privacy.release_api import release_router
from cityos.privacy.release_rules import parse_rules
from cityos.privacy.scope_guard import ScopeGuard
from cityos.privacy.video_api import video_router

#: Names the privacy hooks are registered under on the hub's plugin manager.
SCOPE_GUARD = "cityos.privacy.scopes"
CONSENT_GUARD = "cityos.privacy.consent"
DISCLOSURE_LOG = "cityos.privacy.audit"


@dataclass
class Privacy:
    """The privacy services of one hub (``app.state.privacy``)."""

    settings: Settings
    db: PrivacyDatabase
    issuer_keys: IssuerKeys
    pseudonym_keys: PseudonymKeys
    personal: PersonalData
    consents: ConsentRegistry
    guard: ConsentGuard
    audit: AuditTrail
    mydata: MyData
    budgets: PrivacyBudgets


def attach(hub: Any, settings: Settings) -> Privacy:
    """Register the privacy hooks on ``hub`` (once) and return its privacy services."""
    existing = getattr(hub, "_cityos_privacy", None)
    if existing is not None:
        return existing
    db = PrivacyDatabase(hub.storage)
    personal = PersonalData.from_settings(settings)
    consents = ConsentRegistry(db)
    pseudonym_keys = load_pseudonym_keys(settings.data_dir)
    audit = AuditTrail(db)
    log = DisclosureLog(audit)
    guard = ConsentGuard(
        consents,
        personal,
        pseudonym_keys,
        parse_rules(settings.privacy_pseudonymise_rules),
        production=settings.mode == "production",
        recorder=log,
    )
    hub.plugins.register(ScopeGuard(), name=SCOPE_GUARD)
    hub.plugins.register(guard, name=CONSENT_GUARD)
    hub.plugins.register(log, name=DISCLOSURE_LOG)
    privacy = Privacy(
        settings,
        db,
        load_keys(settings.data_dir),
        pseudonym_keys,
        personal,
        consents,
        guard,
        audit,
        MyData(hub, db, personal, consents, audit),
        PrivacyBudgets(db, settings.privacy_dp_epsilon_budget),
    )
    hub._cityos_privacy = privacy
    return privacy


def install(app: Any, hub: Any, settings: Settings) -> Privacy:
    """Add access control, consent enforcement and the privacy API to ``app`` (serving ``hub``)."""
    privacy = attach(hub, settings)
    app.state.privacy = privacy
    app.add_middleware(AccessControlMiddleware, gate=Gate(settings, privacy.issuer_keys))
    app.include_router(auth_router(privacy.issuer_keys))
    app.include_router(consent_router(privacy.consents, privacy.audit))
    app.include_router(audit_router(privacy.audit))
    app.include_router(mydata_router(privacy.mydata))
    app.include_router(release_router(hub, privacy.personal, privacy.budgets, privacy.audit))
    app.include_router(video_router(privacy.audit))
    return privacy
