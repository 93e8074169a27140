"""An election (or referendum): its manifest, the ballot box, the homomorphic tally and its
threshold decryption, and the published election record.

Casting checks the voter's eligibility (a callable: the residency and age credentials of the
ledger plug in here), the election window and every proof of the ballot; a voter may vote again
until the close, and only their last ballot counts (re-voting resists coercion), while every
ballot stays in the record. The tally is the product of the counted ballots' ciphertexts per
option; trustees decrypt it with proofs, and each count is recovered as the discrete log of
``g^count`` (at most the number of counted ballots).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cityos.services.governance.voting.ballots import Ballot, BallotError
from cityos.services.governance.voting.group import GENERATOR, IDENTITY, add, sub
from cityos.services.governance.voting.trustees import (
    PartialDecryption,
    Trustee,
    TrusteeCommitments,
    combine,
    joint_key,
)


class ElectionError(ValueError):
    """A refused cast or an election used out of order (closed, not closed, ineligible)."""


@dataclass(frozen=True)
class Manifest:
    """What is voted on: id, question, options (2-20), trustees and the decryption threshold."""

    election_id: str
    question: str
    options: tuple[str, ...]
    trustees: int
    threshold: int

    def __post_init__(self) -> None:
        if not 2 <= len(self.options) <= 20:
            raise ElectionError("an election has between 2 and 20 options")
        if len(set(self.options)) != len(self.options):
            raise ElectionError("options must differ")
        if not 1 <= self.threshold <= self.trustees:
            raise ElectionError("the threshold must be between 1 and the number of trustees")

    def to_json(self) -> dict[str, Any]:
        return {
            "electionId": self.election_id,
            "question": self.question,
            "options": list(self.options),
            "trustees": self.trustees,
            "threshold": self.threshold,
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Manifest:
        return Manifest(
            str(data["electionId"]),
            str(data["question"]),
            tuple(str(o) for o in data["options"]),
            int(data["trustees"]),
            int(data["threshold"]),
        )


def tally_context(election_id: str, option: int) -> str:
    return f"{election_id}/tally/{option}"


def discrete_log(target: bytes, bound: int) -> int:
    """``m`` in ``[0, bound]`` with ``g^m == target``."""
    current = IDENTITY
    for m in range(bound + 1):
        if current == target:
            return m
        current = add(current, GENERATOR)
    raise ElectionError(f"the decrypted tally is not a count between 0 and {bound}")


@dataclass
class Election:
    """The ballot box of one election (in memory; the record is what is published)."""

    manifest: Manifest
    trustees: Sequence[TrusteeCommitments]
    eligible: Callable[[str], bool] = lambda voter: True
    ballots: list[Ballot] = field(default_factory=list)
    closed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def public_key(self) -> bytes:
        return joint_key(self.trustees)

    def cast(self, ballot: Ballot | dict[str, Any], voter: str) -> str:
        """Accept ``voter``'s ballot and return its tracking code, or raise ElectionError."""
        if not isinstance(ballot, Ballot):
            try:
                ballot = Ballot.from_json(ballot)
            except BallotError as exc:
                raise ElectionError(str(exc)) from None
        if ballot.election_id != self.manifest.election_id:
            raise ElectionError("the ballot is for another election")
        if ballot.voter != voter:
            raise ElectionError("the ballot was made for another voter")
        if not self.eligible(voter):
            raise ElectionError(f"voter {voter!r} is not eligible in this election")
        try:
            ballot.verify(self.public_key, len(self.manifest.options))
        except BallotError as exc:
            raise ElectionError(str(exc)) from None
        with self._lock:
            if self.closed:
                raise ElectionError("the election is closed")
            if any(b.ballot_id == ballot.ballot_id and b.voter == voter for b in self.ballots):
                raise ElectionError("this ballot was already cast")
            self.ballots.append(ballot)
        return ballot.tracking_code

    def close(self) -> None:
        with self._lock:
            self.closed = True

    def counted(self) -> list[Ballot]:
        """The last ballot of each voter, in casting order."""
        return counted_ballots(self.ballots)

    def encrypted_tally(self) -> list[tuple[bytes, bytes]]:
        return homomorphic_tally(self.counted(), len(self.manifest.options))

    def record(
        self, partials: dict[int, Sequence[PartialDecryption]] | None = None
    ) -> dict[str, Any]:
        """The election record: manifest, trustees, every ballot, the tally and, with the
        trustees' partial decryptions (option -> list), the decrypted counts."""
        if not self.closed:
            raise ElectionError("close the election before publishing its record")
        counted = {id(b) for b in self.counted()}
        tally = []
        for j, (a, b) in enumerate(self.encrypted_tally()):
            entry: dict[str, Any] = {"option": self.manifest.options[j], "a": a.hex(), "b": b.hex()}
            if partials is not None:
                shares = partials[j]
                a_s = combine(shares, a, self.trustees, self.manifest.threshold,
                              tally_context(self.manifest.election_id, j))  # fmt: skip
                entry["count"] = discrete_log(sub(b, a_s), len(counted))
                entry["partials"] = [
                    {"index": p.index, "value": p.value.hex(), "proof": p.proof.to_json()}
                    for p in shares
                ]
            tally.append(entry)
        return {
            "manifest": self.manifest.to_json(),
            "trustees": [trustee_json(t) for t in self.trustees],
            "publicKey": self.public_key.hex(),
            "ballots": [
                b.to_json() | {"trackingCode": b.tracking_code, "counted": id(b) in counted}
                for b in self.ballots
            ],
            "tally": tally,
        }

    def decrypt_with(self, trustees: Sequence[Trustee]) -> dict[int, list[PartialDecryption]]:
        """Partial decryptions of every option's tally by the ``trustees`` present."""
        return {
            j: [t.decrypt_share(a, tally_context(self.manifest.election_id, j)) for t in trustees]
            for j, (a, _) in enumerate(self.encrypted_tally())
        }


def counted_ballots(ballots: Sequence[Ballot]) -> list[Ballot]:
    last: dict[str, Ballot] = {}
    for b in ballots:
        last[b.voter] = b
    keep = {id(b) for b in last.values()}
    return [b for b in ballots if id(b) in keep]


def homomorphic_tally(ballots: Sequence[Ballot], options: int) -> list[tuple[bytes, bytes]]:
    """Per option, the product of the ballots' ciphertexts."""
    sums = [(IDENTITY, IDENTITY)] * options
    for ballot in ballots:
        sums = [
            (add(a, s.a), add(b, s.b)) for (a, b), s in zip(sums, ballot.selections, strict=True)
        ]
    return sums


def trustee_json(t: TrusteeCommitments) -> dict[str, Any]:
    """What a trustee publishes, as the record holds it."""
    return {
        "index": t.index,
        "commitments": [c.hex() for c in t.commitments],
        "proofs": [p.to_json() for p in t.proofs],
    }
