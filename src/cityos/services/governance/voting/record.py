"""The offline verifier of a published election record: anyone can run it (``cityos vote
verify RECORD.json``), with nothing but the record.

It checks the trustees' commitments and the election key, every ballot's proofs and tracking
code, which ballots count (each voter's last), that the encrypted tally is the product of the
counted ballots, every trustee's proof of correct partial decryption, and that each published
count decrypts from the tally — so a record with one altered ballot, proof, count or
decryption is rejected, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cityos.services.governance.voting.ballots import Ballot, BallotError
from cityos.services.governance.voting.election import (
    Manifest,
    counted_ballots,
    discrete_log,
    homomorphic_tally,
    tally_context,
)
from cityos.services.governance.voting.group import GroupError, point, sub
from cityos.services.governance.voting.proofs import ChaumPedersen, Schnorr
from cityos.services.governance.voting.trustees import (
    PartialDecryption,
    TrusteeCommitments,
    TrusteeError,
    combine,
    joint_key,
)


@dataclass
class Verification:
    """The verdict: ``valid``, the problems found, and the verified counts by option."""

    problems: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    ballots: int = 0
    counted: int = 0

    @property
    def valid(self) -> bool:
        return not self.problems


def verify_record(record: Any) -> Verification:
    """Check an election record (see the module docstring)."""
    out = Verification()
    try:
        manifest = Manifest.from_json(record["manifest"])
        trustees = [
            TrusteeCommitments(
                int(t["index"]),
                tuple(point(c) for c in t["commitments"]),
                tuple(Schnorr.from_json(p) for p in t["proofs"]),
            )
            for t in record["trustees"]
        ]
        ballot_docs = list(record["ballots"])
        tally_docs = list(record["tally"])
    except (KeyError, TypeError, ValueError) as exc:
        out.problems.append(f"malformed record: {exc}")
        return out
    eid = manifest.election_id
    if len(trustees) != manifest.trustees:
        out.problems.append(
            f"{len(trustees)} trustees published, the manifest says {manifest.trustees}"
        )
    for t in trustees:
        if len(t.commitments) != manifest.threshold or not t.verify(eid):
            out.problems.append(f"trustee {t.index}'s commitments do not verify")
    key = joint_key(trustees)
    if record.get("publicKey") != key.hex():
        out.problems.append("the election key is not the product of the trustees' keys")
    ballots: list[Ballot] = []
    for n, doc in enumerate(ballot_docs):
        try:
            ballot = Ballot.from_json(doc)
            ballot.verify(key, len(manifest.options))
        except (BallotError, GroupError) as exc:
            out.problems.append(f"ballot {n}: {exc}")
            continue
        if ballot.election_id != eid:
            out.problems.append(f"ballot {n} belongs to another election")
        if doc.get("trackingCode") != ballot.tracking_code:
            out.problems.append(f"ballot {n}: the tracking code does not match its content")
        ballots.append(ballot)
    counted = counted_ballots(ballots)
    counted_ids = {(b.voter, b.ballot_id) for b in counted}
    for doc in ballot_docs:
        if bool(doc.get("counted")) != ((doc.get("voter"), doc.get("ballotId")) in counted_ids):
            out.problems.append(f"ballot {doc.get('ballotId')!r}: wrongly marked as counted or not")
    out.ballots, out.counted = len(ballots), len(counted)
    if len(tally_docs) != len(manifest.options):
        out.problems.append("the tally does not have one entry per option")
        return out
    for j, ((a, b), doc) in enumerate(zip(homomorphic_tally(counted, len(manifest.options)),
                                          tally_docs, strict=True)):  # fmt: skip
        option = manifest.options[j]
        if doc.get("a") != a.hex() or doc.get("b") != b.hex():
            out.problems.append(
                f"{option!r}: the encrypted tally is not the counted ballots' product"
            )
            continue
        try:
            partials = [
                PartialDecryption(
                    int(p["index"]), point(p["value"]), ChaumPedersen.from_json(p["proof"])
                )
                for p in doc["partials"]
            ]
            a_s = combine(partials, a, trustees, manifest.threshold, tally_context(eid, j))
            count = discrete_log(sub(b, a_s), len(counted))
        except (KeyError, TypeError, ValueError, TrusteeError) as exc:
            out.problems.append(f"{option!r}: {exc}")
            continue
        if doc.get("count") != count:
            out.problems.append(
                f"{option!r}: published count {doc.get('count')} but the tally decrypts to {count}"
            )
        out.counts[option] = count
    if (
        out.counts
        and sum(out.counts.values()) != len(counted)
        and len(out.counts) == len(manifest.options)
    ):
        out.problems.append("the counts do not add up to the counted ballots")
    return out
