"""Non-interactive zero-knowledge proofs (Fiat-Shamir) over ristretto255.

* :class:`Schnorr` — knowledge of ``x`` with ``X = g^x`` (a trustee knows its coefficients);
* :class:`ChaumPedersen` — equality of discrete logs: ``X = g^x`` and ``Y = H^x`` for a public
  ``H`` (a ciphertext encrypts a given value; a partial decryption used the trustee's share);
* :class:`DisjunctiveChaumPedersen` — an ElGamal ciphertext ``(A, B)`` under key ``h`` encrypts
  0 or 1, without telling which (the classic CDS OR-proof of two Chaum-Pedersen statements).

Every challenge hashes a context string (the election and the statement's place in it), so a
proof cannot be replayed in another election or for another option.
"""

from __future__ import annotations

from dataclasses import dataclass

from cityos.services.governance.voting.group import (
    GENERATOR,
    ORDER,
    add,
    base_mul,
    hash_to_scalar,
    mul,
    point,
    random_scalar,
    scalar,
    sub,
)


@dataclass(frozen=True)
class Schnorr:
    """Proof of knowledge of ``x`` in ``X = g^x``: commitment ``t = g^w``, response ``w + c x``."""

    commitment: bytes
    response: int

    @staticmethod
    def prove(x: int, big_x: bytes, context: str) -> Schnorr:
        w = random_scalar()
        t = base_mul(w)
        c = hash_to_scalar(context, GENERATOR, big_x, t)
        return Schnorr(t, (w + c * x) % ORDER)

    def verify(self, big_x: bytes, context: str) -> bool:
        c = hash_to_scalar(context, GENERATOR, big_x, self.commitment)
        return base_mul(self.response) == add(self.commitment, mul(c, big_x))

    def to_json(self) -> dict[str, str]:
        return {"commitment": self.commitment.hex(), "response": _hex(self.response)}

    @staticmethod
    def from_json(data: dict[str, str]) -> Schnorr:
        return Schnorr(point(data["commitment"]), scalar(data["response"]))


@dataclass(frozen=True)
class ChaumPedersen:
    """Proof that ``log_g X = log_H Y``: commitments ``(g^w, H^w)``, challenge, response."""

    a: bytes
    b: bytes
    response: int

    @staticmethod
    def prove(x: int, big_x: bytes, h: bytes, big_y: bytes, context: str) -> ChaumPedersen:
        w = random_scalar()
        a, b = base_mul(w), mul(w, h)
        c = hash_to_scalar(context, big_x, h, big_y, a, b)
        return ChaumPedersen(a, b, (w + c * x) % ORDER)

    def verify(self, big_x: bytes, h: bytes, big_y: bytes, context: str) -> bool:
        c = hash_to_scalar(context, big_x, h, big_y, self.a, self.b)
        return base_mul(self.response) == add(self.a, mul(c, big_x)) and mul(
            self.response, h
        ) == add(self.b, mul(c, big_y))

    def to_json(self) -> dict[str, str]:
        return {"a": self.a.hex(), "b": self.b.hex(), "response": _hex(self.response)}

    @staticmethod
    def from_json(data: dict[str, str]) -> ChaumPedersen:
        return ChaumPedersen(point(data["a"]), point(data["b"]), scalar(data["response"]))


@dataclass(frozen=True)
class DisjunctiveChaumPedersen:
    """Proof that ``(A, B) = (g^r, g^m h^r)`` with ``m`` in {0, 1}.

    Branch ``j`` claims ``(A, B / g^j)`` is a Diffie-Hellman tuple with ``h``; the real branch
    is proven, the other simulated, and the two challenges must add up to the hash.
    """

    commitments: tuple[tuple[bytes, bytes], tuple[bytes, bytes]]
    challenges: tuple[int, int]
    responses: tuple[int, int]

    @staticmethod
    def prove(
        m: int, r: int, a: bytes, b: bytes, h: bytes, context: str
    ) -> DisjunctiveChaumPedersen:
        if m not in (0, 1):
            raise ValueError("the disjunctive proof covers the values 0 and 1 only")
        targets = (b, sub(b, GENERATOR))
        fake = 1 - m
        c_fake, v_fake = random_scalar(), random_scalar()
        commitments: list[tuple[bytes, bytes]] = [(b"", b""), (b"", b"")]
        # Simulated branch: pick challenge and response, solve for the commitments.
        commitments[fake] = (
            sub(base_mul(v_fake), mul(c_fake, a)),
            sub(mul(v_fake, h), mul(c_fake, targets[fake])),
        )
        w = random_scalar()
        commitments[m] = (base_mul(w), mul(w, h))
        c = hash_to_scalar(context, h, a, b, *commitments[0], *commitments[1])
        c_real = (c - c_fake) % ORDER
        v_real = (w + c_real * r) % ORDER
        challenges = [0, 0]
        responses = [0, 0]
        challenges[m], responses[m] = c_real, v_real
        challenges[fake], responses[fake] = c_fake, v_fake
        return DisjunctiveChaumPedersen(
            (commitments[0], commitments[1]),
            (challenges[0], challenges[1]),
            (responses[0], responses[1]),
        )

    def verify(self, a: bytes, b: bytes, h: bytes, context: str) -> bool:
        targets = (b, sub(b, GENERATOR))
        c = hash_to_scalar(context, h, a, b, *self.commitments[0], *self.commitments[1])
        if (self.challenges[0] + self.challenges[1]) % ORDER != c:
            return False
        for (t_a, t_b), c_j, v_j, target in zip(
            self.commitments, self.challenges, self.responses, targets, strict=True
        ):
            if base_mul(v_j) != add(t_a, mul(c_j, a)) or mul(v_j, h) != add(t_b, mul(c_j, target)):
                return False
        return True

    def to_json(self) -> dict[str, list[str]]:
        return {
            "commitments": [p.hex() for pair in self.commitments for p in pair],
            "challenges": [_hex(c) for c in self.challenges],
            "responses": [_hex(v) for v in self.responses],
        }

    @staticmethod
    def from_json(data: dict[str, list[str]]) -> DisjunctiveChaumPedersen:
        points = [point(p) for p in data["commitments"]]
        if len(points) != 4 or len(data["challenges"]) != 2 or len(data["responses"]) != 2:
            raise ValueError("a disjunctive proof has 4 commitments, 2 challenges, 2 responses")
        c0, c1 = (scalar(c) for c in data["challenges"])
        v0, v1 = (scalar(v) for v in data["responses"])
        return DisjunctiveChaumPedersen(
            ((points[0], points[1]), (points[2], points[3])), (c0, c1), (v0, v1)
        )


def _hex(k: int) -> str:
    return (k % ORDER).to_bytes(32, "little").hex()
