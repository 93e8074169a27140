"""``/governance/v1/proposals``: propose, support, comment and answer (RFC 7807 errors).

Who acts is the caller's token subject. In production a token is needed for every write: the
author and signers are citizens acting for themselves, answers come from operators. In the open
demo mode (no token) the body names the actor (``author``, ``signer``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from cityos.core.errors import BadRequestData
from cityos.privacy.access import current_access
from cityos.privacy.errors import Forbidden
from cityos.services.governance.petitions.store import CATEGORIES, PetitionStore, Proposal

router = APIRouter(prefix="/governance/v1", tags=["Governance: proposals"])
PREFIX = "/governance/v1/proposals"


class ProposalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(max_length=1000)
    body: str = Field(max_length=50_000)
    category: str
    lat: float | None = None
    lon: float | None = None
    author: str | None = Field(None, max_length=200, description="Open demo mode only")


class SignatureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signer: str | None = Field(None, max_length=200, description="Open demo mode only")


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(max_length=50_000)
    parent: str | None = None
    author: str | None = Field(None, max_length=200, description="Open demo mode only")


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: str
    answer: str = Field(max_length=100_000)


def petition_store(app: Any) -> PetitionStore:
    """The app's petition store (``governance.db`` in the data directory), opened on first use."""
    state = app.state
    store = getattr(state, "petition_store", None)
    if store is None:
        store = state.petition_store = PetitionStore(state.settings.data_dir / "governance.db")
    return store


class _AppRecords:
    """The app's petition records as MyData sees them (the store opens when first asked)."""

    name = "governance"

    def __init__(self, app: Any) -> None:
        self.app = app

    def export_subject(self, subject: str, tenant: str) -> dict[str, Any]:
        return petition_store(self.app).export_subject(subject)  # proposals have no tenant

    def erase_subject(self, subject: str, tenant: str) -> int:
        return petition_store(self.app).erase_subject(subject)


def register_records(app: Any) -> None:
    """Make a citizen's MyData export and erasure reach the proposals, supports and comments."""
    privacy = getattr(app.state, "privacy", None)
    if privacy is not None:
        privacy.mydata.register(_AppRecords(app))


def store_of(request: Request) -> PetitionStore:
    return petition_store(request.app)


def actor(given: str | None, *roles: str) -> str:
    """The caller's identity: the token subject (holding one of ``roles``), or in the open demo
    mode the name the body gives."""
    if _open():
        if not given:
            raise BadRequestData("without a token, name who acts ('author' or 'signer')")
        return given
    principal = current_access().principal  # type: ignore[union-attr]
    if roles and not principal.has_role(*roles):
        raise Forbidden(f"this needs the role {' or '.join(roles)}")
    if given not in (None, principal.subject):
        raise Forbidden("you can only act for yourself")
    return principal.subject


def proposal_json(p: Proposal) -> dict[str, Any]:
    return {
        "id": p.id, "title": p.title, "body": p.body, "category": p.category,
        "location": None if p.lat is None else {"lat": p.lat, "lon": p.lon},
        "author": p.author, "createdAt": p.created_at, "supporters": p.supporters,
        "levels": p.levels,
    }  # fmt: skip


@router.post("/proposals", status_code=201, summary="Propose a city problem to solve")
def propose(body: ProposalIn, request: Request) -> JSONResponse:
    author = actor(body.author, "citizen")
    proposal = store_of(request).propose(author, body.title, body.body, body.category,
                                         body.lat, body.lon)  # fmt: skip
    return JSONResponse(proposal_json(proposal), status_code=201,
                        headers={"Location": f"{PREFIX}/{proposal.id}"})  # fmt: skip


@router.get("/proposals", summary="Proposals, most supported first")
def list_proposals(
    request: Request,
    category: str | None = Query(None, description=f"One of {', '.join(CATEGORIES)}"),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0),
) -> list[dict[str, Any]]:
    if category is not None and category not in CATEGORIES:
        raise BadRequestData(f"'category' must be one of {', '.join(CATEGORIES)}")
    found = store_of(request).list(category=category, limit=limit, offset=offset)
    return [proposal_json(p) for p in found]


@router.get("/proposals/{proposal_id}", summary="One proposal with its support and answers")
def get_proposal(proposal_id: str, request: Request) -> dict[str, Any]:
    return proposal_json(store_of(request).get(proposal_id))


@router.post("/proposals/{proposal_id}/signatures", status_code=201, summary="Support it")
def sign(proposal_id: str, body: SignatureIn, request: Request) -> dict[str, Any]:
    signer = actor(body.signer, "citizen")
    return proposal_json(store_of(request).sign(proposal_id, signer))


@router.post("/proposals/{proposal_id}/answers", summary="The official answer of a level")
def answer(proposal_id: str, body: AnswerIn, request: Request) -> dict[str, Any]:
    by = "demo-operator" if _open() else actor(None, "operator")
    return proposal_json(store_of(request).answer(proposal_id, body.level, body.answer, by))


@router.post("/proposals/{proposal_id}/comments", status_code=201, summary="Comment or reply")
def comment(proposal_id: str, body: CommentIn, request: Request) -> dict[str, Any]:
    author = actor(body.author, "citizen", "operator")
    return store_of(request).comment(proposal_id, author, body.body, body.parent)


@router.get("/proposals/{proposal_id}/comments", summary="The discussion, oldest first")
def comments(proposal_id: str, request: Request) -> list[dict[str, Any]]:
    return store_of(request).comments(proposal_id)


def _open() -> bool:
    access = current_access()
    return access is None or not access.enforced or access.principal.anonymous
