"""The web layer: the control-centre map served by ``cityos serve`` at ``/``.

The page is a static bundle (``static/``, built from ``web/`` with ``make web``) that reads every
layer from the hub's public NGSI-LD API; this package only serves it, plus the terrain of the
digital twin as an image and contour lines.
"""

from __future__ import annotations

from fastapi import APIRouter

from cityos.web.pages import pages_router
from cityos.web.terrain import terrain_router


def web_router() -> APIRouter:
    """All routes of the web layer: the page, its assets, its config and the twin's terrain."""
    router = APIRouter()
    router.include_router(pages_router())
    router.include_router(terrain_router())
    return router


__all__ = ["web_router"]
