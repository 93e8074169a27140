"""``cityos ledger``: keys, export, receipts, audit, and the offline verifier."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from cityos.core.settings import load_settings

ledger_app = typer.Typer(
    name="ledger",
    help="The transparency log and what is built on it: export, receipts, notarisation, "
    "witnesses, audits, and the offline verifier.",
    no_args_is_help=True,
)


@contextmanager
def _ledger() -> Iterator[Any]:
    from cityos.hub.backends import open_storage
    from cityos.ledger.service import open_ledger

    settings = load_settings()
    try:
        storage = open_storage(settings.resolved_database_url())
    except (ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        yield open_ledger(storage, settings.data_dir)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        storage.close()


def _write(doc: dict[str, Any], out: Path | None) -> None:
    text = json.dumps(doc, indent=1)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n")
        typer.echo(f"Wrote {out}", err=True)


OutOption = Annotated[Path | None, typer.Option("--out", "-o", help="Write here (default stdout).")]


def _replayed(doc: Any, issuer: str) -> dict[str, int]:
    """Balances [minor units] of every account, recomputed from an export's entries alone."""
    from cityos.ledger.receipts import EXPORT, Export, document_format
    from cityos.ledger.replay import replay

    if document_format(doc) != EXPORT:
        raise typer.BadParameter("--issuer replays a whole export only")
    state = replay(Export.from_json(doc).entries, issuer)
    return {did: account.balance for did, account in state.accounts.items()}


@ledger_app.command("keygen")
def keygen() -> None:
    """Create the log and issuing keys under CITYOS_DATA_DIR (if absent); print the issuing DID
    and the log's verifier key."""
    from cityos.ledger.keys import key_path, load_keys

    settings = load_settings()
    existed = key_path(settings.data_dir).exists()
    try:
        keys = load_keys(settings.data_dir)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    from cityos.ledger.did import did_of

    state = "exists" if existed else "created"
    typer.echo(f"keys ({state}) in {key_path(settings.data_dir)}")
    typer.echo(f"issuing DID: {did_of(keys.issuer)}")
    typer.echo("log verifier key:")
    typer.echo(keys.log.verifier.encode())


@ledger_app.command("export")
def export(out: OutOption = None) -> None:
    """Export every entry and signed checkpoint (cityos-ledger-export/1 JSON)."""
    with _ledger() as ledger:
        _write(ledger.export().to_json(), out)


@ledger_app.command("receipt")
def receipt(
    seq: Annotated[int, typer.Argument(help="Entry index (from 0).")],
    size: Annotated[int | None, typer.Option(help="Tree size (default: latest).")] = None,
    out: OutOption = None,
) -> None:
    """Print an inclusion receipt of one entry (cityos-ledger-receipt/1 JSON)."""
    from cityos.core.errors import CityOSError

    with _ledger() as ledger:
        try:
            doc = ledger.receipt(seq, size).to_json()
        except CityOSError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from None
    _write(doc, out)


@ledger_app.command("consistency")
def consistency(
    old: Annotated[int, typer.Argument(help="Size of the older signed checkpoint.")],
    new: Annotated[
        int | None, typer.Argument(help="Size of the newer one (default: latest).")
    ] = None,
    out: OutOption = None,
) -> None:
    """Print a consistency proof between two checkpoints (cityos-ledger-consistency/1 JSON)."""
    from cityos.core.errors import CityOSError

    with _ledger() as ledger:
        try:
            doc = ledger.consistency(old, new).to_json()
        except CityOSError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from None
    _write(doc, out)


@ledger_app.command("notarise")
def notarise(
    file: Annotated[Path, typer.Argument(help="The document or dataset to notarise.")],
    title: Annotated[str | None, typer.Option(help="A title recorded with the hash.")] = None,
    out: OutOption = None,
) -> None:
    """Put a file's SHA-256 on the log and print its receipt (verify it with --document)."""
    import hashlib

    from cityos.core.errors import CityOSError

    try:
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
    except OSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    with _ledger() as ledger:
        try:
            outcome = ledger.notarise(digest, title)
            doc = ledger.receipt(outcome.seq or 0).to_json()
        except CityOSError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"notarised SHA-256 {digest} as entry {outcome.seq} ({outcome.status})", err=True)
    _write(doc, out)


@ledger_app.command("anchor")
def anchor(
    witness_dir: Annotated[
        Path, typer.Argument(help="Directory of a file witness (created with its key if absent).")
    ],
    out: OutOption = None,
) -> None:
    """Publish the latest checkpoint to a file witness; print it cosigned (cosignature/v1)."""
    from cityos.core.errors import CityOSError
    from cityos.ledger.anchors import FileWitness

    try:
        witness = FileWitness(witness_dir)
    except (OSError, ValueError, KeyError) as exc:
        typer.echo(f"error: unusable witness directory {witness_dir}: {exc}", err=True)
        raise typer.Exit(2) from None
    with _ledger() as ledger:
        try:
            cosigned = ledger.publish(witness)
        except CityOSError as exc:
            typer.echo(f"FAILED: {exc.detail}", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"witness key: {witness.verifier.encode()}", err=True)
    if out is None:
        typer.echo(cosigned, nl=False)
    else:
        out.write_text(cosigned)


