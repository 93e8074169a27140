"""HTTP API of the ledger under ``/ledger/v1/``.

Checkpoints, the log's keys and consistency proofs are public (they are hashes and signatures, and
anyone must be able to audit the log); entries, receipts and accounts need ``read``; submitting a
payer-signed transaction or notarising a hash needs ``write``; anything the city's issuing key signs
(opening accounts, issuance, rewards, basic income) needs ``admin``. Errors are RFC 7807 problem
details: 400 malformed, 401 forged signature, 404 unknown entry or account, 409 a rule refused it
(insufficient funds, bad nonce, reused idempotency key, limits, caps), 422 invalid proof.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from cityos.ledger.accounts import Account
from cityos.ledger.anchors import AnchorConflict, FileWitness, parse_add_checkpoint
from cityos.ledger.credentials import verify_credential
from cityos.ledger.currency import Outcome
from cityos.ledger.did import did_document
from cityos.ledger.log import EntryNotFound
from cityos.ledger.messages import ACCOUNT_KINDS, SERVICE_CLASSES
from cityos.ledger.money import MAX_AMOUNT
from cityos.ledger.publisher import Publisher, publisher_for, running
from cityos.ledger.service import Ledger, open_ledger
from cityos.ledger.signed_note import Verifier


def _open(app: Any) -> Ledger:
    state = app.state
    found = getattr(state, "ledger", None)
    if found is None:  # two requests racing here open the same tables and keys: harmless
        found = open_ledger(state.hub.storage, state.settings.data_dir)
        state.ledger = found
    return found


def publisher_of(app: Any) -> Publisher:
    """The app's publisher (audit anchoring, witnesses), made on first use."""
    found = getattr(app.state, "ledger_publisher", None)
    if found is None:
        found = publisher_for(_open(app), app.state.settings)
        app.state.ledger_publisher = found
    return found


@asynccontextmanager
async def _lifespan(app: Any) -> AsyncIterator[None]:
    """Run the periodic duties when ``CITYOS_LEDGER_ANCHOR_INTERVAL_S`` is set."""
    interval = app.state.settings.ledger_anchor_interval_s
    if interval <= 0:
        yield
        return
    async with running(publisher_of(app), interval):
        yield


router = APIRouter(prefix="/ledger/v1", tags=["Ledger"], lifespan=_lifespan)
MAX_BATCH = 1000


def ledger_of(request: Request) -> Ledger:
    """The app's ledger, opened on first use on the hub's storage."""
    return _open(request.app)


def _account_json(account: Account) -> dict[str, Any]:
    return {
        "did": account.did,
        "kind": account.kind,
        "serviceClass": account.service_class,
        "balance": account.balance,
        "nonce": account.nonce,
        "dailyLimit": account.daily_limit,
    }


def _outcome(outcome: Outcome) -> JSONResponse:
    if outcome.error is not None:
        raise outcome.error
    status = 201 if outcome.status == "committed" else 200
    return JSONResponse(outcome.to_json(), status_code=status)


@router.get("/checkpoint", summary="The latest signed checkpoint (C2SP signed note)")
def checkpoint(
    request: Request, size: int | None = Query(None, ge=0, description="Tree size")
) -> PlainTextResponse:
    note = ledger_of(request).log.checkpoint(size)
    return PlainTextResponse(note, media_type="text/plain; charset=utf-8")


@router.get("/checkpoint/witnessed", summary="The latest checkpoint with witness cosignatures")
def witnessed_checkpoint(request: Request) -> PlainTextResponse:
    publisher = publisher_of(request.app)
    note = publisher.witnessed or ledger_of(request).log.checkpoint()
    return PlainTextResponse(note, media_type="text/plain; charset=utf-8")


@router.post("/publish", summary="Anchor the audit head and publish to the witnesses now")
def publish(request: Request) -> dict[str, Any]:
    publisher = publisher_of(request.app)
    return {"checkpoint": publisher.run_once(), "failures": dict(publisher.failures)}


@router.get("/keys", summary="The log's verifier key and the city's issuing DID")
def keys(request: Request) -> dict[str, Any]:
    ledger = ledger_of(request)
    return {"origin": ledger.log.origin, "logKey": ledger.log_key, "issuer": ledger.issuer_did}


@router.get("/proofs/consistency", summary="Consistency proof between two checkpoints")
def consistency(
    request: Request,
    first: int = Query(ge=0, description="Older tree size"),
    second: int | None = Query(None, ge=0, description="Newer tree size (default latest)"),
) -> dict[str, Any]:
    return ledger_of(request).consistency(first, second).to_json()


