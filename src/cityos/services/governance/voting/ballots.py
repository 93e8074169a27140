"""Encrypted ballots: one exponential-ElGamal ciphertext per option, each proven to hold 0 or 1,
and a proof that exactly one option is chosen; a tracking code the voter keeps.

Every proof's context names the election, the voter's pseudonym and the ballot id, so a ballot
copied from another voter or another election does not verify.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import orjson

from cityos.services.governance.voting.group import (
    GENERATOR,
    IDENTITY,
    add,
    base_mul,
    mul,
    point,
    random_scalar,
    sub,
)
from cityos.services.governance.voting.proofs import ChaumPedersen, DisjunctiveChaumPedersen


class BallotError(ValueError):
    """A ballot that is malformed or whose proofs do not verify."""


@dataclass(frozen=True)
class Selection:
    """``(A, B) = (g^r, g^m h^r)`` for one option, with its 0-or-1 proof."""

    a: bytes
    b: bytes
    proof: DisjunctiveChaumPedersen


@dataclass(frozen=True)
class Ballot:
    """An encrypted ballot of ``voter`` in ``election_id``."""

    election_id: str
    voter: str
    ballot_id: str
    selections: tuple[Selection, ...]
    sum_proof: ChaumPedersen

    def context(self, part: str) -> str:
        return f"{self.election_id}/{self.voter}/{self.ballot_id}/{part}"

    def totals(self) -> tuple[bytes, bytes]:
        a = b = IDENTITY
        for s in self.selections:
            a, b = add(a, s.a), add(b, s.b)
        return a, b

    def verify(self, public_key: bytes, options: int) -> None:
        """Raise :class:`BallotError` unless every proof holds for ``options`` options."""
        if len(self.selections) != options:
            raise BallotError(f"the ballot has {len(self.selections)} selections, not {options}")
        for j, s in enumerate(self.selections):
            if not s.proof.verify(s.a, s.b, public_key, self.context(f"option/{j}")):
                raise BallotError(f"the proof of option {j} does not verify")
        a, b = self.totals()
        if not self.sum_proof.verify(a, public_key, sub(b, GENERATOR), self.context("sum")):
            raise BallotError("the proof that exactly one option is chosen does not verify")

    def to_json(self) -> dict[str, Any]:
        return {
            "electionId": self.election_id,
            "voter": self.voter,
            "ballotId": self.ballot_id,
            "selections": [
                {"a": s.a.hex(), "b": s.b.hex(), "proof": s.proof.to_json()}
                for s in self.selections
            ],
            "sumProof": self.sum_proof.to_json(),
        }

    @property
    def tracking_code(self) -> str:
        """SHA-256 of the ballot's canonical JSON: the voter checks it in the published record."""
        return hashlib.sha256(orjson.dumps(self.to_json(), option=orjson.OPT_SORT_KEYS)).hexdigest()

    @staticmethod
    def from_json(data: Any) -> Ballot:
        """Parse a ballot; :class:`BallotError` names what is wrong (proofs are not checked)."""
        try:
            selections = tuple(
                Selection(
                    point(s["a"]), point(s["b"]), DisjunctiveChaumPedersen.from_json(s["proof"])
                )
                for s in data["selections"]
            )
            return Ballot(
                str(data["electionId"]),
                str(data["voter"]),
                str(data["ballotId"]),
                selections,
                ChaumPedersen.from_json(data["sumProof"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BallotError(f"malformed ballot: {exc}") from None


def encrypt_ballot(
    election_id: str, public_key: bytes, voter: str, options: int, choice: int
) -> Ballot:
    """Encrypt a vote for option ``choice`` (0-based) of ``options`` (the voter's device)."""
    if not 0 <= choice < options:
        raise BallotError(f"choice {choice} is not one of the {options} options")
    ballot_id = secrets.token_hex(8)
    context = f"{election_id}/{voter}/{ballot_id}"
    selections = []
    total_r = 0
    for j in range(options):
        m = int(j == choice)
        r = random_scalar()
        total_r += r
        a = base_mul(r)
        b = add(mul(r, public_key), GENERATOR) if m else mul(r, public_key)
        proof = DisjunctiveChaumPedersen.prove(m, r, a, b, public_key, f"{context}/option/{j}")
        selections.append(Selection(a, b, proof))
    draft = Ballot(election_id, voter, ballot_id, tuple(selections), None)  # type: ignore[arg-type]
    a, b = draft.totals()
    sum_proof = ChaumPedersen.prove(total_r, a, public_key, sub(b, GENERATOR), f"{context}/sum")
    return Ballot(election_id, voter, ballot_id, tuple(selections), sum_proof)
