"""Plugging the privacy layer into an application and its hub, in one visible place.

:func:`install` registers the hub hooks (type scopes; later consent, audit) on the hub's plugin
manager, adds the access-control middleware and mounts the privacy routers. The hub itself
never imports this package.
"""

from __future__ import annotations

from typing import Any

from cityos.core.settings import Settings
from cityos.privacy.auth_api import auth_router
from cityos.privacy.gate import Gate
from cityos.privacy.keys import load_keys
from cityos.privacy.middleware import AccessControlMiddleware
from cityos.privacy.scope_guard import ScopeGuard

#: Names the privacy hooks are registered under on the hub's plugin manager.
SCOPE_GUARD = "cityos.privacy.scopes"


def install(app: Any, hub: Any, settings: Settings) -> None:
    """Add access control and the privacy API to ``app`` (a FastAPI app serving ``hub``)."""
    keys = load_keys(settings.data_dir)
    if hub.plugins.get_plugin(SCOPE_GUARD) is None:
        hub.plugins.register(ScopeGuard(), name=SCOPE_GUARD)
    app.state.issuer_keys = keys
    app.add_middleware(AccessControlMiddleware, gate=Gate(settings, keys))
    app.include_router(auth_router(keys))
