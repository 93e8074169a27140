"""The server's periodic duties: audit-head anchoring and publication to witnesses."""

from __future__ import annotations

import time

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from cityos.app import create_app
from cityos.hub.backends import open_storage
from cityos.ledger.anchors import HttpWitness
from cityos.ledger.checkpoint import (
    Checkpoint,
    cosign,
    open_checkpoint,
    sign_checkpoint,
    verify_cosignature,
)
from cityos.ledger.did import did_of
from cityos.ledger.publisher import Publisher, merge_cosignatures, parse_witnesses
from cityos.ledger.service import open_ledger
from cityos.ledger.signed_note import Signer, Verifier
from cityos.privacy.audit import AuditEntry, AuditTrail
from cityos.privacy.database import PrivacyDatabase

V1 = "/ledger/v1"


def test_publishing_collects_cosignatures_and_survives_a_broken_witness(client, settings, tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 'a.db'}")
    city_a = open_ledger(storage, tmp_path / "a", origin="daejeon.cityos.example/ledger")
    city_a.open_account(did_of(Ed25519PrivateKey.generate()))
    client.app.state.settings = settings.model_copy(update={"ledger_witness_logs": city_a.log_key})
    b_key = Verifier.decode(client.get(f"{V1}/witness").json()["witnessKey"])
    broken = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    publisher = Publisher(
        city_a,
        [
            HttpWitness(
                "http://down.example/witness", Signer.generate("down", 4).verifier, client=broken
            ),
            HttpWitness("http://testserver/ledger/v1/witness", b_key, client=client),
        ],
    )
    AuditTrail(PrivacyDatabase(storage)).append(
        AuditEntry(1, "", "op", ("operator",), "read", "released")
    )
    witnessed = publisher.run_once()
    checkpoint, _ = open_checkpoint(witnessed, city_a.log.verifier)
    assert checkpoint.size == 2  # the account, then the anchored audit head
    assert verify_cosignature(witnessed, b_key) > 0
    assert list(publisher.failures) == ["http://down.example/witness"]
    storage.close()


def test_the_server_runs_its_duties_periodically(settings, hub):
    AuditTrail(PrivacyDatabase(hub.storage)).append(
        AuditEntry(1, "", "op", ("operator",), "read", "released")
    )
    periodic = settings.model_copy(update={"ledger_anchor_interval_s": 0.05})
    with TestClient(create_app(periodic, hub)) as client:
        deadline = time.monotonic() + 10
        while client.get(f"{V1}/entries/0").status_code != 200:
            assert time.monotonic() < deadline, "the audit head was never anchored"
            time.sleep(0.05)
        entry = client.get(f"{V1}/entries/0").json()["entry"]["tx"]
        assert entry["title"] == "privacy audit trail head after 1 entries"
        assert client.get(f"{V1}/checkpoint/witnessed").text.startswith("sejong.cityos")
        done = client.post(f"{V1}/publish").json()
        assert done["failures"] == {} and "\n1\n" in done["checkpoint"]


def test_witness_settings_and_merging():
    key = Signer.generate("w.example", 4).verifier
    assert parse_witnesses(f"https://w.example/witness {key.encode()}, ") == [
        ("https://w.example/witness", key)
    ]
    for bad in ("w.example " + key.encode(), "https://w.example", "https://w.example x+y+z"):
        with pytest.raises(ValueError):
            parse_witnesses(bad)
    log = Signer.generate("log.example")
    note = sign_checkpoint(Checkpoint("log.example", 1, b"\0" * 32), log)
    w1, w2 = Signer.generate("w1", 4), Signer.generate("w2", 4)
    merged = merge_cosignatures([cosign(note, log.verifier, w1), cosign(note, log.verifier, w2)])
    assert verify_cosignature(merged, w1.verifier) and verify_cosignature(merged, w2.verifier)
    other = sign_checkpoint(Checkpoint("log.example", 2, b"\1" * 32), log)
    with pytest.raises(ValueError):
        merge_cosignatures([note, other])
