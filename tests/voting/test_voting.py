"""Verifiable M-voting: proofs, threshold decryption, the ballot box rules, and the offline
verifier rejecting any altered record."""

from __future__ import annotations

import copy
import json
import random
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cityos.cli import app
from cityos.services.governance.voting.ballots import Ballot, BallotError, Selection, encrypt_ballot
from cityos.services.governance.voting.election import Election, ElectionError, Manifest
from cityos.services.governance.voting.group import (
    GENERATOR,
    ORDER,
    GroupError,
    add,
    base_mul,
    mul,
    point,
    random_scalar,
    scalar,
)
from cityos.services.governance.voting.proofs import (
    ChaumPedersen,
    DisjunctiveChaumPedersen,
    Schnorr,
)
from cityos.services.governance.voting.record import verify_record
from cityos.services.governance.voting.trustees import TrusteeError, combine, key_ceremony

OPTIONS = ("keep", "shrink", "remove")


@pytest.fixture(scope="module")
def ceremony():
    return key_ceremony(3, 2, "ref-test")


def _election(ceremony, eligible=lambda voter: True) -> Election:
    _, published = ceremony
    return Election(Manifest("ref-test", "The car-free core?", OPTIONS, 3, 2), published, eligible)


def _vote(election: Election, voter: str, choice: int) -> str:
    ballot = encrypt_ballot("ref-test", election.public_key, voter, len(OPTIONS), choice)
    return election.cast(ballot, voter)


@pytest.fixture(scope="module")
def record(ceremony) -> dict[str, Any]:
    """A closed election of 40 voters (voter-0 voted twice) with its decrypted record."""
    trustees, _ = ceremony
    election = _election(ceremony)
    rng = random.Random(7)
    for n in range(40):
        _vote(election, f"voter-{n}", rng.randrange(len(OPTIONS)))
    _vote(election, "voter-0", 2)
    election.close()
    return election.record(election.decrypt_with([trustees[0], trustees[2]]))


def test_proofs_verify_and_bind_their_context():
    x = random_scalar()
    big_x = base_mul(x)
    proof = Schnorr.prove(x, big_x, "ctx")
    assert proof.verify(big_x, "ctx") and not proof.verify(big_x, "other")
    assert not Schnorr(proof.commitment, (proof.response + 1) % ORDER).verify(big_x, "ctx")
    h = base_mul(random_scalar())
    cp = ChaumPedersen.prove(x, big_x, h, mul(x, h), "ctx")
    assert cp.verify(big_x, h, mul(x, h), "ctx")
    assert not cp.verify(big_x, h, mul(x + 1, h), "ctx")  # not the same exponent


@pytest.mark.parametrize("m", [0, 1])
def test_disjunctive_proof_for_zero_and_one_only(m):
    h = base_mul(random_scalar())
    r = random_scalar()
    a = base_mul(r)
    b = add(mul(r, h), mul(m, GENERATOR))
    proof = DisjunctiveChaumPedersen.prove(m, r, a, b, h, "ctx")
    assert proof.verify(a, b, h, "ctx")
    assert not proof.verify(a, add(b, GENERATOR), h, "ctx")  # the same proof for m + 1
    with pytest.raises(ValueError, match="0 and 1"):
        DisjunctiveChaumPedersen.prove(2, r, a, add(b, GENERATOR), h, "ctx")


def test_a_ballot_with_two_votes_in_one_option_is_refused(ceremony):
    election = _election(ceremony)
    honest = encrypt_ballot("ref-test", election.public_key, "mallory", 3, 0)
    first = honest.selections[0]
    stuffed = Selection(first.a, add(first.b, GENERATOR), first.proof)  # encrypts 2
    forged = Ballot(honest.election_id, "mallory", honest.ballot_id,
                    (stuffed, *honest.selections[1:]), honest.sum_proof)  # fmt: skip
    with pytest.raises(ElectionError, match="option 0 does not verify"):
        election.cast(forged, "mallory")
    assert election.ballots == []


def test_ballot_box_rules(ceremony):
    election = _election(ceremony, eligible=lambda voter: voter != "visitor")
    code = _vote(election, "kim", 1)
    assert len(code) == 64
    with pytest.raises(ElectionError, match="not eligible"):
        _vote(election, "visitor", 0)
    copied = election.ballots[0]
    with pytest.raises(ElectionError, match="another voter"):
        election.cast(copied, "lee")  # a copy of kim's ballot
    with pytest.raises(ElectionError, match="already cast"):
        election.cast(copied, "kim")
    other = encrypt_ballot("other-election", election.public_key, "kim", 3, 0)
    with pytest.raises(ElectionError, match="another election"):
        election.cast(other, "kim")
    with pytest.raises(ElectionError, match="malformed ballot"):
        election.cast({"electionId": "ref-test", "voter": "kim", "selections": "x"}, "kim")
    _vote(election, "kim", 2)  # re-voting: the last ballot counts
    assert [b.tracking_code for b in election.counted()] == [election.ballots[-1].tracking_code]
    election.close()
    with pytest.raises(ElectionError, match="closed"):
        _vote(election, "park", 0)


