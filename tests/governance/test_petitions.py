"""Proposals and support signatures: validation, one signature per person under concurrency,
thresholds that oblige an answer by a deadline (overdue until answered), comments, and the HTTP
API's identities in production (citizens act for themselves, operators answer)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cityos.app import create_app
from cityos.core.errors import AlreadyExists, BadRequestData, ResourceNotFound
from cityos.core.settings import Settings
from cityos.hub.backends import open_hub
from cityos.privacy.keys import load_keys
from cityos.privacy.tokens import mint_token
from cityos.services.governance.petitions.store import PetitionStore, Threshold

SMALL = (Threshold("department", 2, "the department", 30), Threshold("mayor", 3, "the mayor", 14))


@pytest.fixture
def store(tmp_path: Path) -> PetitionStore:
    return PetitionStore(tmp_path / "governance.db", SMALL)


def _proposal(store: PetitionStore, **kw):
    args = {"title": "Shade on the BRT platform", "body": "It is too hot at noon.",
            "category": "mobility"} | kw  # fmt: skip
    return store.propose("kim", **args)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"category": "parking-rage"}, "'category' must be one of"),
        ({"title": "  "}, "'title' must be a non-empty text"),
        ({"title": "x" * 201}, "longer than 200"),
        ({"body": "ring\x07bell"}, "control characters"),
        ({"lat": 36.5}, "both 'lat' and 'lon'"),
        ({"lat": 91.0, "lon": 127.0}, "out of range"),
        ({"lat": float("nan"), "lon": 127.0}, "out of range"),
    ],
)
def test_bad_proposals_are_refused(store, change, message):
    with pytest.raises(BadRequestData, match=message):
        _proposal(store, **change)
    assert store.list() == []


def test_script_laden_text_is_kept_verbatim(store):
    text = '<script>alert("x")</script> & <b>bold</b>'
    proposal = _proposal(store, body=text)
    assert store.get(proposal.id).body == text  # stored as given; escaped when rendered


def test_one_signature_per_person_even_when_racing(store):
    proposal = _proposal(store)
    store.sign(proposal.id, "lee")
    with pytest.raises(AlreadyExists):
        store.sign(proposal.id, "lee")

    def attempt(_: int) -> bool:
        try:
            store.sign(proposal.id, "park")
            return True
        except AlreadyExists:
            return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        won = sum(pool.map(attempt, range(16)))
    assert won == 1 and store.get(proposal.id).supporters == 2
    with pytest.raises(ResourceNotFound):
        store.sign("urn:ngsi-ld:CivicProposal:none", "lee")


def test_thresholds_oblige_an_answer_by_a_deadline(store):
    proposal = _proposal(store)
    long_ago = time.time() - 40 * 86_400
    store.sign(proposal.id, "a", now=long_ago)
    with pytest.raises(BadRequestData, match="has not reached"):
        store.answer(proposal.id, "department", "We will look.", "op")
    levels = {lv["level"]: lv for lv in store.sign(proposal.id, "b", now=long_ago).levels}
    assert levels["department"]["reached"] and not levels["mayor"]["reached"]
    assert levels["department"]["dueAt"] == pytest.approx(long_ago + 30 * 86_400)
    assert levels["department"]["overdue"]  # 40 days without an answer
    answered = store.answer(proposal.id, "department", "Shades are ordered.", "op-1")
    department = answered.levels[0]
    assert department["answer"] == "Shades are ordered." and not department["overdue"]
    with pytest.raises(AlreadyExists):
        store.answer(proposal.id, "department", "Again.", "op-1")
    mayor = store.sign(proposal.id, "c").levels[1]
    assert mayor["reached"] and not mayor["overdue"]


def test_comments_and_replies(store):
    proposal = _proposal(store)
    first = store.comment(proposal.id, "lee", "Agreed.")
    reply = store.comment(proposal.id, "kim", "Thanks!", parent=first["id"])
    assert [c["parent"] for c in store.comments(proposal.id)] == [None, first["id"]]
    assert reply["body"] == "Thanks!"
    with pytest.raises(BadRequestData, match="to reply to"):
        store.comment(proposal.id, "kim", "?", parent="no-such-comment")


def test_most_supported_first(store):
    quiet, popular = _proposal(store, title="Quiet"), _proposal(store, title="Popular")
    store.sign(popular.id, "a")
    assert [p.title for p in store.list()] == ["Popular", "Quiet"]
    assert [p.id for p in store.list(category="health")] == []
    assert quiet.id in {p.id for p in store.list(limit=5)}


def test_http_identities_in_production(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, mode="production", rate_limit_per_minute=0)
    hub = open_hub(settings)
    keys = load_keys(tmp_path)

    def auth(subject: str, role: str) -> dict[str, str]:
        token = mint_token(keys, settings, subject=subject, roles=(role,), scopes=["read"])
        return {"Authorization": f"Bearer {token}"}

    kim, lee, op = auth("kim", "citizen"), auth("lee", "citizen"), auth("op-1", "operator")
    with TestClient(create_app(settings, hub), raise_server_exceptions=False) as client:
        client.app.state.petition_store = PetitionStore(tmp_path / "g.db", SMALL)
        body = {"title": "More benches", "body": "Along the river path.", "category": "health"}
        assert client.post("/governance/v1/proposals", json=body).status_code == 401
        created = client.post("/governance/v1/proposals", json=body, headers=kim)
        assert created.status_code == 201 and created.json()["author"] == "kim"
        url = created.headers["Location"]
        forged = client.post(f"{url}/signatures", json={"signer": "kim"}, headers=lee)
        assert forged.status_code == 403
        assert client.post(f"{url}/signatures", json={}, headers=lee).status_code == 201
        again = client.post(f"{url}/signatures", json={}, headers=lee)
        assert again.status_code == 409
        assert client.post(f"{url}/signatures", json={}, headers=kim).json()["supporters"] == 2
        answer = {"level": "department", "answer": "Six benches in spring."}
        assert client.post(f"{url}/answers", json=answer, headers=kim).status_code == 403
        done = client.post(f"{url}/answers", json=answer, headers=op)
        assert done.status_code == 200 and done.json()["levels"][0]["answeredBy"] == "op-1"
        bad = client.post("/governance/v1/proposals", json=body | {"category": "x"}, headers=kim)
        assert bad.status_code == 400 and "category" in bad.json()["detail"]
        extra = client.post("/governance/v1/proposals", json=body | {"votes": 9}, headers=kim)
        assert extra.status_code in (400, 422)
        assert client.get(url, headers=lee).json()["supporters"] == 2
    hub.storage.close()


def test_mydata_export_and_erasure_reach_the_proposals(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, mode="production", rate_limit_per_minute=0)
    hub = open_hub(settings)
    keys = load_keys(tmp_path)

    def auth(subject: str) -> dict[str, str]:
        token = mint_token(keys, settings, subject=subject, roles=("citizen",), scopes=["read"])
        return {"Authorization": f"Bearer {token}"}

    kim, lee = auth("kim"), auth("lee")
    with TestClient(create_app(settings, hub), raise_server_exceptions=False) as client:
        base = "/governance/v1/proposals"
        benches = {"title": "Benches", "body": "Please.", "category": "health"}
        mine = client.post(base, json=benches, headers=kim).headers["Location"]
        theirs = client.post(base, json={"title": "Trees", "body": "More.",
                                         "category": "environment"}, headers=lee)  # fmt: skip
        other = theirs.headers["Location"]
        client.post(f"{other}/signatures", json={}, headers=kim)
        client.post(f"{mine}/signatures", json={}, headers=lee)
        first = client.post(f"{other}/comments", json={"body": "Yes!"}, headers=kim).json()
        client.post(f"{other}/comments", json={"body": "Agreed", "parent": first["id"]},
                    headers=lee)  # fmt: skip
        export = client.get("/privacy/v1/my/data", headers=kim).json()["services"]["governance"]
        assert [p["title"] for p in export["proposals"]] == ["Benches"]
        assert export["supported"] == [other.rsplit("/", 1)[1]]
        assert [c["body"] for c in export["comments"]] == ["Yes!"]
        erased = client.delete("/privacy/v1/my/data?confirm=erase", headers=kim).json()
        assert erased["erased"]["serviceRecords"] == 3  # a comment, a support, a proposal
        assert client.get(mine, headers=lee).status_code == 404
        left = client.get(other, headers=lee).json()
        assert left["supporters"] == 0
        replies = client.get(f"{other}/comments", headers=lee).json()
        assert [(c["body"], c["parent"]) for c in replies] == [("Agreed", None)]
        again = client.get("/privacy/v1/my/data", headers=kim).json()["services"]["governance"]
        assert again == {"proposals": [], "supported": [], "comments": []}
    hub.storage.close()
