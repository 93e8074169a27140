"""The ``cityos`` command: one entry point with a sub-command per job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

import cityos
from cityos.core.logging import configure_logging
from cityos.core.settings import load_settings

#: Seconds open connections (SSE streams of map pages) get to finish when the server stops.
SHUTDOWN_GRACE_S = 3

app = typer.Typer(
    name="cityos",
    help="CityOS, an urban data operating system. Settings come from CITYOS_* variables.",
    no_args_is_help=True,
    add_completion=False,
)


def _run_server(application: Any, host: str, port: int) -> None:
    """Serve with uvicorn; on Ctrl-C or SIGTERM the hub's SSE streams (open map pages) are ended
    first, so the server stops at once instead of waiting for them."""
    import uvicorn

    from cityos.hub.subscriptions.service import subscriptions_of

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            subscriptions_of(application.state.hub).broadcaster.end_all()
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        application,
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
    Server(config).run()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (CITYOS_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (CITYOS_PORT).")] = None,
) -> None:
    """Run the API (NGSI-LD hub and every router) with uvicorn."""

    from cityos.app import create_app

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    host = host or settings.host
    port = port or settings.port
    typer.echo(f"CityOS {cityos.__version__} serving on http://{host}:{port}")
    _run_server(create_app(settings), host, port)


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
    from cityos.demo import map_url

    url = map_url(host, port)
    base = url.rstrip("/")
    typer.echo("")
    typer.echo(f"Control centre map: {url}")
    typer.echo(f"Scenarios:  {base}/scenarios   Citizen portal: {base}/portal")
    typer.echo(f"Hub ready: {base}/ngsi-ld/v1/entities?type=AirQualityObserved")
    typer.echo(f"API docs:  {base}/docs   (Ctrl-C stops)")

    from cityos.app import create_app
    from cityos.iot.live import start_live_fleet

    live = start_live_fleet(settings, typer.echo)  # simulated sensors over MQTT (docs/iot.md)
    try:
        _run_server(create_app(settings), host, port)
    finally:
        if live is not None:
            live.stop()


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
    except Exception as exc:  # a storage error: the load's transaction was rolled back
        bar.stop()
        typer.echo(
            f"error: the load failed and was rolled back, the hub is unchanged: "
            f"{type(exc).__name__}: {exc}",
            err=True,
        )
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


from cityos.privacy.cli import auth_app  # noqa: E402  (cityos auth ...: docs/privacy.md)

app.add_typer(auth_app)

from cityos.ledger.cli import ledger_app  # noqa: E402  (cityos ledger ...: docs/ledger.md)

app.add_typer(ledger_app)

# -- simulate: twin simulations ----------------------------------------------------------------
simulate_app = typer.Typer(
    name="simulate",
    help="Run twin simulations (mobility day, signal control in SUMO) and report their KPIs.",
    no_args_is_help=True,
)
app.add_typer(simulate_app)


@simulate_app.command("signals")
def simulate_signals(
    controller: Annotated[
        list[str], typer.Option(help="fixed, actuated or max-pressure; repeat to compare")
    ] = ["max-pressure"],  # noqa: B006
    seed: Annotated[int, typer.Option(help="Demand and SUMO seed")] = 1,
    duration: Annotated[float, typer.Option(help="Simulated time [s]")] = 3600.0,
    network: Annotated[str, typer.Option(help="city (Sejong 5-1 twin) or grid (3 x 3)")] = "city",
    cars_per_hour: Annotated[float, typer.Option(help="Car departures per hour")] = 1200.0,
    bus_headway: Annotated[float, typer.Option(help="BRT headway per direction [s]")] = 300.0,
    ambulance_at: Annotated[float, typer.Option(help="Ambulance departure [s]; < 0: none")] = 600.0,
    bus_priority: Annotated[
        bool, typer.Option(help="Green extension/early green for buses")
    ] = True,
    preemption: Annotated[bool, typer.Option(help="Emergency-vehicle pre-emption")] = True,
    mesoscopic: Annotated[bool, typer.Option(help="SUMO mesoscopic model (--mesosim)")] = False,
    plot: Annotated[Path | None, typer.Option(help="Write a PNG of queues over time")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the KPIs as JSON")] = False,
) -> None:
    """Simulate signal control in SUMO on the 5-1 network and report delay, queues, throughput,
    bus and ambulance travel times."""
    import json
    import tempfile

    from cityos.core.errors import CityOSError
    from cityos.twin.signals.control import CONTROLLERS, ControlParameters
    from cityos.twin.signals.demand import DemandSpec, generate_demand
    from cityos.twin.signals.simulation import plot_queues, prepare, simulate

    unknown = [c for c in controller if c not in CONTROLLERS]
    if unknown:
        typer.echo(f"error: unknown controller {unknown[0]!r}; known: {', '.join(CONTROLLERS)}",
                   err=True)  # fmt: skip
        raise typer.Exit(2)
    params = ControlParameters(bus_priority=bus_priority, preemption=preemption)
    bar = _twin_progress()
    reports = []
    try:
        spec = DemandSpec(
            duration_s=duration,
            cars_per_hour=cars_per_hour,
            bus_headway_s=bus_headway,
            ambulance_at_s=ambulance_at if 0 <= ambulance_at < duration else None,
        )
        spec.validate()
        with tempfile.TemporaryDirectory(prefix="cityos-signals-") as tmp, bar:
            net = prepare(network, Path(tmp))
            vehicles = generate_demand(net, spec, seed)
            for name in controller:
                task = bar.add_task(f"{name}", total=duration)
                report = simulate(
                    net, vehicles, name, duration, seed, params, mesoscopic,
                    progress=lambda now, _total, task=task: bar.update(task, completed=now),
                )  # fmt: skip
                reports.append(report)
    except CityOSError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    if json_out:
        typer.echo(json.dumps([r.as_dict() for r in reports], indent=2))
    else:
        for r in reports:
            typer.echo(
                f"{r.controller}: mean delay {r.mean_delay_s:.1f} s, queue mean {r.mean_queue:.1f}"
                f" max {r.max_queue} veh, throughput {r.throughput}/{r.vehicles}, bus travel "
                f"{_fmt_s(r.bus_travel_s)}, ambulance travel {_fmt_s(r.ambulance_travel_s)}"
                f" (red approaches {r.ambulance_red_approaches}), wall {r.wall_s:.1f} s"
            )
    if plot is not None:
        typer.echo(f"plot: {plot_queues(reports, plot)}")


def _fmt_s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} s"


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


# -- iot: MQTT agent and simulated sensor fleet (docs/iot.md) ----------------------------------
@app.command("iot-agent")
def iot_agent(
    mqtt_url: Annotated[str | None, typer.Option(help="Broker URL (CITYOS_MQTT_URL).")] = None,
    client_id: Annotated[
        str | None, typer.Option(help="MQTT client id (CITYOS_IOT_CLIENT_ID).")
    ] = None,
    tenant: Annotated[str, typer.Option(help="Tenant the devices live in.")] = "",
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: Ctrl-C).")
    ] = None,
) -> None:
    """Run the IoT agent: device messages from MQTT into the hub, commands to devices."""
    import time

    from cityos.hub.backends import open_hub
    from cityos.iot.agent import Agent, AgentConfig

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        config = AgentConfig(
            url=mqtt_url or settings.mqtt_url,
            client_id=client_id or settings.iot_client_id,
            tenant=tenant,
            batch_size=settings.iot_batch_size,
            queue_size=settings.iot_queue_size,
        )
        hub = open_hub(settings)
    except (ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    agent = Agent(hub, config).start()
    typer.echo(f"IoT agent {config.client_id} on {config.url} (Ctrl-C stops)")
    began = time.monotonic()
    try:
        while duration is None or time.monotonic() - began < duration:
            time.sleep(min(10.0, duration or 10.0))
            st = agent.stats
            typer.echo(
                f"received {st['received']} accepted {st['accepted']} rejected {st['rejected']} "
                f"dead letters {st['dead_letters']} duplicates {st['duplicates']} "
                f"connected {agent.connected.is_set()}"
            )
    except KeyboardInterrupt:
        pass
    finally:
        agent.stop()
        hub.storage.close()


iot_app = typer.Typer(
    name="iot",
    help="IoT devices: the simulated Sejong 5-1 sensor fleet.",
    no_args_is_help=True,
)
app.add_typer(iot_app)


@iot_app.command("simulate")
def iot_simulate(
    rate: Annotated[float, typer.Option(help="Messages per second, whole fleet")] = 20.0,
    duration: Annotated[float, typer.Option(help="Real seconds to run")] = 60.0,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second")] = 1.0,
    per_kind: Annotated[
        int | None, typer.Option(help="At most this many devices of each kind (default: all)")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed")] = 1,
    fault_rate: Annotated[float, typer.Option(help="Chance per report of a fault")] = 0.01,
    dust_after: Annotated[float, typer.Option(help="Fine-dust episode start [sim h]")] = 0.0,
    dust_hours: Annotated[float, typer.Option(help="Fine-dust episode length [h]")] = 6.0,
    fog: Annotated[bool, typer.Option(help="A fog morning (05-09 KST)")] = True,
    mqtt_url: Annotated[str | None, typer.Option(help="Broker URL (CITYOS_MQTT_URL).")] = None,
    tenant: Annotated[str, typer.Option(help="Tenant the devices are provisioned in.")] = "",
    agent: Annotated[bool, typer.Option(help="Also run the IoT agent in this process")] = False,
) -> None:
    """Provision the simulated fleet on the twin and publish its readings over MQTT."""
    from cityos.core.errors import CityOSError
    from cityos.hub.backends import open_hub
    from cityos.iot import registry, simulator
    from cityos.iot.agent import Agent, AgentConfig
    from cityos.iot.fleet import plan_fleet
    from cityos.twin.generator import generate

    settings = load_settings()
    configure_logging(settings.log_level, "console")
    url = mqtt_url or settings.mqtt_url
    try:
        config = simulator.SimulationConfig(
            rate=rate, duration_s=duration, speed=speed, seed=seed, fault_rate=fault_rate,
            dust_after_h=dust_after, dust_hours=dust_hours, fog=fog,
        )  # fmt: skip
        if per_kind is not None and per_kind < 1:
            raise ValueError("--per-kind must be at least 1")
        from cityos.iot.agent import parse_mqtt_url

        parse_mqtt_url(url)
        hub = open_hub(settings)
    except (ValueError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    running = None
    try:
        devices = plan_fleet(generate(), per_kind=per_kind, seed=seed)
        keys = registry.provision_fleet(hub, [d.spec() for d in devices], tenant)
        typer.echo(f"Provisioned {len(devices)} simulated devices on the 5-1 twin")
        if agent:
            agent_config = AgentConfig(url=url, client_id=settings.iot_client_id, tenant=tenant)
            running = Agent(hub, agent_config).start()
            if not running.wait_connected(10):
                typer.echo(f"warning: the agent is not connected to {url} yet", err=True)
        fleet = simulator.Fleet(devices, keys, config)

        def show(r: simulator.SimulationReport) -> None:
            line = f"  {r.elapsed_s:5.0f} s: sent {r.sent} ({r.rate:.0f}/s)"
            if running is not None:
                line += f", written {running.stats['accepted']}"
            typer.echo(line)

        report = simulator.run(fleet, url, progress=show)
        if running is not None:
            running.stop()
            st = running.stats
            typer.echo(
                f"Agent: accepted {st['accepted']}, dead letters {st['dead_letters']} "
                f"(out-of-range spikes), rejected {st['rejected']}, duplicates {st['duplicates']}"
            )
            running = None
    except CityOSError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    finally:
        if running is not None:
            running.stop()
        hub.storage.close()
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(report.by_kind.items()))
    typer.echo(
        f"Sent {report.sent} messages in {report.elapsed_s:.1f} s ({report.rate:.1f}/s; "
        f"{report.simulated_s / 3600:.2f} simulated h): {kinds}; "
        f"{report.faults} faults, {report.silent} silent reports"
    )


# -- vote: verifiable M-voting (docs/voting.md) ------------------------------------------------
vote_app = typer.Typer(
    name="vote",
    help="Verifiable M-voting: verify a published election record, or simulate an election.",
    no_args_is_help=True,
)
app.add_typer(vote_app)


@vote_app.command("verify")
def vote_verify(
    record: Annotated[Path, typer.Argument(help="The election record (JSON) to check.")],
) -> None:
    """Check every proof of an election record offline and recompute its tally (exit 1 if it
    does not verify, 2 if it cannot be read)."""
    import orjson

    from cityos.services.governance.voting.record import verify_record

    try:
        document = orjson.loads(record.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        typer.echo(f"error: cannot read {record}: {exc}", err=True)
        raise typer.Exit(2) from None
    result = verify_record(document)
    typer.echo(f"{result.ballots} ballots, {result.counted} counted (each voter's last)")
    for option, count in result.counts.items():
        typer.echo(f"  {option}: {count}")
    if not result.valid:
        for problem in result.problems:
            typer.echo(f"FAIL {problem}", err=True)
        raise typer.Exit(1)
    typer.echo("OK: every proof holds and the tally matches the ballots")


@vote_app.command("simulate")
def vote_simulate(
    out: Annotated[Path, typer.Option(help="Where to write the election record (JSON).")],
    voters: Annotated[int, typer.Option(min=1, help="Voters, one ballot each.")] = 1000,
    options: Annotated[
        list[str] | None, typer.Option("--option", help="An option (repeat; default yes/no).")
    ] = None,
    trustees: Annotated[int, typer.Option(min=1, help="Trustees holding key shares.")] = 3,
    threshold: Annotated[int, typer.Option(min=1, help="Trustees needed to decrypt.")] = 2,
    seed: Annotated[int, typer.Option(help="Seed of the simulated choices.")] = 1,
) -> None:
    """Run a whole election in one process — key ceremony, encrypted ballots, tally, threshold
    decryption — and write its record, for demonstrations and the verifier."""
    import random

    import orjson

    from cityos.services.governance.voting.ballots import encrypt_ballot
    from cityos.services.governance.voting.election import Election, ElectionError, Manifest
    from cityos.services.governance.voting.trustees import TrusteeError, key_ceremony

    names = tuple(options or ("yes", "no"))
    try:
        manifest = Manifest("referendum-" + str(seed), "Simulated referendum", names, trustees,
                            threshold)  # fmt: skip
        members, published = key_ceremony(trustees, threshold, manifest.election_id)
    except (ElectionError, TrusteeError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    election = Election(manifest, published)
    rng = random.Random(seed)
    with _twin_progress() as bar:
        task = bar.add_task("encrypt and cast ballots", total=voters)
        for n in range(voters):
            voter = f"voter-{n}"
            ballot = encrypt_ballot(manifest.election_id, election.public_key, voter, len(names),
                                    rng.randrange(len(names)))  # fmt: skip
            election.cast(ballot, voter)
            bar.advance(task)
    election.close()
    record = election.record(election.decrypt_with(members[:threshold]))
    out.write_bytes(orjson.dumps(record))
    counts = ", ".join(f"{t['option']} {t['count']}" for t in record["tally"])
    typer.echo(f"Wrote the record of {voters} ballots to {out}: {counts}")


@app.command()
def version() -> None:
    """Print the CityOS version."""
    typer.echo(cityos.__version__)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
