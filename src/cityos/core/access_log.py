"""Structured access log: one record per HTTP request (method, path, status, duration, tenant)."""

from __future__ import annotations

import time
from typing import Any

from cityos.core.logging import get_logger

log = get_logger("cityos.access")


class AccessLogMiddleware:
    """Pure ASGI middleware logging each request at INFO (5xx at WARNING)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}

        async def send_and_record(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            tenant = next(
                (v.decode() for k, v in scope.get("headers", ()) if k == b"ngsild-tenant"), None
            )
            level = 30 if status["code"] >= 500 else 20
            log.log(
                level,
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status["code"],
                    "duration_ms": round((time.perf_counter() - start) * 1000, 2),
                    "tenant": tenant,
                },
            )
