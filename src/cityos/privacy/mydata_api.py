"""``/privacy/v1/my/data``: a citizen downloads everything about themselves (GET) or has it
erased (DELETE, with ``?confirm=erase``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from cityos.hub.http.negotiation import OrjsonResponse
from cityos.privacy.caller import caller, tenant_of
from cityos.privacy.errors import InvalidPrivacyRequest
from cityos.privacy.mydata import MyData


def mydata_router(mydata: MyData) -> APIRouter:
    router = APIRouter(prefix="/privacy/v1/my", tags=["Privacy"])

    @router.get("/data", summary="Download everything about me (MyData export, JSON)")
    async def export(request: Request) -> Response:
        access = caller("citizen")
        tenant = tenant_of(request)
        body = await run_in_threadpool(mydata.export, tenant, access)
        return OrjsonResponse(
            body,
            headers={
                "Content-Disposition": 'attachment; filename="cityos-mydata.json"',
                "Cache-Control": "no-store",
            },
        )

    @router.delete("/data", summary="Erase everything about me (?confirm=erase)")
    async def erase(request: Request) -> dict[str, Any]:
        access = caller("citizen")
        if request.query_params.get("confirm") != "erase":
            raise InvalidPrivacyRequest("erasure cannot be undone: repeat with ?confirm=erase")
        done = await run_in_threadpool(mydata.erase, tenant_of(request), access)
        return {"erased": done.to_json()}

    return router
