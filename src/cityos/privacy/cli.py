"""``cityos auth``: the city's token issuer on the command line (keys and access tokens)."""

from __future__ import annotations

from typing import Annotated

import typer

from cityos.core.settings import load_settings

auth_app = typer.Typer(
    name="auth", help="Access tokens: issuer keys and tokens for operators.", no_args_is_help=True
)


@auth_app.command("keygen")
def keygen(
    rotate: Annotated[
        bool, typer.Option("--rotate", help="Add a new signing key (older ones still verify).")
    ] = False,
) -> None:
    """Create the issuer's signing key under CITYOS_DATA_DIR (or rotate it); prints its kid."""
    from cityos.privacy.keys import key_path, load_keys

    settings = load_settings()
    existed = key_path(settings.data_dir).exists()
    try:
        keys = load_keys(settings.data_dir)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if rotate and existed:
        keys.rotate()
    state = "rotated" if rotate and existed else ("created" if not existed else "exists")
    typer.echo(f"issuer key {keys.signing_key.kid} ({state}) in {keys.path}")


@auth_app.command("token")
def token(
    subject: Annotated[str, typer.Option(help="The token's subject (sub): who it is for.")],
    role: Annotated[
        list[str],
        typer.Option(
            help="Role: citizen, operator, service, data_buyer, auditor, device (repeatable)."
        ),
    ],
    scope: Annotated[
        list[str] | None,
        typer.Option(
            help="Scope operation[:tenant[:type]] (repeatable); default: the roles' scopes."
        ),
    ] = None,
    org: Annotated[
        str | None, typer.Option(help="Organisation acting (consent recipient).")
    ] = None,
    ttl: Annotated[int | None, typer.Option(help="Lifetime [s] (CITYOS_AUTH_TOKEN_TTL_S).")] = None,
) -> None:
    """Mint a signed access token and print it (only the token, for scripts)."""
    from cityos.privacy.keys import load_keys
    from cityos.privacy.tokens import mint_token

    settings = load_settings()
    try:
        keys = load_keys(settings.data_dir)
        text = mint_token(
            keys, settings, subject=subject, roles=role, scopes=scope, org=org, ttl_s=ttl
        )
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(text)
