"""Run a SUMO simulation under a signal controller and report its KPIs.

The simulation runs in process with ``libsumo`` (one at a time per process). KPIs come from
SUMO's trip information (``timeLoss`` is the delay against free-flow travel, SUMO
``--tripinfo-output``) and from queues sampled every ``sample_s``: the halting vehicles on every
lane that approaches a signal.
"""

from __future__ import annotations

import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cityos.core.errors import BadRequestData
from cityos.twin.signals.control import CONTROLLERS, ControlParameters, SignalController
from cityos.twin.signals.demand import Vehicle, write_routes
from cityos.twin.signals.export import sumo_binary


class SignalSimulationError(BadRequestData):
    """Bad simulation parameters, or SUMO refused the inputs."""


#: Called with (simulation time [s], duration [s]).
Progress = Callable[[float, float], None]


@dataclass
class SignalReport:
    """KPIs of one run.

    Attributes
    ----------
    demand, vehicles
        Vehicles in the demand, and those SUMO inserted before the end.
    mean_delay_s
        Mean time loss of the vehicles that arrived [s] (SUMO ``timeLoss``).
    mean_queue, max_queue
        Halting vehicles on signal approaches, mean and maximum over the samples [veh].
    throughput
        Vehicles that reached their destination.
    bus_travel_s, bus_delay_s
        Mean travel time and time loss of the buses that arrived [s].
    ambulance_travel_s, ambulance_delay_s
        Travel time and time loss of the first ambulance [s] (``None`` if it did not arrive).
    """

    controller: str
    seed: int
    duration_s: float
    mesoscopic: bool
    demand: int
    vehicles: int
    throughput: int
    mean_delay_s: float
    mean_queue: float
    max_queue: int
    bus_travel_s: float | None
    bus_delay_s: float | None
    ambulance_travel_s: float | None
    ambulance_delay_s: float | None
    ambulance_red_approaches: int
    teleports: int
    wall_s: float
    queue_series: list[tuple[float, int]] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The KPIs without the queue series."""
        body = asdict(self)
        body.pop("queue_series")
        return body


def actuated_programs(net_file: Path, out: Path, min_green_s: float = 5.0,
                      max_green_s: float = 50.0) -> Path:  # fmt: skip
    """Write an additional file with an ``actuated`` copy of every static program of the net.

    Same phases; green phases get ``minDur``/``maxDur`` so SUMO's gap-based actuation
    (https://sumo.dlr.de/docs/Simulation/Traffic_Lights.html#actuated_traffic_lights) extends
    or ends them by detector gaps.
    """
    root = ET.parse(net_file).getroot()
    add = ET.Element("additional")
    for logic in root.iter("tlLogic"):
        copy = ET.SubElement(add, "tlLogic", id=logic.get("id", ""), type="actuated",
                             programID="actuated", offset="0")  # fmt: skip
        for phase in logic.iter("phase"):
            attrs = {"duration": phase.get("duration", "5"), "state": phase.get("state", "")}
            if "y" not in attrs["state"] and any(c in "Gg" for c in attrs["state"]):
                attrs |= {"minDur": f"{min_green_s:g}", "maxDur": f"{max_green_s:g}"}
            ET.SubElement(copy, "phase", attrs)
    ET.ElementTree(add).write(out, encoding="unicode")
    return out


def simulate(
    net_file: Path,
    vehicles: Sequence[Vehicle],
    controller: str = "max-pressure",
    duration_s: float = 3600.0,
    seed: int = 0,
    params: ControlParameters | None = None,
    mesoscopic: bool = False,
    progress: Progress | None = None,
    sample_s: float = 10.0,
    workdir: Path | None = None,
) -> SignalReport:
    """Simulate ``vehicles`` on ``net_file`` for ``duration_s`` under ``controller``.

    Raises :class:`SignalSimulationError` for an unknown controller, a non-positive duration, a
    missing network or a network/demand that SUMO rejects (with SUMO's message).
    """
    if controller not in CONTROLLERS:
        raise SignalSimulationError(
            f"unknown controller {controller!r}; known: {', '.join(CONTROLLERS)}"
        )
    if not duration_s > 0:
        raise SignalSimulationError(f"duration must be positive, got {duration_s} s")
    if not Path(net_file).is_file():
        raise SignalSimulationError(f"network file {net_file} does not exist")
    _check_net(Path(net_file))
    params = params or ControlParameters()
    import libsumo

    with tempfile.TemporaryDirectory(prefix="cityos-sumo-", dir=workdir) as tmp:
        tmpdir = Path(tmp)
        routes = write_routes(vehicles, tmpdir / "demand.rou.xml")
        tripinfo = tmpdir / "tripinfo.xml"
        cmd = [
            sumo_binary("sumo"), "-n", str(net_file), "-r", str(routes),
            "--tripinfo-output", str(tripinfo), "--tripinfo-output.write-unfinished", "true",
            "--seed", str(seed), "--end", f"{duration_s:g}", "--time-to-teleport", "300",
            "--no-step-log", "true", "--no-warnings", "true", "--duration-log.disable", "true",
            "--error-log", str(tmpdir / "errors.log"),
        ]  # fmt: skip
        if controller == "actuated":
            cmd += ["-a", str(actuated_programs(net_file, tmpdir / "actuated.add.xml"))]
        if mesoscopic:
            cmd += ["--mesosim", "true", "--meso-junction-control", "true"]
        started = time.perf_counter()
        try:
            libsumo.start(cmd)
        except Exception as exc:  # libsumo raises its own TraCIException / FatalTraCIError
            log = (tmpdir / "errors.log").read_text(errors="replace").strip()
            raise SignalSimulationError(f"SUMO rejected the inputs: {log or exc}") from None
        try:
            ctl = SignalController(libsumo, controller, params)
            approaches = sorted({lane for sig in ctl.signals.values()
                                 for group in sig.links for lane, _ in group})  # fmt: skip
            series: list[tuple[float, int]] = []
            teleports = 0
            red_approaches = 0
            watched: dict[str, str] = {}
            now = 0.0
            while now < duration_s:
                libsumo.simulationStep()
                now = libsumo.simulation.getTime()
                ctl.step(now)
                teleports += libsumo.simulation.getStartingTeleportNumber()
                red_approaches += _red_at_stop_line(libsumo, ctl.ambulances, watched)
                if now % sample_s < 1e-9 or now >= duration_s:
                    series.append((now, sum(libsumo.lane.getLastStepHaltingNumber(x)
                                            for x in approaches)))  # fmt: skip
                    if progress:
                        progress(now, duration_s)
        finally:
            libsumo.close()
        wall = time.perf_counter() - started
        trips = _read_tripinfo(tripinfo)
    arrived = [t for t in trips if t["arrived"]]
    queues = np.array([q for _, q in series] or [0])

    def mean(key: str, vtype: str | None = None) -> float | None:
        vals = [t[key] for t in arrived if vtype is None or t["vtype"] == vtype]
        return float(np.mean(vals)) if vals else None

    amb = [t for t in arrived if t["vtype"] == "ambulance"]
    return SignalReport(
        controller=controller,
        seed=seed,
        duration_s=duration_s,
        mesoscopic=mesoscopic,
        demand=len(vehicles),
        vehicles=len(trips),
        throughput=len(arrived),
        mean_delay_s=mean("time_loss") or 0.0,
        mean_queue=float(queues.mean()),
        max_queue=int(queues.max()),
        bus_travel_s=mean("duration", "bus"),
        bus_delay_s=mean("time_loss", "bus"),
        ambulance_travel_s=amb[0]["duration"] if amb else None,
        ambulance_delay_s=amb[0]["time_loss"] if amb else None,
        ambulance_red_approaches=red_approaches,
        teleports=teleports,
        wall_s=wall,
        queue_series=series,
    )


def _check_net(path: Path) -> None:
    """Reject a file that is not a compiled SUMO net before libsumo loads it (a malformed net
    can abort the whole process inside SUMO)."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise SignalSimulationError(
            f"network file {path.name} is not well-formed XML: {exc}"
        ) from None
    if root.tag != "net":
        raise SignalSimulationError(
            f"network file {path.name} is not a SUMO net (root <{root.tag}>)"
        )
    lanes = [el for el in root.iter("lane") if el.get("shape")]
    if not lanes or not any(el.tag == "junction" for el in root):
        raise SignalSimulationError(f"network file {path.name} has no lanes or junctions")


def _red_at_stop_line(sumo: Any, ambulances: set[str], watched: dict[str, str]) -> int:
    """Count signals an ambulance reaches (≤ 15 m from the stop line) while its link shows red."""
    count = 0
    for v in ambulances:
        nxt = sumo.vehicle.getNextTLS(v)
        if not nxt:
            continue
        tls, _index, dist, state = nxt[0]
        key = f"{v}@{tls}"
        if dist <= 15.0 and watched.get(v) != key:
            watched[v] = key
            if state in "rRyY":
                count += 1
    return count


def _read_tripinfo(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for el in ET.parse(path).getroot().iter("tripinfo"):
        out.append(
            {
                "id": el.get("id"),
                "vtype": el.get("vType"),
                "duration": float(el.get("duration", "0")),
                "time_loss": float(el.get("timeLoss", "0")),
                "arrived": float(el.get("arrival", "-1")) >= 0,
            }
        )
    return out


#: Networks :func:`prepare` knows: the generated Sejong 5-1 twin, or a 3 x 3 test grid.
NETWORKS = ("city", "grid")


def prepare(network: str, workdir: Path, seed: int = 51) -> Path:
    """Build the SUMO net of ``network`` (one of :data:`NETWORKS`) in ``workdir``; its path.

    ``city`` generates the twin with ``seed`` (51 is the default Sejong 5-1) and exports its
    motor roads; ``grid`` is a 3 x 3 grid of signalised junctions 200 m apart.
    """
    from cityos.twin.signals.export import build_net, from_twin, grid

    if network == "grid":
        return build_net(grid(), workdir, "grid")
    if network == "city":
        from cityos.twin.generator import generate
        from cityos.twin.site import GeneratorParameters

        city = generate(GeneratorParameters().replace(seed=seed))
        return build_net(from_twin(city.network), workdir, "city")
    raise SignalSimulationError(f"unknown network {network!r}; known: {', '.join(NETWORKS)}")


def plot_queues(reports: Sequence[SignalReport], out: Path) -> Path:
    """PNG of the halting vehicles on signal approaches over time, one line per report."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=110)
    for r in reports:
        t = [s / 60 for s, _ in r.queue_series]
        q = [n for _, n in r.queue_series]
        label = (
            f"{r.controller}{' (meso)' if r.mesoscopic else ''}: mean delay {r.mean_delay_s:.0f} s"
        )
        ax.plot(t, q, label=label, lw=1.2)
    ax.set_xlabel("simulation time [min]")
    ax.set_ylabel("halting vehicles on signal approaches")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out
