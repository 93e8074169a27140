"""``POST /privacy/v1/video/deidentify``: a CCTV frame (PNG or JPEG) comes back with faces and
licence plates hidden, before it is offered to a company. Operators and services only; audited."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from cityos.privacy.audit import AuditEntry, AuditTrail
from cityos.privacy.caller import caller, tenant_of
from cityos.privacy.consent_store import now_us
from cityos.privacy.errors import InvalidPrivacyRequest

#: Largest frame accepted [bytes].
MAX_FRAME_BYTES = 20 * 1024 * 1024


def video_router(trail: AuditTrail) -> APIRouter:
    router = APIRouter(prefix="/privacy/v1/video", tags=["Privacy"])

    @router.post("/deidentify", summary="Hide faces and licence plates in a CCTV frame")
    async def deidentify(request: Request) -> Response:
        access = caller("operator", "service")
        media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if media not in ("image/png", "image/jpeg"):
            raise InvalidPrivacyRequest("send the frame as image/png or image/jpeg")
        data = await request.body()
        if len(data) > MAX_FRAME_BYTES:
            raise InvalidPrivacyRequest(f"the frame is larger than {MAX_FRAME_BYTES} bytes")
        from cityos.privacy.video import deidentify_bytes

        try:
            encoded, found = await run_in_threadpool(deidentify_bytes, data, media)
        except ValueError as exc:
            raise InvalidPrivacyRequest(str(exc)) from None
        faces = sum(d.kind == "face" for d in found)
        plates = sum(d.kind == "plate" for d in found)
        entry = AuditEntry(
            at_us=now_us(),
            tenant=tenant_of(request),
            actor=access.principal.subject,
            roles=tuple(sorted(access.principal.roles)),
            org=access.principal.org,
            action="video.deidentify",
            outcome=f"done:{faces} faces,{plates} plates",
            purpose=access.purpose,
            client=access.client,
        )
        await run_in_threadpool(trail.append, entry)
        return Response(
            encoded,
            media_type=media,
            headers={
                "CityOS-Faces": str(faces),
                "CityOS-Plates": str(plates),
                "Cache-Control": "no-store",
            },
        )

    return router