@router.get("/export", summary="Every entry and signed checkpoint (cityos-ledger-export/1)")
def export(request: Request) -> dict[str, Any]:
    return ledger_of(request).export().to_json()


@router.get("/entries", summary="A page of log entries, in order")
def entries(
    request: Request,
    start: int = Query(0, ge=0, description="First entry"),
    limit: int = Query(100, ge=1, le=1000, description="Most entries returned"),
) -> dict[str, Any]:
    import json

    found = ledger_of(request).log.entries(start, start + limit)
    return {"entries": [{"seq": e.seq, "kind": e.kind, "entry": json.loads(e.body)} for e in found]}


@router.get("/entries/{seq}", summary="One log entry")
def entry(request: Request, seq: int) -> dict[str, Any]:
    import json

    found = ledger_of(request).log.entry(seq)
    return {"seq": found.seq, "kind": found.kind, "entry": json.loads(found.body)}


@router.get("/entries/{seq}/receipt", summary="Inclusion receipt of an entry (verifies offline)")
def receipt(
    request: Request, seq: int, size: int | None = Query(None, ge=1, description="Tree size")
) -> dict[str, Any]:
    return ledger_of(request).receipt(seq, size).to_json()


@router.get("/accounts/{did}", summary="An account: kind, service class, balance, nonce")
def account(request: Request, did: str) -> dict[str, Any]:
    found = ledger_of(request).currency.account(did)
    if found is None:
        raise EntryNotFound(f"no account for {did}")
    return _account_json(found)


@router.get("/dids/{did}", summary="The DID document of a did:key")
def did(did: str) -> dict[str, Any]:
    return did_document(did)


@router.post("/transactions", summary="Commit one signed message (transfer or payment)")
def transaction(request: Request, message: dict[str, Any] = Body(...)) -> JSONResponse:
    return _outcome(ledger_of(request).currency.commit([message])[0])


class BatchIn(BaseModel):
    messages: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)


@router.post("/transactions/batch", summary="Commit a batch of signed messages, one checkpoint")
def batch(request: Request, body: BatchIn) -> dict[str, Any]:
    outcomes = ledger_of(request).currency.commit(body.messages)
    return {"outcomes": [o.to_json() for o in outcomes]}


class NotariseIn(BaseModel):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Document hash, lower-case hex")
    title: str | None = Field(None, min_length=1, max_length=200)


@router.post("/notarisations", summary="Put a document hash on the log; returns its receipt")
def notarise(request: Request, body: NotariseIn) -> JSONResponse:
    ledger = ledger_of(request)
    outcome = ledger.notarise(body.sha256, body.title)
    status = 201 if outcome.status == "committed" else 200
    return JSONResponse(ledger.receipt(outcome.seq or 0).to_json(), status_code=status)


class AccountIn(BaseModel):
    did: str = Field(min_length=1, max_length=128)
    kind: str = Field("citizen", pattern="^(" + "|".join(ACCOUNT_KINDS) + ")$")
    serviceClass: str | None = Field(None, pattern="^(" + "|".join(SERVICE_CLASSES) + ")$")
    dailyLimit: int | None = Field(None, ge=1, le=MAX_AMOUNT)


@router.post("/accounts", summary="Open an account (signed by the city's issuing key)")
def open_account(request: Request, body: AccountIn) -> JSONResponse:
    ledger = ledger_of(request)
    outcome = ledger.open_account(
        body.did, body.kind, service_class=body.serviceClass, daily_limit=body.dailyLimit
    )
    return _outcome(outcome)


class IssueIn(BaseModel):
    to: str = Field(min_length=1, max_length=128)
    amount: int = Field(strict=True, description="Minor units (1 SJC = 100)")
    reason: str = Field(min_length=1, max_length=200)
    idempotencyKey: str = Field(min_length=1, max_length=100)


@router.post("/issuances", summary="Issue money with a stated reason (city issuing key)")
def issue(request: Request, body: IssueIn) -> JSONResponse:
    return _outcome(
        ledger_of(request).issue(body.to, body.amount, body.reason, body.idempotencyKey)
    )


class RewardIn(BaseModel):
    did: str = Field(min_length=1, max_length=128)
    rule: str = Field(min_length=1, max_length=40)
    units: int = Field(strict=True, ge=1, le=10**6)
    period: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")
    claimId: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9._:\-]+$")


@router.post("/rewards", summary="Pay a reward by rule, capped per month")
def reward(request: Request, body: RewardIn) -> JSONResponse:
    ledger = ledger_of(request)
    return _outcome(ledger.reward(body.did, body.rule, body.units, body.period, body.claimId))


