"""The ``cityos`` command: one entry point with a sub-command per job."""

from __future__ import annotations

from typing import Annotated

import typer

import cityos
from cityos.core.logging import configure_logging
from cityos.core.settings import load_settings

app = typer.Typer(
    name="cityos",
    help="CityOS, an urban data operating system. Settings come from CITYOS_* variables.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (CITYOS_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (CITYOS_PORT).")] = None,
) -> None:
    """Run the API (NGSI-LD hub and every router) with uvicorn."""
    import uvicorn

    from cityos.app import create_app

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    host = host or settings.host
    port = port or settings.port
    typer.echo(f"CityOS {cityos.__version__} serving on http://{host}:{port}")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="Address to bind (CITYOS_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (CITYOS_PORT).")] = None,
    seed_only: Annotated[
        bool, typer.Option("--seed-only", help="Seed the sample city and exit without serving.")
    ] = False,
) -> None:
    """Seed the sample 5-1 city into the hub (SQLite under CITYOS_DATA_DIR), then serve it."""
    from cityos.demo import seed
    from cityos.hub.backends import open_hub

    settings = load_settings()
    configure_logging(settings.log_level, "console")
    try:
        hub = open_hub(settings)
    except (ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        count = seed(hub)
    finally:
        hub.storage.close()
    typer.echo(
        f"Seeded {count} sample entities of Sejong 5-1 into {settings.resolved_database_url()}"
    )
    if seed_only:
        return
    host = host or settings.host
    port = port or settings.port
    base = f"http://{host}:{port}"
    typer.echo(f"Hub ready: {base}/ngsi-ld/v1/entities?type=AirQualityObserved")
    typer.echo(f"API docs:  {base}/docs   (Ctrl-C stops)")
    import uvicorn

    from cityos.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


@app.command()
def version() -> None:
    """Print the CityOS version."""
    typer.echo(cityos.__version__)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
