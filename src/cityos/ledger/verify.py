"""Offline verification of ledger documents (receipts, consistency proofs, whole exports).

Nothing here touches the database or the network: an auditor runs these on files, holding only the
log's verifier key. Every check raises :class:`~cityos.ledger._errors.ProofError` or
:class:`~cityos.ledger.signed_note.NoteError` with the reason; success returns a short report.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cityos.ledger._errors import ProofError
from cityos.ledger.checkpoint import Checkpoint, open_checkpoint
from cityos.ledger.hashing import leaf_hash
from cityos.ledger.merkle import MerkleTree
from cityos.ledger.proofs import verify_consistency, verify_inclusion
from cityos.ledger.receipts import (
    CONSISTENCY,
    EXPORT,
    RECEIPT,
    ConsistencyBundle,
    Export,
    Receipt,
    document_format,
)
from cityos.ledger.signed_note import Verifier


@dataclass(frozen=True)
class Report:
    """What a successful verification established."""

    kind: str
    origin: str
    size: int
    detail: str


def _verifier(embedded: str, trusted: str | None) -> Verifier:
    """The key to check signatures with: the trusted one, which the document must name."""
    key = Verifier.decode(trusted if trusted is not None else embedded)
    if trusted is not None and Verifier.decode(embedded) != key:
        raise ProofError("the document names another log key than the trusted one")
    return key


def verify_receipt(receipt: Receipt, trusted_key: str | None = None) -> Report:
    """Check the checkpoint signature and the entry's inclusion proof (RFC 9162 §2.1.3.2)."""
    key = _verifier(receipt.log_key, trusted_key)
    checkpoint, _ = open_checkpoint(receipt.checkpoint, key)
    verify_inclusion(
        leaf_hash(receipt.entry),
        receipt.index,
        checkpoint.size,
        receipt.proof,
        checkpoint.root_hash,
    )
    return Report(
        RECEIPT,
        checkpoint.origin,
        checkpoint.size,
        f"entry {receipt.index} is included in the signed tree of {checkpoint.size} entries",
    )


def verify_document_hash(receipt: Receipt, document: bytes) -> str:
    """Check that a notarisation receipt's entry names the SHA-256 of ``document``."""
    try:
        entry = json.loads(receipt.entry)
        tx = entry["tx"]
    except (ValueError, KeyError, TypeError):
        raise ProofError("the receipt's entry is not a ledger message") from None
    digest = hashlib.sha256(document).hexdigest()
    if not isinstance(tx, dict) or tx.get("type") != "notarise":
        raise ProofError("the receipt is not for a notarised document")
    if tx.get("sha256") != digest:
        raise ProofError(f"the document's SHA-256 {digest} is not the notarised one")
    return digest


def verify_consistency_bundle(bundle: ConsistencyBundle, trusted_key: str | None = None) -> Report:
    """Check both checkpoint signatures and the consistency proof (RFC 9162 §2.1.4.2)."""
    key = _verifier(bundle.log_key, trusted_key)
    old, _ = open_checkpoint(bundle.old, key)
    new, _ = open_checkpoint(bundle.new, key)
    verify_consistency(old.size, new.size, old.root_hash, new.root_hash, bundle.proof)
    return Report(
        CONSISTENCY,
        new.origin,
        new.size,
        f"the tree of {new.size} entries extends the tree of {old.size} entries",
    )


def verify_export(
    export: Export, trusted_key: str | None = None, known: str | None = None
) -> Report:
    """Recompute the tree from every entry and check it against every signed checkpoint.

    A modified, removed, reordered or inserted entry changes the root of every checkpoint from its
    position on, and the latest checkpoint must sign exactly the number of entries exported.
    ``known`` is a signed checkpoint the auditor kept from earlier: the export must extend it.
    """
    key = _verifier(export.log_key, trusted_key)
    if not export.checkpoints:
        raise ProofError("the export has no signed checkpoint")
    tree = MerkleTree(export.entries)
    previous: Checkpoint | None = None
    for note in export.checkpoints:
        checkpoint, _ = open_checkpoint(note, key)
        if previous is not None and checkpoint.size <= previous.size:
            raise ProofError("checkpoints are not in increasing tree-size order")
        if checkpoint.size > len(tree):
            raise ProofError(
                f"the checkpoint of size {checkpoint.size} signs more entries than the "
                f"{len(tree)} exported (entries were removed)"
            )
        if tree.root(checkpoint.size) != checkpoint.root_hash:
            raise ProofError(
                f"the entries do not reproduce the signed root of size {checkpoint.size} "
                "(an entry was modified, reordered, inserted or removed)"
            )
        previous = checkpoint
    assert previous is not None
    if previous.size != len(tree):
        raise ProofError(
            f"{len(tree)} entries exported but the latest checkpoint signs {previous.size} "
            "(entries were inserted or appended without a checkpoint)"
        )
    if known is not None:
        old, _ = open_checkpoint(known, key)
        if old.size > len(tree) or tree.root(old.size) != old.root_hash:
            raise ProofError(
                f"the export does not extend the known checkpoint of size {old.size} "
                "(the log's history was rewritten)"
            )
    return Report(
        EXPORT,
        previous.origin,
        previous.size,
        f"{len(tree)} entries reproduce all {len(export.checkpoints)} signed checkpoints",
    )


def verify_document(
    doc: Any,
    trusted_key: str | None = None,
    *,
    document: bytes | None = None,
    known: str | None = None,
) -> Report:
    """Verify any ledger document by its ``format``."""
    fmt = document_format(doc)
    if fmt == RECEIPT:
        receipt = Receipt.from_json(doc)
        report = verify_receipt(receipt, trusted_key)
        if document is not None:
            digest = verify_document_hash(receipt, document)
            report = Report(
                report.kind,
                report.origin,
                report.size,
                report.detail + f"; it notarises SHA-256 {digest}",
            )
        return report
    if fmt == CONSISTENCY:
        return verify_consistency_bundle(ConsistencyBundle.from_json(doc), trusted_key)
    assert fmt == EXPORT
    return verify_export(Export.from_json(doc), trusted_key, known)