class BasicIncomeIn(BaseModel):
    period: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")
    amount: int = Field(strict=True, ge=1, le=MAX_AMOUNT)


@router.post("/basic-income", summary="Pay every citizen the basic income of a month, once")
def basic_income(request: Request, body: BasicIncomeIn) -> dict[str, Any]:
    outcomes = ledger_of(request).basic_income(body.period, body.amount)
    return {"outcomes": [o.to_json() for o in outcomes]}


class DemurrageIn(BaseModel):
    period: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")
    rateBp: int = Field(strict=True, ge=1, le=1000, description="Basis points of each balance")


@router.post("/demurrage", summary="Charge the month's demurrage on every balance, once")
def demurrage(request: Request, body: DemurrageIn) -> JSONResponse:
    return _outcome(ledger_of(request).demurrage(body.period, body.rateBp))


class CredentialIn(BaseModel):
    kind: str = Field(description="residency, age_over_65 or disability_support")
    subject: str = Field(min_length=1, max_length=128, description="The holder's did:key")
    validDays: int = Field(365, ge=1, le=3650)


@router.post("/credentials", summary="Issue a verifiable credential (vc+jwt) to a DID")
def issue_credential(request: Request, body: CredentialIn) -> JSONResponse:
    token = ledger_of(request).credentials.issue(body.kind, body.subject, valid_days=body.validDays)
    return JSONResponse({"credential": token}, status_code=201)


@router.post("/credentials/{index}/revocation", summary="Revoke a credential by status index")
def revoke_credential(request: Request, index: int) -> dict[str, Any]:
    outcome = ledger_of(request).revoke_credential(index)
    return {"statusIndex": index, "revoked": True, "seq": outcome.seq}


@router.get("/credentials/status", summary="The signed Bitstring Status List credential")
def status_list(request: Request) -> PlainTextResponse:
    token = ledger_of(request).credentials.status_list()
    return PlainTextResponse(token, media_type="application/vc+jwt")


class VerifyIn(BaseModel):
    credential: str = Field(min_length=1, max_length=200_000)
    statusList: str | None = Field(None, max_length=200_000)


@router.post("/credentials/verify", summary="Verify a city credential (signature, expiry, status)")
def verify_credential_route(request: Request, body: VerifyIn) -> dict[str, Any]:
    ledger = ledger_of(request)
    status = body.statusList or ledger.credentials.status_list()
    found = verify_credential(body.credential, ledger.issuer_did, status)
    return {
        "valid": True,
        "type": found.vc_type,
        "subject": found.subject,
        "claims": found.claims,
        "statusIndex": found.status_index,
    }


def _witness(request: Request) -> tuple[FileWitness, list[Verifier]]:
    """This server's witness (key under the data dir) and the logs it agreed to witness."""
    state = request.app.state
    settings = state.settings
    logs = [Verifier.decode(k) for k in settings.ledger_witness_logs.split(",") if k.strip()]
    witness = getattr(state, "ledger_witness", None)
    if witness is None:
        origin = ledger_of(request).log.origin.split("/")[0]
        witness = FileWitness(Path(settings.data_dir) / "ledger" / "witness", f"{origin}/witness")
        state.ledger_witness = witness
    return witness, logs


@router.get("/witness", summary="This server's witness key and the logs it witnesses")
def witness_info(request: Request) -> dict[str, Any]:
    witness, logs = _witness(request)
    return {"witnessKey": witness.verifier.encode(), "logs": [v.encode() for v in logs]}


@router.post(
    "/witness/add-checkpoint",
    summary="C2SP tlog-witness: cosign a checkpoint that extends the last one seen",
)
async def witness_add_checkpoint(request: Request) -> PlainTextResponse:
    body = (await request.body()).decode("utf-8", errors="replace")
    witness, logs = _witness(request)
    old, proof, note = parse_add_checkpoint(body)
    origin = note.split("\n", 1)[0]
    known = [v for v in logs if v.name == origin]
    if not known:
        raise EntryNotFound(f"this server does not witness the log {origin!r}")
    try:
        cosigned = witness.add_checkpoint(note, old, proof, known[0])
    except AnchorConflict as exc:
        if "latest_size" in exc.extra:
            return PlainTextResponse(
                f"{exc.extra['latest_size']}\n", status_code=409, media_type="text/x.tlog.size"
            )
        exc.status = 422
        raise
    return PlainTextResponse(cosigned[len(note) :], media_type="text/plain; charset=utf-8")