def test_any_threshold_of_trustees_decrypts_the_same_tally(ceremony):
    trustees, published = ceremony
    election = _election(ceremony)
    for n, choice in enumerate([0, 1, 1, 2, 1]):
        _vote(election, f"v{n}", choice)
    election.close()
    results = []
    for pair in ([0, 1], [0, 2], [1, 2]):
        record = election.record(election.decrypt_with([trustees[i] for i in pair]))
        results.append([t["count"] for t in record["tally"]])
    assert results == [[1, 3, 1]] * 3
    a = election.encrypted_tally()[0][0]
    alone = election.decrypt_with([trustees[0]])[0]
    with pytest.raises(TrusteeError, match="2 are needed"):
        combine(alone, a, published, 2, "ref-test/tally/0")


def test_the_record_verifies_and_counts_each_voters_last_ballot(record):
    result = verify_record(json.loads(json.dumps(record)))
    assert result.valid, result.problems
    assert result.ballots == 41 and result.counted == 40
    rng = random.Random(7)
    choices = {f"voter-{n}": rng.randrange(len(OPTIONS)) for n in range(40)} | {"voter-0": 2}
    expected = Counter(OPTIONS[c] for c in choices.values())
    assert result.counts == {o: expected[o] for o in OPTIONS}


def _altered(record: dict[str, Any], change) -> list[str]:
    doc = copy.deepcopy(record)
    change(doc)
    return verify_record(doc).problems


def _copy(source: dict[str, Any], target: dict[str, Any], key: str) -> None:
    target[key] = source[key]


def _swap_selection(doc):
    doc["ballots"][3]["selections"][0], doc["ballots"][3]["selections"][1] = (
        doc["ballots"][3]["selections"][1],
        doc["ballots"][3]["selections"][0],
    )


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (_swap_selection, "ballot 3"),
        (lambda d: _copy(d["ballots"][6]["sumProof"], d["ballots"][5]["sumProof"], "response"),
         "ballot 5"),
        (lambda d: d["ballots"].pop(7), "encrypted tally"),
        (lambda d: d["ballots"][8].update(trackingCode="0" * 64), "tracking code"),
        (lambda d: d["ballots"][0].update(counted=True), "counted"),
        (lambda d: d["tally"][1].update(count=d["tally"][1]["count"] + 1), "published count"),
        (lambda d: _copy(d["tally"][1]["partials"][0], d["tally"][2]["partials"][0], "value"),
         "does not verify"),
        (lambda d: d.update(publicKey=d["trustees"][0]["commitments"][0]), "election key"),
        (lambda d: _copy(d["trustees"][0]["proofs"][0], d["trustees"][1]["proofs"][0], "response"),
         "trustee 2"),
        (lambda d: d.pop("tally"), "malformed record"),
    ],
)  # fmt: skip
def test_any_alteration_is_detected(record, change, problem):
    problems = _altered(record, change)
    assert any(problem in p for p in problems), problems


@settings(max_examples=10, deadline=None)
@given(st.lists(st.integers(0, len(OPTIONS) - 1), min_size=1, max_size=12))
def test_the_tally_equals_the_plain_count(ceremony, choices):
    trustees, _ = ceremony
    election = _election(ceremony)
    for n, choice in enumerate(choices):
        _vote(election, f"v{n}", choice)
    election.close()
    record = election.record(election.decrypt_with(trustees[1:]))
    counts = Counter(choices)
    assert [t["count"] for t in record["tally"]] == [counts[j] for j in range(len(OPTIONS))]


def test_bad_encodings_are_refused():
    for bad in ("zz", "00" * 31, "ff" * 32, 12):
        with pytest.raises(GroupError):
            point(bad)
    with pytest.raises(GroupError, match="canonical"):
        scalar(ORDER.to_bytes(32, "little").hex())
    with pytest.raises(BallotError, match="choice 3"):
        encrypt_ballot("e", base_mul(5), "v", 3, 3)
    with pytest.raises(ElectionError, match="between 2 and 20"):
        Manifest("e", "q", ("only",), 1, 1)
    with pytest.raises(ElectionError, match="threshold"):
        Manifest("e", "q", ("a", "b"), 2, 3)


def test_cli_verify(tmp_path, record):
    runner = CliRunner()
    good = tmp_path / "record.json"
    good.write_text(json.dumps(record))
    result = runner.invoke(app, ["vote", "verify", str(good)])
    assert result.exit_code == 0 and "OK" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(record).replace('"count": ', '"count": 1', 1))
    result = runner.invoke(app, ["vote", "verify", str(bad)])
    assert result.exit_code == 1 and "FAIL" in result.output
    result = runner.invoke(app, ["vote", "verify", str(tmp_path / "missing.json")])
    assert result.exit_code == 2 and "cannot read" in result.output
