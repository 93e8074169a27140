"""The ``cityos`` command: one entry point with a sub-command per job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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
        bool, typer.Option("--seed-only", help="Seed the twin and exit without serving.")
    ] = False,
) -> None:
    """Seed the generated 5-1 twin into the hub (SQLite under CITYOS_DATA_DIR), then serve it."""
    from cityos.core.errors import CityOSError
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
        counts = seed(hub, progress=lambda line: typer.echo(f"  twin: {line}"))
    except CityOSError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        hub.storage.close()
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    typer.echo(
        f"Seeded {sum(counts.values())} entities of Sejong 5-1 (generated twin and sample "
        f"observations) into {settings.resolved_database_url()}: {summary}"
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


twin_app = typer.Typer(
    name="twin",
    help="The digital twin: generate the Sejong 5-1 city model, import OpenStreetMap cities.",
    no_args_is_help=True,
)
app.add_typer(twin_app)


def _twin_progress() -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
    )


def _twin_load(entities: list[dict[str, Any]], tenant: str, bar: Any) -> None:
    """Load entities into the hub of the settings, with a progress bar; exit 1 on failure."""
    from cityos.core.errors import CityOSError
    from cityos.hub.backends import open_hub
    from cityos.twin.loader import load_entities

    settings = load_settings()
    try:
        hub = open_hub(settings)
    except (ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    task = bar.add_task("load into the hub", total=len(entities))
    try:
        report = load_entities(
            hub, entities, tenant=tenant, progress=lambda n, _t: bar.update(task, completed=n)
        )
    except CityOSError as exc:
        bar.stop()
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        hub.storage.close()
    bar.console.print(
        f"Loaded {report.written} entities ({report.created} new) into "
        f"{settings.resolved_database_url()} tenant {tenant or '(default)'} "
        f"in {report.seconds:.1f} s ({report.rate:,.0f}/s)"
    )


@twin_app.command("generate")
def twin_generate(
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same city.")] = 51,
    population: Annotated[int | None, typer.Option(help="Residents (default 20,164).")] = None,
    households: Annotated[int | None, typer.Option(help="Households (default 8,714).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Export directory (default $CITYOS_DATA_DIR/twin).")
    ] = None,
    load: Annotated[bool, typer.Option("--load/--no-load", help="Load into the hub.")] = True,
    tenant: Annotated[str, typer.Option(help="Hub tenant to load into (default tenant).")] = "",
) -> None:
    """Generate the Sejong 5-1 twin, write its exports and load it into the hub."""
    from cityos.core.errors import CityOSError
    from cityos.twin.export_geojson import write_exports
    from cityos.twin.generator import count_by_type, generate
    from cityos.twin.site import GeneratorParameters

    defaults = GeneratorParameters()
    params = GeneratorParameters(
        seed=seed,
        population=defaults.population if population is None else population,
        households=defaults.households if households is None else households,
    )
    out_dir = out or load_settings().data_dir / "twin"
    with _twin_progress() as bar:
        task = bar.add_task("generate", total=1.0)

        def step(stage: str, done: float) -> None:
            bar.update(task, completed=done, description=f"generate: {stage}")

        try:
            city = generate(params, progress=step)
        except CityOSError as exc:
            bar.stop()
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(2) from None
        entities = city.entities()
        export = bar.add_task("export", total=1)
        paths = write_exports(city, entities, out_dir)
        bar.update(export, completed=1)
        counts = ", ".join(f"{n} {t}" for t, n in count_by_type(entities).items())
        bar.console.print(f"Generated {len(entities)} entities (seed {seed}): {counts}")
        bar.console.print(f"Wrote {len(paths)} export files to {out_dir}")
        if load:
            _twin_load(entities, tenant, bar)


@twin_app.command("import-osm")
def twin_import_osm(
    file: Annotated[Path, typer.Argument(help="An OpenStreetMap .osm.pbf (or .osm) file.")],
    site: Annotated[str, typer.Option(help="Site code used in entity ids.")] = "osm",
    out: Annotated[Path | None, typer.Option(help="Also write GeoJSON layers here.")] = None,
    load: Annotated[bool, typer.Option("--load/--no-load", help="Load into the hub.")] = True,
    tenant: Annotated[str, typer.Option(help="Hub tenant to load into (default tenant).")] = "",
) -> None:
    """Import roads and buildings of another city from an OpenStreetMap extract."""
    from cityos.twin.export_geojson import write_geojson
    from cityos.twin.osm_import import OsmImportError, read_osm

    try:
        result = read_osm(file, site=site)
    except OsmImportError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    kinds = {t: sum(e["type"] == t for e in result.entities) for t in ("RoadSegment", "Building")}
    typer.echo(
        f"Read {kinds['RoadSegment']} roads and {kinds['Building']} buildings from {file.name}"
        + (f"; skipped {dict(sorted(result.skipped.items()))}" if result.skipped else "")
    )
    if out is not None:
        write_geojson(result.entities, out)
        typer.echo(f"Wrote GeoJSON layers to {out}")
    if load and result.entities:
        with _twin_progress() as bar:
            _twin_load(result.entities, tenant, bar)


hub_app = typer.Typer(name="hub", help="Hub maintenance: history retention.", no_args_is_help=True)
app.add_typer(hub_app)


@hub_app.command("purge-history")
def hub_purge_history(
    tenant: Annotated[
        list[str] | None,
        typer.Option(
            "--tenant",
            help="Only this tenant ('' is the default tenant); repeatable. Default: every tenant.",
        ),
    ] = None,
    before: Annotated[
        str | None,
        typer.Option(
            help="Delete history recorded before this ISO 8601 instant instead of applying "
            "the retention settings (CITYOS_TEMPORAL_RETENTION_DAYS and overrides)."
        ),
    ] = None,
) -> None:
    """Delete expired temporal history now (the server also does it periodically)."""
    from cityos.core.errors import CityOSError
    from cityos.core.timeutil import now_iso
    from cityos.hub.backends import open_hub
    from cityos.hub.temporal.instants import parse_instant
    from cityos.hub.temporal.service import TemporalService

    settings = load_settings()
    configure_logging(settings.log_level, "console")
    try:
        hub = open_hub(settings)
    except (ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        service = TemporalService(hub)
        tenants = tenant if tenant is not None else hub.storage.tenants()
        now = parse_instant(now_iso(), "now")
        cutoff = parse_instant(before, "--before") if before is not None else None
        total = 0
        for name in tenants:
            if cutoff is not None:
                moment = cutoff
            else:
                days = settings.retention_days(name)
                if days <= 0:
                    typer.echo(f"tenant {name or '(default)'}: kept forever")
                    continue
                moment = now - int(days * 86_400_000_000)
            count = service.purge(name, moment)
            total += count
            typer.echo(f"tenant {name or '(default)'}: {count} history instances purged")
        typer.echo(f"Purged {total} history instances")
    except CityOSError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        hub.storage.close()


# -- mobility simulation -------------------------------------------------------------------------
simulate_app = typer.Typer(
    name="simulate",
    help="Run twin simulations and write their KPIs to the hub.",
    no_args_is_help=True,
)
app.add_typer(simulate_app)


@simulate_app.command("mobility")
def simulate_mobility(
    scenario: Annotated[
        list[str],
        typer.Option(help="Scenario name or YAML file; repeat to compare (baseline always runs)."),
    ],
    seed: Annotated[int, typer.Option(help="Random seed; scenario + seed reproduce a run.")] = 1,
    population: Annotated[int | None, typer.Option(help="Residents (default 20,164).")] = None,
    households: Annotated[int | None, typer.Option(help="Households (default 8,714).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output directory (default $CITYOS_DATA_DIR/mobility).")
    ] = None,
    hub: Annotated[bool, typer.Option("--hub/--no-hub", help="Write the KPIs to the hub.")] = True,
    tenant: Annotated[str, typer.Option(help="Hub tenant for the KPIs.")] = "",
) -> None:
    """Simulate a weekday of 5-1 mobility per scenario: KPIs, plots, comparison table."""
    from cityos.core.errors import CityOSError
    from cityos.services.mobility.drt.twin_adapter import dispatch_shuttles
    from cityos.twin.mobility.runner import run_scenarios
    from cityos.twin.mobility.scenario import load_scenario
    from cityos.twin.site import GeneratorParameters

    try:
        models = [load_scenario(s) for s in scenario]
    except CityOSError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    defaults = GeneratorParameters()
    params = defaults.replace(
        population=population or defaults.population,
        households=households or defaults.households,
    )
    settings = load_settings()
    out_dir = out or settings.data_dir / "mobility"
    the_hub = None
    if hub:
        from cityos.hub.backends import open_hub

        the_hub = open_hub(settings)
    try:
        with _twin_progress() as bar:
            task = bar.add_task("simulate", total=1.0)
            report = run_scenarios(
                models,
                seed,
                dispatcher=dispatch_shuttles,
                params=params,
                hub=the_hub,
                tenant=tenant,
                out_dir=out_dir,
                progress=lambda s, f: bar.update(task, completed=f, description=s[:28]),
            )
    except (CityOSError, ValueError) as exc:
        typer.echo(f"error: {getattr(exc, 'detail', exc)}", err=True)
        raise typer.Exit(1) from None
    finally:
        if the_hub is not None:
            the_hub.storage.close()
    typer.echo(report.table)
    typer.echo(f"Wrote {len(report.files)} files to {out_dir}")
    if report.load is not None:
        typer.echo(f"Wrote {report.load.written} KPI entities to the hub")


@app.command()
def version() -> None:
    """Print the CityOS version."""
    typer.echo(cityos.__version__)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
