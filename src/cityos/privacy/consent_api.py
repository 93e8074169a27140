"""``/privacy/v1/consents``: citizens grant, list and withdraw their consents (MyData).

A citizen manages only their own consents (the subject is the token's ``sub``); an auditor may
read anyone's. A withdrawal takes effect on the next query.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from cityos.privacy.access import Access
from cityos.privacy.audit import AuditEntry, AuditTrail
from cityos.privacy.caller import caller, json_body, tenant_of
from cityos.privacy.consent import Consent, parse_grant
from cityos.privacy.consent_store import ConsentRegistry, now_us
from cityos.privacy.errors import Forbidden, InvalidPrivacyRequest, PrivacyResourceNotFound

PREFIX = "/privacy/v1/consents"


def _audit(trail: AuditTrail, access: Access, action: str, consent: Consent, now: int) -> None:
    trail.append(
        AuditEntry(
            at_us=now,
            tenant=consent.tenant,
            actor=access.principal.subject,
            roles=tuple(sorted(access.principal.roles)),
            action=action,
            outcome=f"done:{consent.id}",
            subjects=(consent.subject,),
            purpose=consent.purpose,
            client=access.client,
        )
    )


def consent_router(registry: ConsentRegistry, trail: AuditTrail) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["Privacy"])

    @router.post("", status_code=201, summary="Grant a consent (citizens, for themselves)")
    async def grant(request: Request) -> Response:
        access = caller("citizen")
        body = await json_body(request)
        subject = access.principal.subject
        if isinstance(body, dict) and body.get("subject", subject) != subject:
            raise Forbidden("a citizen may only grant consents about themselves")
        if isinstance(body, dict):
            body = {k: v for k, v in body.items() if k != "subject"}
        now = now_us()
        consent = parse_grant(body, subject=subject, tenant=tenant_of(request), now=now)
        await run_in_threadpool(registry.grant, consent)
        await run_in_threadpool(_audit, trail, access, "consent.grant", consent, now)
        from cityos.hub.http.negotiation import OrjsonResponse

        return OrjsonResponse(
            consent.to_json(now),
            status_code=201,
            headers={"Location": f"{PREFIX}/{consent.id}"},
        )

    @router.get("", summary="List consents: a citizen's own, or a subject's for auditors")
    async def list_consents(request: Request) -> list[dict[str, Any]]:
        access = caller("citizen", "auditor")
        subject = _subject_param(request, access)
        consents = await run_in_threadpool(registry.of_subject, tenant_of(request), subject)
        now = now_us()
        return [c.to_json(now) for c in consents]

    @router.get("/{consent_id}", summary="One consent")
    async def get_consent(consent_id: str, request: Request) -> dict[str, Any]:
        access = caller("citizen", "auditor")
        consent = await run_in_threadpool(registry.get, tenant_of(request), consent_id)
        mine = consent is not None and consent.subject == access.principal.subject
        if consent is None or not (mine or access.principal.has_role("auditor")):
            raise PrivacyResourceNotFound(f"no consent {consent_id} of yours")
        return consent.to_json(now_us())

    @router.delete("/{consent_id}", summary="Withdraw a consent (from the next query on)")
    async def withdraw(consent_id: str, request: Request) -> dict[str, Any]:
        access = caller("citizen")
        now = now_us()
        consent = await run_in_threadpool(
            registry.withdraw, tenant_of(request), consent_id, access.principal.subject, now
        )
        await run_in_threadpool(_audit, trail, access, "consent.withdraw", consent, now)
        return consent.to_json(now)

    return router


def _subject_param(request: Request, access: Any) -> str:
    wanted = request.query_params.get("subject")
    principal = access.principal
    if principal.has_role("auditor"):
        if wanted is None and not principal.has_role("citizen"):
            raise InvalidPrivacyRequest("auditors name the data subject: ?subject=...")
        return wanted or principal.subject
    if wanted is not None and wanted != principal.subject:
        raise Forbidden("a citizen may only list their own consents")
    return principal.subject
