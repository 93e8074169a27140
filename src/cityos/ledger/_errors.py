"""Errors raised by the ledger layer (part of the one hierarchy in :mod:`cityos.core.errors`)."""

from __future__ import annotations

from cityos.core.errors import CITYOS_PROBLEM_BASE, CityOSError


class LedgerError(CityOSError):
    """Base of ledger errors."""

    type_uri = CITYOS_PROBLEM_BASE + "LedgerError"
    title = "Ledger error"
    status = 400

    def __init_subclass__(cls, **kwargs: object) -> None:
        """Each subclass gets its own problem type, named after the class, unless it sets one."""
        super().__init_subclass__(**kwargs)
        if "type_uri" not in cls.__dict__:
            cls.type_uri = CITYOS_PROBLEM_BASE + cls.__name__


class ProofError(LedgerError):
    """A Merkle proof is malformed or does not verify."""

    type_uri = CITYOS_PROBLEM_BASE + "InvalidProof"
    title = "Invalid proof"
    status = 422
