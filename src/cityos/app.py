"""The FastAPI application: the routers each layer exposes, one error mapping, ``/health``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import cityos
from cityos.core.access_log import AccessLogMiddleware
from cityos.core.errors import (
    BadRequestData,
    CityOSError,
    InternalError,
    MethodNotAllowed,
    ResourceNotFound,
)
from cityos.core.logging import get_logger
from cityos.core.settings import Settings, load_settings
from cityos.hub.backends import open_hub
from cityos.hub.broker import Hub
from cityos.hub.http import batch, discovery, entities
from cityos.hub.http.negotiation import TENANT_HEADER, OrjsonResponse
from cityos.hub.http.paths import EncodedSlashMiddleware
from cityos.hub.subscriptions import http as subscriptions_http
from cityos.hub.subscriptions.service import subscriptions_of
from cityos.hub.temporal import http as temporal_http
from cityos.hub.temporal.retention import start_purger, stop_purger

log = get_logger(__name__)


def problem_response(exc: CityOSError, request: Request) -> Response:
    """Render an error as RFC 7807 problem details (``application/json`` on NGSI-LD paths)."""
    body = exc.to_problem()
    ngsi = request.url.path.startswith("/ngsi-ld/")
    response = OrjsonResponse(body, status_code=exc.status)
    if not ngsi:
        response.headers["content-type"] = "application/problem+json"
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Map every error, expected or not, to problem details."""

    @app.exception_handler(CityOSError)
    async def _cityos_error(request: Request, exc: CityOSError) -> Response:
        if exc.status >= 500:
            log.warning("request failed", extra={"path": request.url.path, "detail": exc.detail})
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        detail = f"{where}: {first.get('msg', 'invalid request')}"
        return problem_response(BadRequestData(detail), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        error: CityOSError
        if exc.status_code == 404:
            error = ResourceNotFound(f"no resource at {request.url.path}")
        elif exc.status_code == 405:
            error = MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}")
        else:
            error = BadRequestData(str(exc.detail))
            error.status = exc.status_code
        return problem_response(error, request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", extra={"path": request.url.path})
        return problem_response(InternalError(f"internal error: {type(exc).__name__}"), request)


class TenantEchoMiddleware:
    """Echo the ``NGSILD-Tenant`` request header on the response, as Orion-LD does (§6.3.14)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tenant = None
        if scope["type"] == "http":
            for key, value in scope.get("headers", ()):
                if key == b"ngsild-tenant":
                    tenant = value
                    break
        if tenant is None:
            await self.app(scope, receive, send)
            return

        async def send_with_tenant(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                headers.append((TENANT_HEADER.lower().encode(), tenant))
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, send_with_tenant)


def create_app(settings: Settings | None = None, hub: Hub | None = None) -> FastAPI:
    """Build the application. A hub passed in is left open on shutdown; one built here is closed."""
    settings = settings or load_settings()
    owned = hub is None
    the_hub = hub if hub is not None else open_hub(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sender = subscriptions_of(the_hub).sender
        sending = settings.notify_enabled and sender.start()
        purger = start_purger(the_hub)
        yield
        await stop_purger(purger)
        if sending:
            await asyncio.to_thread(sender.stop)
        if owned:
            the_hub.storage.close()

    app = FastAPI(
        title="CityOS",
        version=cityos.__version__,
        summary="Urban data operating system: NGSI-LD context broker and city services.",
        lifespan=lifespan,
    )
    app.state.hub = the_hub
    app.state.settings = settings
    install_error_handlers(app)
    from cityos.privacy.plugin import install as install_privacy

    install_privacy(app, the_hub, settings)  # access control, consent, audit (docs/privacy.md)
    app.add_middleware(EncodedSlashMiddleware)
    app.add_middleware(TenantEchoMiddleware)
    app.add_middleware(AccessLogMiddleware)
    app.include_router(entities.router)
    app.include_router(batch.router)
    app.include_router(discovery.router)
    app.include_router(temporal_http.router)
    app.include_router(subscriptions_http.router)
    from cityos.hub.api_contexts import contexts_router

    app.include_router(contexts_router(lambda: the_hub.resolver))
    # mobility services (signals engineer block)
    from cityos.services.mobility.pm.http import router as pm_router

    app.include_router(pm_router)
    from cityos.services.mobility.parking.http import router as parking_router

    app.include_router(parking_router)
    from cityos.services.mobility.parking.http import register_records as register_parking

    register_parking(app)  # MyData export and erasure reach slots and bookings
    from cityos.ledger.http import router as ledger_router

    app.include_router(ledger_router)  # transparency log, currency, notarisation (docs/ledger.md)
    # iot: device registry and southbound commands (docs/iot.md)
    from cityos.iot.http import router as iot_router

    app.include_router(iot_router)
    from cityos.services.governance.petitions.http import register_records
    from cityos.services.governance.petitions.http import router as petitions_router

    app.include_router(petitions_router)  # proposals, support, answers (docs/governance.md)
    register_records(app)  # MyData export and erasure reach the proposals too
    from cityos.iot.plugin import install as install_iot

    install_iot(the_hub)  # registry guard: provisioned devices change only through /iot/v1
    from cityos.web import web_router

    app.include_router(web_router())
    # mobility: MaaS journey planner over the twin's GTFS feed, built on first use
    from cityos.services.mobility.maas.http import lazy, maas_router
    from cityos.services.mobility.maas.twin_feed import twin_service

    app.state.maas = lazy(lambda: twin_service(settings.data_dir))
    app.include_router(maas_router(app.state.maas))

    @app.get("/health", tags=["Operations"], summary="Liveness and storage check")
    def health() -> dict[str, Any]:
        tenants = the_hub.storage.tenants()
        return {
            "status": "ok",
            "version": cityos.__version__,
            "storage": type(the_hub.storage).__name__,
            "tenants": len(tenants),
        }

    return app
