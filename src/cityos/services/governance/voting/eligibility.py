"""Who may vote: holders of valid city credentials, checked offline.

A voter registers for an election with their verifiable credentials (``vc+jwt``, issued by the
city's ``did:key`` through the ledger: residency, age over 65, ...). Each is verified with the
ledger's offline verifier — signature by the trusted issuer, validity period, revocation in the
signed status list — and must be about the voter (``credentialSubject.id`` is the voter's DID,
which is also their pseudonym on the ballot). A voter holding every required credential type is
eligible; the election's ballot box asks :class:`CredentialEligibility` at each cast.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from cityos.ledger.credentials import CredentialError, verify_credential
from cityos.services.governance.voting.election import ElectionError


class CredentialEligibility:
    """The eligibility rule of one election: the credential types a voter must hold."""

    def __init__(
        self,
        trusted_issuer: str,
        status_list: str | None,
        required: Sequence[str] = ("ResidencyCredential",),
    ) -> None:
        if not required:
            raise ElectionError("an eligibility rule names at least one credential type")
        self.trusted_issuer = trusted_issuer
        self.status_list = status_list
        self.required = frozenset(required)
        self._eligible: set[str] = set()
        self._lock = threading.Lock()

    def register(self, voter: str, credentials: Iterable[str]) -> None:
        """Verify ``voter``'s credentials and admit them, or raise ElectionError saying why."""
        held: set[str] = set()
        for n, token in enumerate(credentials):
            try:
                verified = verify_credential(token, self.trusted_issuer, self.status_list)
            except CredentialError as exc:
                raise ElectionError(f"credential {n}: {exc.detail}") from None
            if verified.subject != voter:
                raise ElectionError(f"credential {n} is about {verified.subject}, not the voter")
            held.add(verified.vc_type)
        missing = sorted(self.required - held)
        if missing:
            raise ElectionError(f"voter {voter!r} lacks {', '.join(missing)}")
        with self._lock:
            self._eligible.add(voter)

    def __call__(self, voter: str) -> bool:
        return voter in self._eligible