@ledger_app.command("anchor-audit")
def anchor_audit() -> None:
    """Check the privacy audit trail against its anchored heads, then anchor its current head."""
    from cityos.core.errors import CityOSError
    from cityos.ledger.audit_anchor import anchor_audit_head, check_audit_against_anchors

    with _ledger() as ledger:
        try:
            checked = check_audit_against_anchors(ledger, ledger.db.storage)
            outcome = anchor_audit_head(ledger, ledger.db.storage)
        except CityOSError as exc:
            typer.echo(f"FAILED: {exc.detail}", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"{checked} anchored heads still hold")
    if outcome is None:
        typer.echo("the audit trail is empty: nothing to anchor")
    else:
        typer.echo(f"audit head anchored as log entry {outcome.seq} ({outcome.status})")


@ledger_app.command("audit")
def audit() -> None:
    """Recompute the stored log and balances and check them against the signed checkpoints."""
    from cityos.core.errors import CityOSError

    with _ledger() as ledger:
        try:
            report = ledger.audit()
        except CityOSError as exc:
            typer.echo(f"FAILED: {exc.detail}", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"OK: {report}")


@ledger_app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="A receipt, consistency proof or log export.")],
    key: Annotated[
        str | None,
        typer.Option(help="The log's verifier key to trust (default: the one in the file)."),
    ] = None,
    document: Annotated[
        Path | None, typer.Option(help="For a notarisation receipt: the document it notarises.")
    ] = None,
    known: Annotated[
        Path | None,
        typer.Option(help="For an export: a signed checkpoint kept earlier that it must extend."),
    ] = None,
    issuer: Annotated[
        str | None,
        typer.Option(
            help="For an export: the city's issuing did:key; replays every entry (signatures, "
            "nonces, limits, caps) and prints the recomputed balances."
        ),
    ] = None,
) -> None:
    """Verify a ledger document offline (no database, no network). Exit 1 if it fails."""
    from cityos.core.errors import CityOSError
    from cityos.ledger.verify import verify_document

    try:
        doc = json.loads(file.read_text())
        blob = document.read_bytes() if document is not None else None
        known_note = known.read_text() if known is not None else None
    except (OSError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        report = verify_document(doc, key, document=blob, known=known_note)
        balances = _replayed(doc, issuer) if issuer is not None else None
    except CityOSError as exc:
        typer.echo(f"FAILED: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    if balances is not None:
        for did, balance in sorted(balances.items()):
            typer.echo(f"{did} {balance}")
    if key is None:
        typer.echo("warning: trusting the log key inside the file; pin it with --key", err=True)
    typer.echo(f"OK ({report.kind}, {report.origin}): {report.detail}")


@ledger_app.command("verify-credential")
def verify_credential_command(
    file: Annotated[Path, typer.Argument(help="A city credential (vc+jwt compact JWS).")],
    issuer: Annotated[str, typer.Option(help="The city's issuing did:key to trust.")],
    status: Annotated[
        Path | None, typer.Option(help="The signed status list credential (for revocation).")
    ] = None,
) -> None:
    """Verify a verifiable credential offline: signature, issuer, validity, revocation."""
    from cityos.core.errors import CityOSError
    from cityos.ledger.credentials import verify_credential

    try:
        token = file.read_text().strip()
        status_list = status.read_text().strip() if status is not None else None
    except OSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        found = verify_credential(token, issuer, status_list)
    except CityOSError as exc:
        typer.echo(f"FAILED: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"OK: {found.vc_type} of {found.subject}: {json.dumps(found.claims)}")


@ledger_app.command("issue-credential")
def issue_credential(
    kind: Annotated[str, typer.Argument(help="residency, age_over_65 or disability_support")],
    subject: Annotated[str, typer.Argument(help="The holder's did:key.")],
    days: Annotated[int, typer.Option(help="Validity [days], 1-3650.")] = 365,
    out: OutOption = None,
) -> None:
    """Issue a verifiable credential (vc+jwt) signed by the city's issuing key."""
    from cityos.core.errors import CityOSError

    with _ledger() as ledger:
        try:
            token = ledger.credentials.issue(kind, subject, valid_days=days)
        except CityOSError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(2) from None
    if out is None:
        typer.echo(token)
    else:
        out.write_text(token + "\n")


@ledger_app.command("revoke-credential")
def revoke_credential(
    index: Annotated[int, typer.Argument(help="The credential's status list index.")],
) -> None:
    """Revoke a credential: a log entry, then its bit in the status list."""
    from cityos.core.errors import CityOSError

    with _ledger() as ledger:
        try:
            outcome = ledger.revoke_credential(index)
        except CityOSError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from None
    typer.echo(f"credential {index} revoked (log entry {outcome.seq}, {outcome.status})")


@ledger_app.command("status-list")
def status_list(out: OutOption = None) -> None:
    """Print the signed status list credential (for verify-credential --status)."""
    with _ledger() as ledger:
        token = ledger.credentials.status_list()
    if out is None:
        typer.echo(token)
    else:
        out.write_text(token + "\n")
