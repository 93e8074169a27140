"""``/ledger/v1``: the HTTP API end to end, on both storage backends, with offline checks."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cityos.hub.backends import open_storage
from cityos.ledger.anchors import AnchorConflict, HttpWitness
from cityos.ledger.checkpoint import open_checkpoint, verify_cosignature
from cityos.ledger.credentials import verify_credential
from cityos.ledger.did import did_of
from cityos.ledger.messages import transfer
from cityos.ledger.service import open_ledger
from cityos.ledger.signed_note import Verifier
from cityos.ledger.verify import verify_document

V1 = "/ledger/v1"


@pytest.fixture
def keys(client):
    return client.get(f"{V1}/keys").json()


@pytest.fixture
def payer(client):
    key = Ed25519PrivateKey.generate()
    did = did_of(key)
    assert client.post(f"{V1}/accounts", json={"did": did}).status_code == 201
    out = client.post(
        f"{V1}/issuances",
        json={"to": did, "amount": 5_000, "reason": "welfare allowance", "idempotencyKey": "w1"},
    )
    assert out.status_code == 201, out.text
    return key


@pytest.fixture
def shop(client):
    did = did_of(Ed25519PrivateKey.generate())
    body = {"did": did, "kind": "merchant", "serviceClass": "ecosystem_addon"}
    assert client.post(f"{V1}/accounts", json=body).status_code == 201
    return did


def problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def test_keys_and_checkpoint_are_published(client, keys):
    assert keys["issuer"].startswith("did:key:z6Mk")
    note = client.get(f"{V1}/checkpoint")
    assert note.status_code == 200 and note.headers["content-type"].startswith("text/plain")
    checkpoint, _ = open_checkpoint(note.text, Verifier.decode(keys["logKey"]))
    assert checkpoint.origin == keys["origin"] and checkpoint.size == 0
    problem(client.get(f"{V1}/checkpoint?size=7"), 404)
    problem(client.get(f"{V1}/checkpoint?size=-1"), 400)


def test_signed_payment_over_http_and_its_receipt_verify_offline(client, keys, payer, shop):
    payment = transfer(payer, shop, 1_200, 1, "order-1", memo="lunch")
    first = client.post(f"{V1}/transactions", json=payment)
    assert first.status_code == 201 and first.json()["status"] == "committed"
    again = client.post(f"{V1}/transactions", json=payment)
    assert again.status_code == 200 and again.json() == {**first.json(), "status": "duplicate"}
    seq = first.json()["seq"]
    entry = client.get(f"{V1}/entries/{seq}").json()
    assert entry["entry"]["tx"]["memo"] == "lunch"
    receipt = client.get(f"{V1}/entries/{seq}/receipt").json()
    assert verify_document(receipt, keys["logKey"]).size == seq + 1
    proof = client.get(f"{V1}/proofs/consistency?first=1").json()
    assert "extends the tree of 1 entries" in verify_document(proof, keys["logKey"]).detail
    account = client.get(f"{V1}/accounts/{did_of(payer)}").json()
    assert account["balance"] == 3_800 and account["nonce"] == 1
    assert client.get(f"{V1}/accounts/{shop}").json()["serviceClass"] == "ecosystem_addon"
    assert client.get(f"{V1}/dids/{shop}").json()["id"] == shop


def test_bad_transactions_are_problem_details(client, payer, shop):
    honest = transfer(payer, shop, 100, 1, "k1")
    assert (
        problem(client.post(f"{V1}/transactions", json={**honest, "amount": 99}), 401)["title"]
        == "Invalid signature"
    )
    assert (
        "amount"
        in problem(client.post(f"{V1}/transactions", json={**honest, "amount": "100"}), 400)[
            "detail"
        ]
    )
    problem(client.post(f"{V1}/transactions", json=[honest]), 400)
    problem(
        client.post(
            f"{V1}/transactions", content=b"{", headers={"content-type": "application/json"}
        ),
        400,
    )
    over = problem(
        client.post(f"{V1}/transactions", json=transfer(payer, shop, 10**6, 1, "k2")), 409
    )
    assert over["title"] == "Insufficient funds"
    assert client.post(f"{V1}/transactions", json=honest).status_code == 201
    assert (
        problem(client.post(f"{V1}/transactions", json=transfer(payer, shop, 5, 1, "k3")), 409)[
            "title"
        ]
        == "Bad nonce"
    )
    problem(client.get(f"{V1}/entries/999"), 404)
    problem(client.get(f"{V1}/entries/999/receipt"), 404)
    problem(client.get(f"{V1}/accounts/{did_of(Ed25519PrivateKey.generate())}"), 404)
    problem(client.get(f"{V1}/dids/did:key:zTjsVPtY"), 400)
    problem(client.get(f"{V1}/proofs/consistency?first=50"), 404)
    problem(client.post(f"{V1}/transactions/batch", json={"messages": []}), 400)


def test_city_operations_validate_their_inputs(client, payer, shop):
    bad = [
        ("accounts", {"did": "did:web:x"}),
        ("accounts", {"did": shop, "kind": "bank"}),
        ("accounts", {"did": did_of(Ed25519PrivateKey.generate()), "kind": "merchant"}),
        ("issuances", {"to": shop, "amount": -5, "reason": "x", "idempotencyKey": "n"}),
        ("issuances", {"to": shop, "amount": 1.5, "reason": "x", "idempotencyKey": "f"}),
        ("issuances", {"to": shop, "amount": 5, "reason": "", "idempotencyKey": "e"}),
        (
            "rewards",
            {"did": shop, "rule": "volunteer", "units": 0, "period": "2026-12", "claimId": "c"},
        ),
        ("rewards", {"did": shop, "rule": "nap", "units": 1, "period": "2026-12", "claimId": "c"}),
        ("basic-income", {"period": "2026-1", "amount": 100}),
        ("notarisations", {"sha256": "ABC"}),
    ]
    for path, body in bad:
        response = client.post(f"{V1}/{path}", json=body)
        assert response.status_code == 400, (path, body, response.text)
    assert problem(client.post(f"{V1}/accounts", json={"did": shop}), 409)


def test_rewards_basic_income_and_notarisation(client, keys, payer, shop):
    citizen = did_of(payer)
    body = {
        "did": citizen,
        "rule": "governance",
        "units": 3,
        "period": "2026-12",
        "claimId": "vote-7",
    }
    assert client.post(f"{V1}/rewards", json=body).status_code == 201
    assert client.post(f"{V1}/rewards", json=body).status_code == 200  # the same claim
    paid = client.post(f"{V1}/basic-income", json={"period": "2026-12", "amount": 1_000}).json()
    assert [o["status"] for o in paid["outcomes"]] == ["committed"]
    assert client.get(f"{V1}/accounts/{citizen}").json()["balance"] == 5_000 + 1_500 + 1_000
    document = b"land registry extract, parcel 5-1-0042"
    digest = hashlib.sha256(document).hexdigest()
    made = client.post(f"{V1}/notarisations", json={"sha256": digest, "title": "parcel 42"})
    assert made.status_code == 201
    report = verify_document(made.json(), keys["logKey"], document=document)
    assert digest in report.detail
    again = client.post(f"{V1}/notarisations", json={"sha256": digest, "title": "parcel 42"})
    assert again.status_code == 200 and again.json()["index"] == made.json()["index"]


def test_credentials_over_http(client, keys, payer):
    holder = did_of(payer)
    made = client.post(f"{V1}/credentials", json={"kind": "age_over_65", "subject": holder})
    assert made.status_code == 201, made.text
    token = made.json()["credential"]
    status = client.get(f"{V1}/credentials/status")
    assert status.headers["content-type"].startswith("application/vc+jwt")
    checked = client.post(f"{V1}/credentials/verify", json={"credential": token}).json()
    assert checked["valid"] and checked["claims"] == {"ageOver": 65}
    assert verify_credential(token, keys["issuer"], status.text).subject == holder
    index = checked["statusIndex"]
    assert client.post(f"{V1}/credentials/{index}/revocation").json()["revoked"]
    refused = problem(client.post(f"{V1}/credentials/verify", json={"credential": token}), 422)
    assert "revoked" in refused["detail"]
    problem(client.post(f"{V1}/credentials/99/revocation"), 422)
    problem(client.post(f"{V1}/credentials", json={"kind": "wizard", "subject": holder}), 422)
    problem(client.post(f"{V1}/credentials", json={"kind": "residency", "subject": "x"}), 400)
    problem(client.post(f"{V1}/credentials/verify", json={"credential": "a.b.c"}), 422)


def test_demurrage_over_http(client, payer):
    body = {"period": "2026-12", "rateBp": 200}
    assert client.post(f"{V1}/demurrage", json=body).status_code == 201
    assert client.post(f"{V1}/demurrage", json=body).status_code == 200
    assert client.get(f"{V1}/accounts/{did_of(payer)}").json()["balance"] == 4_900
    problem(client.post(f"{V1}/demurrage", json={"period": "2026-12", "rateBp": 5000}), 400)


def test_this_server_witnesses_another_citys_log(client, settings, tmp_path):
    """City B (this app) cosigns city A's checkpoints over the C2SP tlog-witness protocol."""
    a_storage = open_storage(f"sqlite:///{tmp_path / 'city-a.db'}")
    city_a = open_ledger(a_storage, tmp_path / "city-a", origin="busan.cityos.example/ledger")
    info = client.get(f"{V1}/witness").json()
    assert info["logs"] == []
    remote = HttpWitness(
        "http://testserver/ledger/v1/witness", Verifier.decode(info["witnessKey"]), client=client
    )
    city_a.open_account(did_of(Ed25519PrivateKey.generate()))
    with pytest.raises(AnchorConflict):  # not (yet) a log this city agreed to witness
        city_a.publish(remote)
    client.app.state.settings = settings.model_copy(update={"ledger_witness_logs": city_a.log_key})
    cosigned = city_a.publish(remote)
    assert verify_cosignature(cosigned, Verifier.decode(info["witnessKey"])) > 0
    city_a.open_account(did_of(Ed25519PrivateKey.generate()))
    assert verify_cosignature(city_a.publish(remote), Verifier.decode(info["witnessKey"]))
    stale = HttpWitness(
        "http://testserver/ledger/v1/witness", Verifier.decode(info["witnessKey"]), client=client
    )
    with pytest.raises(AnchorConflict, match="at size 2"):  # the 409 tells the size
        city_a.publish(stale)
    url = f"{V1}/witness/add-checkpoint"
    assert client.post(url, content=b"hello").status_code == 400
    forged = city_a.log.checkpoint().replace("\n2\n", "\n3\n")
    assert client.post(url, content=f"old 2\n\n{forged}".encode()).status_code == 422
    a_storage.close()


def test_an_auditor_downloads_the_export_and_verifies_it(client, keys, payer, shop):
    client.post(f"{V1}/transactions", json=transfer(payer, shop, 300, 1, "t1"))
    export = client.get(f"{V1}/export").json()
    report = verify_document(export, keys["logKey"])
    assert report.size == 4 and len(export["entries"]) == 4
    page = client.get(f"{V1}/entries?start=1&limit=2").json()["entries"]
    assert [e["seq"] for e in page] == [1, 2]
    assert [e["entry"]["tx"]["type"] for e in page] == ["issue", "open_account"]
    problem(client.get(f"{V1}/entries?limit=5000"), 400)
    problem(client.get(f"{V1}/entries?start=-1"), 400)
