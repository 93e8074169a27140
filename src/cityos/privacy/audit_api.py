"""``/privacy/v1/audit``: auditors query and verify the audit trail; ``/privacy/v1/my/audit``:
a citizen sees who used their data, when and for what."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from cityos.hub.temporal.instants import to_us
from cityos.privacy.audit import AuditTrail
from cityos.privacy.caller import caller
from cityos.privacy.errors import InvalidPrivacyRequest

MAX_LIMIT = 1000
_FILTERS = ("subject", "actor", "purpose", "action")
_KNOWN = frozenset({*_FILTERS, "since", "until", "limit", "offset"})


def _int(params: Any, name: str, default: int, top: int | None = None) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidPrivacyRequest(f"'{name}' must be an integer") from None
    if value < 0 or (top is not None and value > top):
        bound = f"0..{top}" if top is not None else ">= 0"
        raise InvalidPrivacyRequest(f"'{name}' must be in {bound}")
    return value


def _instant(params: Any, name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return to_us(raw)
    except (ValueError, OverflowError):
        raise InvalidPrivacyRequest(f"'{name}' is not an ISO 8601 date-time: {raw!r}") from None


def _filters(request: Request) -> dict[str, Any]:
    params = request.query_params
    unknown = sorted(set(params) - _KNOWN)
    if unknown:
        raise InvalidPrivacyRequest(f"unknown parameter(s): {', '.join(unknown)}")
    return {
        **{name: params.get(name) for name in _FILTERS},
        "since_us": _instant(params, "since"),
        "until_us": _instant(params, "until"),
        "limit": _int(params, "limit", 100, MAX_LIMIT),
        "offset": _int(params, "offset", 0),
    }


def audit_router(trail: AuditTrail) -> APIRouter:
    router = APIRouter(prefix="/privacy/v1", tags=["Privacy"])

    @router.get("/audit", summary="Query the audit trail (auditors)")
    async def query(request: Request) -> list[dict[str, Any]]:
        caller("auditor")
        filters = _filters(request)
        entries = await run_in_threadpool(lambda: trail.query(**filters))
        return [e.to_json() for e in entries]

    @router.get("/audit/verify", summary="Check the audit trail's hash chain (auditors)")
    async def verify() -> dict[str, Any]:
        caller("auditor")
        result = await run_in_threadpool(trail.verify)
        return {
            "valid": result.valid,
            "entries": result.entries,
            "head": result.head,
            "firstBadSeq": result.first_bad_seq,
        }

    @router.get("/my/audit", summary="Who used my data, when and for what (citizens)")
    async def mine(request: Request) -> list[dict[str, Any]]:
        access = caller("citizen")
        filters = _filters(request)
        if filters["subject"] not in (None, access.principal.subject):
            raise InvalidPrivacyRequest("'subject' is always yourself here")
        filters["subject"] = access.principal.subject
        entries = await run_in_threadpool(lambda: trail.query(**filters))
        shown = []
        for e in entries:
            body = e.to_json()
            body["subjects"] = [access.principal.subject]  # never other people's ids
            body.pop("client", None)
            shown.append(body)
        return shown

    return router
