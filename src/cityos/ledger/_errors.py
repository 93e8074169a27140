"""Errors raised by the ledger layer (part of the one hierarchy in :mod:`cityos.core.errors`)."""

from __future__ import annotations

from cityos.core.errors import CITYOS_PROBLEM_BASE, CityOSError


class LedgerError(CityOSError):
    """Base of ledger errors."""

    type_uri = CITYOS_PROBLEM_BASE + "LedgerError"
    title = "Ledger error"
    status = 400


class ProofError(LedgerError):
    """A Merkle proof is malformed or does not verify."""

    type_uri = CITYOS_PROBLEM_BASE + "InvalidProof"
    title = "Invalid proof"
    status = 422
