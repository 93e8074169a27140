"""Ledger layer: a verifiable transparency log (RFC 9162 Merkle tree) and what is built on it.

The log is the design used by Certificate Transparency, Sigstore and Go's checksum database: an
append-only Merkle tree whose signed tree head anyone can check offline.  The ledger may use the hub
below it; the hub never imports the ledger.
"""

from __future__ import annotations
