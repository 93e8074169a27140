"""Trustees: a joint election key no single party knows, and threshold decryption.

Key generation is the joint-Feldman scheme (Pedersen 1991), as ElectionGuard's guardians do:
trustee ``i`` of ``n`` draws a polynomial ``P_i`` of degree ``k-1``, publishes commitments
``K_ij = g^(a_ij)`` to its coefficients with a Schnorr proof for each, and gives trustee ``l``
the share ``P_i(l)``, which ``l`` checks against the commitments. The election key is
``h = Π_i K_i0`` (secret ``s = Σ_i P_i(0)``, never assembled); trustee ``l`` holds
``S_l = Σ_i P_i(l)``, whose public image ``g^(S_l)`` anyone computes from the commitments.

Decryption needs any ``k`` trustees: each publishes ``D_l = A^(S_l)`` for the tally's ``A`` with a
Chaum-Pedersen proof that it used ``S_l``, and ``A^s = Π_l D_l^(λ_l)`` with the Lagrange
coefficients ``λ_l`` at 0 of the trustees present.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cityos.services.governance.voting.group import (
    IDENTITY,
    ORDER,
    add,
    base_mul,
    mul,
    random_scalar,
)
from cityos.services.governance.voting.proofs import ChaumPedersen, Schnorr


class TrusteeError(ValueError):
    """A share, commitment or decryption that does not check out, or too few trustees."""


@dataclass(frozen=True)
class TrusteeCommitments:
    """What trustee ``index`` publishes: ``g^(a_ij)`` for its coefficients, with proofs."""

    index: int
    commitments: tuple[bytes, ...]
    proofs: tuple[Schnorr, ...]

    def verify(self, election_id: str) -> bool:
        return len(self.commitments) == len(self.proofs) and all(
            proof.verify(c, f"{election_id}/trustee/{self.index}/coefficient/{j}")
            for j, (c, proof) in enumerate(zip(self.commitments, self.proofs, strict=True))
        )

    def image_of_share(self, at: int) -> bytes:
        """``g^(P_i(at))`` from the commitments alone."""
        out = IDENTITY
        power = 1
        for c in self.commitments:
            out = add(out, mul(power, c))
            power = power * at % ORDER
        return out


@dataclass
class Trustee:
    """One trustee's secrets: its polynomial and, after the exchange, its share ``S_l``."""

    index: int
    threshold: int
    election_id: str
    coefficients: list[int] = field(default_factory=list)
    share: int | None = None

    @staticmethod
    def create(index: int, threshold: int, election_id: str) -> Trustee:
        if index < 1 or threshold < 1:
            raise TrusteeError("trustee indices and the threshold start at 1")
        coefficients = [random_scalar() for _ in range(threshold)]
        return Trustee(index, threshold, election_id, coefficients)

    def commitments(self) -> TrusteeCommitments:
        images = tuple(base_mul(a) for a in self.coefficients)
        proofs = tuple(
            Schnorr.prove(a, image, f"{self.election_id}/trustee/{self.index}/coefficient/{j}")
            for j, (a, image) in enumerate(zip(self.coefficients, images, strict=True))
        )
        return TrusteeCommitments(self.index, images, proofs)

    def share_for(self, other: int) -> int:
        """``P_i(other)``, sent privately to trustee ``other``."""
        value, power = 0, 1
        for a in self.coefficients:
            value = (value + a * power) % ORDER
            power = power * other % ORDER
        return value

    def receive(self, shares: dict[int, int], published: Sequence[TrusteeCommitments]) -> None:
        """Check each trustee's share against its commitments, then keep their sum ``S_l``."""
        by_index = {c.index: c for c in published}
        total = 0
        for sender, value in shares.items():
            if base_mul(value) != by_index[sender].image_of_share(self.index):
                raise TrusteeError(f"trustee {sender} sent trustee {self.index} a wrong share")
            total = (total + value) % ORDER
        self.share = total

    def decrypt_share(self, a: bytes, context: str) -> PartialDecryption:
        """``A^(S_l)`` with a proof that the share behind ``g^(S_l)`` was used."""
        if self.share is None:
            raise TrusteeError(f"trustee {self.index} has not received its shares")
        d = mul(self.share, a)
        proof = ChaumPedersen.prove(self.share, base_mul(self.share), a, d, context)
        return PartialDecryption(self.index, d, proof)


@dataclass(frozen=True)
class PartialDecryption:
    """Trustee ``index``'s ``D = A^(S_index)`` with its Chaum-Pedersen proof."""

    index: int
    value: bytes
    proof: ChaumPedersen


def joint_key(published: Sequence[TrusteeCommitments]) -> bytes:
    """The election public key ``h = Π_i g^(a_i0)``."""
    key = IDENTITY
    for c in published:
        key = add(key, c.commitments[0])
    return key


def share_image(published: Sequence[TrusteeCommitments], index: int) -> bytes:
    """``g^(S_index)``: the public image of trustee ``index``'s share of the election secret."""
    out = IDENTITY
    for c in published:
        out = add(out, c.image_of_share(index))
    return out


def lagrange_at_zero(index: int, present: Sequence[int]) -> int:
    """The Lagrange coefficient of ``index`` at 0 over the trustees ``present``."""
    num, den = 1, 1
    for j in present:
        if j != index:
            num = num * j % ORDER
            den = den * (j - index) % ORDER
    return num * pow(den, -1, ORDER) % ORDER


def combine(
    partials: Sequence[PartialDecryption],
    a: bytes,
    published: Sequence[TrusteeCommitments],
    threshold: int,
    context: str,
) -> bytes:
    """``A^s`` from at least ``threshold`` verified partial decryptions of ``A``."""
    valid = {}
    for p in partials:
        if not p.proof.verify(share_image(published, p.index), a, p.value, context):
            raise TrusteeError(f"the partial decryption of trustee {p.index} does not verify")
        valid[p.index] = p
    if len(valid) < threshold:
        raise TrusteeError(f"{len(valid)} trustees decrypted; {threshold} are needed")
    present = sorted(valid)[:threshold]
    out = IDENTITY
    for index in present:
        out = add(out, mul(lagrange_at_zero(index, present), valid[index].value))
    return out


def key_ceremony(
    trustees: int, threshold: int, election_id: str
) -> tuple[list[Trustee], list[TrusteeCommitments]]:
    """Run the exchange among ``trustees`` in one process (tests, demos): their secrets and
    what they publish. In a real election each trustee runs its part on its own device."""
    if not 1 <= threshold <= trustees:
        raise TrusteeError(f"the threshold must be between 1 and {trustees}, not {threshold}")
    members = [Trustee.create(i, threshold, election_id) for i in range(1, trustees + 1)]
    published = [m.commitments() for m in members]
    for c in published:
        if not c.verify(election_id):
            raise TrusteeError(f"trustee {c.index}'s commitments do not verify")
    for receiver in members:
        receiver.receive({m.index: m.share_for(receiver.index) for m in members}, published)
    return members, published
