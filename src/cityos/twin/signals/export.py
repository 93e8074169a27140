"""Export a road network to SUMO: plain XML nodes and edges, compiled by ``netconvert``.

A :class:`PlainNetwork` is the neutral form: junctions with coordinates [m] and a flag for
signal control, directed edges with lanes, speed [m/s] and the SUMO vehicle classes allowed.
:func:`from_twin` builds it from the twin's :class:`~cityos.twin.network.Network` (motor roads
only; BRT roads are bus- and emergency-only; private cars are kept out of the car-restricted
zone), :func:`grid` builds a small test grid, and :func:`build_net` writes the plain XML files
(SUMO "plain XML" formats, https://sumo.dlr.de/docs/Networks/PlainXML.html) and runs the
``netconvert`` that ships in the ``eclipse-sumo`` wheel.
"""

from __future__ import annotations

import itertools
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

from cityos.core.errors import BadRequestData


class SignalNetworkError(BadRequestData):
    """The network cannot be exported or compiled for SUMO."""


#: SUMO vehicle class of each twin vehicle type that the traffic simulation moves.
VCLASS = {
    "car": "passenger",
    "sharedCar": "evehicle",
    "serviceVehicle": "delivery",
    "deliveryVehicle": "delivery",
    "emergencyVehicle": "emergency",
    "bus": "bus",
    "lorry": "truck",
    "motorcycle": "motorcycle",
    "shuttle": "custom1",
}
#: Road classes exported (those that carry motor vehicles).
MOTOR_CLASSES = ("nationalRoad", "arterial", "brt", "ring", "interior", "pedestrian")
#: Road classes whose junctions get traffic lights (where three or more motor roads meet).
SIGNAL_CLASSES = ("nationalRoad", "arterial", "brt", "ring")
#: SUMO edge priority per road class (higher wins at unsignalised junctions).
PRIORITY = {
    "nationalRoad": 9,
    "arterial": 8,
    "brt": 7,
    "ring": 6,
    "interior": 4,
    "pedestrian": 2,
}
#: Vehicle classes banned from the car-restricted zone (private motor vehicles).
ZONE_BANNED = ("passenger", "motorcycle", "truck")


@dataclass(frozen=True)
class PlainNode:
    """A junction: id, local coordinates [m], signal-controlled or not."""

    node_id: str
    x: float
    y: float
    signal: bool = False


@dataclass(frozen=True)
class PlainEdge:
    """A directed edge: lanes, speed [m/s], allowed SUMO vehicle classes, shape [m]."""

    edge_id: str
    source: str
    target: str
    lanes: int
    speed_ms: float
    allow: tuple[str, ...]
    priority: int = 1
    road_class: str = ""
    shape: tuple[tuple[float, float], ...] = ()


@dataclass
class PlainNetwork:
    """Nodes and directed edges in SUMO's plain form."""

    nodes: list[PlainNode] = field(default_factory=list)
    edges: list[PlainEdge] = field(default_factory=list)

    def validate(self) -> None:
        """Raise :class:`SignalNetworkError` for an empty network or dangling/duplicate ids."""
        if not self.nodes or not self.edges:
            raise SignalNetworkError("the network has no nodes or no edges")
        ids = [n.node_id for n in self.nodes]
        if len(set(ids)) != len(ids):
            raise SignalNetworkError("duplicate node ids in the network")
        known = set(ids)
        seen: set[str] = set()
        for e in self.edges:
            if e.edge_id in seen:
                raise SignalNetworkError(f"duplicate edge id {e.edge_id!r}")
            seen.add(e.edge_id)
            for end in (e.source, e.target):
                if end not in known:
                    raise SignalNetworkError(f"edge {e.edge_id!r} refers to unknown node {end!r}")
            if e.source == e.target:
                raise SignalNetworkError(f"edge {e.edge_id!r} is a self-loop")
            if e.lanes < 1 or e.speed_ms <= 0 or not e.allow:
                raise SignalNetworkError(
                    f"edge {e.edge_id!r} needs ≥ 1 lane, a positive speed and an allowed class"
                )


def from_twin(network: object) -> PlainNetwork:
    """The twin's motor roads as a plain SUMO network.

    Parameters
    ----------
    network
        A :class:`cityos.twin.network.Network`.

    Each undirected road segment becomes two directed edges with half its lanes each (at least
    one). Speeds are the road's limit; BRT roads allow only buses and emergency vehicles; inside
    the car-restricted zone private cars, motorcycles and lorries are not allowed and shared cars
    only on the edges to the parking tower. Junctions where three or more motor roads meet and
    at least one is a national road, arterial, BRT or ring road are signalised.
    """
    graph = network.graph  # type: ignore[attr-defined]
    tower = network.tower_edges  # type: ignore[attr-defined]
    plain = PlainNetwork()
    used: dict[int, list[str]] = {}
    for index, (u, v, data) in enumerate(graph.edges(data=True)):
        cls = data["road_class"]
        if cls not in MOTOR_CLASSES:
            continue
        allow = sorted({VCLASS[t] for t in data["vehicles"] if t in VCLASS})
        if data["in_zone"]:
            allow = [c for c in allow if c not in ZONE_BANNED]
            if (min(u, v), max(u, v)) not in tower:
                allow = [c for c in allow if c != "evehicle"]
        if not allow:
            continue
        lanes = max(1, int(data.get("lanes", 0) or _class_lanes(cls)) // 2)
        speed = float(data["limit"]) / 3.6
        coords = [(float(x), float(y)) for x, y, *_ in data["geometry"].coords]
        a, b = _ends(graph, u, v, coords)
        for suffix, src, dst, shape in (
            ("f", a, b, coords),
            ("b", b, a, coords[::-1]),
        ):
            plain.edges.append(
                PlainEdge(
                    edge_id=f"e{index}{suffix}",
                    source=f"n{src}",
                    target=f"n{dst}",
                    lanes=lanes,
                    speed_ms=speed,
                    allow=tuple(allow),
                    priority=PRIORITY[cls],
                    road_class=cls,
                    shape=tuple(shape),
                )
            )
        used.setdefault(u, []).append(cls)
        used.setdefault(v, []).append(cls)
    for node, classes in sorted(used.items()):
        signal = len(classes) >= 3 and any(c in SIGNAL_CLASSES for c in classes)
        x, y = graph.nodes[node]["x"], graph.nodes[node]["y"]
        plain.nodes.append(PlainNode(f"n{node}", float(x), float(y), signal))
    return plain


def _class_lanes(cls: str) -> int:
    from cityos.twin.roads import CLASSES

    return CLASSES[cls].lanes


def _ends(graph: object, u: int, v: int, coords: list[tuple[float, float]]) -> tuple[int, int]:
    """Order (u, v) so that u sits at the first coordinate of the geometry."""
    ux, uy = graph.nodes[u]["x"], graph.nodes[u]["y"]  # type: ignore[attr-defined]
    x0, y0 = coords[0]
    xn, yn = coords[-1]
    if (ux - x0) ** 2 + (uy - y0) ** 2 <= (ux - xn) ** 2 + (uy - yn) ** 2:
        return u, v
    return v, u


def grid(
    rows: int = 3, cols: int = 3, spacing_m: float = 200.0, lanes: int = 1, speed_kmh: float = 50
) -> PlainNetwork:
    """A ``rows`` x ``cols`` grid of signalised junctions with an approach arm at each border.

    Junction ``j{r}_{c}``; border nodes ``w{r}``, ``e{r}``, ``s{c}``, ``n{c}``; edges are named
    ``{from}-{to}``. Every class of :data:`VCLASS` may use every edge.
    """
    if rows < 1 or cols < 1 or spacing_m <= 0 or lanes < 1 or speed_kmh <= 0:
        raise SignalNetworkError("a grid needs ≥ 1 row and column, positive spacing and speed")
    plain = PlainNetwork()
    allow = tuple(sorted(set(VCLASS.values())))
    pos: dict[str, tuple[float, float]] = {}
    for r in range(rows):
        for c in range(cols):
            pos[f"j{r}_{c}"] = (c * spacing_m, r * spacing_m)
            plain.nodes.append(PlainNode(f"j{r}_{c}", c * spacing_m, r * spacing_m, True))
    for r in range(rows):
        for name, x in ((f"w{r}", -spacing_m), (f"e{r}", cols * spacing_m)):
            pos[name] = (x, r * spacing_m)
            plain.nodes.append(PlainNode(name, x, r * spacing_m))
    for c in range(cols):
        for name, y in ((f"s{c}", -spacing_m), (f"n{c}", rows * spacing_m)):
            pos[name] = (c * spacing_m, y)
            plain.nodes.append(PlainNode(name, c * spacing_m, y))
    links: list[tuple[str, str]] = []
    for r in range(rows):
        row = [f"w{r}", *(f"j{r}_{c}" for c in range(cols)), f"e{r}"]
        links += list(itertools.pairwise(row))
    for c in range(cols):
        col = [f"s{c}", *(f"j{r}_{c}" for r in range(rows)), f"n{c}"]
        links += list(itertools.pairwise(col))
    for a, b in links:
        for src, dst in ((a, b), (b, a)):
            plain.edges.append(
                PlainEdge(f"{src}-{dst}", src, dst, lanes, speed_kmh / 3.6, allow, 5, "arterial")
            )
    return plain


def sumo_binary(name: str) -> str:
    """Path of a SUMO executable of the ``eclipse-sumo`` wheel (``sumo``, ``netconvert``)."""
    import sumo

    path = Path(sumo.SUMO_HOME) / "bin" / name
    if not path.exists():
        raise SignalNetworkError(f"SUMO executable {name!r} not found under {sumo.SUMO_HOME}")
    return str(path)


def write_plain(plain: PlainNetwork, prefix: Path) -> tuple[Path, Path]:
    """Write ``<prefix>.nod.xml`` and ``<prefix>.edg.xml``; returns their paths."""
    plain.validate()
    nod = prefix.with_suffix(".nod.xml")
    edg = prefix.with_suffix(".edg.xml")
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<nodes>"]
    for n in plain.nodes:
        kind = "traffic_light" if n.signal else "priority"
        lines.append(
            f'  <node id={quoteattr(n.node_id)} x="{n.x:.2f}" y="{n.y:.2f}" type="{kind}"/>'
        )
    lines.append("</nodes>")
    nod.write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<edges>"]
    for e in plain.edges:
        shape = ""
        if len(e.shape) > 2:
            shape = ' shape="' + " ".join(f"{x:.2f},{y:.2f}" for x, y in e.shape) + '"'
        lines.append(
            f"  <edge id={quoteattr(e.edge_id)} from={quoteattr(e.source)} "
            f'to={quoteattr(e.target)} numLanes="{e.lanes}" speed="{e.speed_ms:.2f}" '
            f'priority="{e.priority}" allow="{" ".join(e.allow)}"'
            f' type="{e.road_class}"{shape}/>'
        )
    lines.append("</edges>")
    edg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return nod, edg


def build_net(plain: PlainNetwork, workdir: Path, name: str = "city") -> Path:
    """Compile ``plain`` to ``<workdir>/<name>.net.xml`` with netconvert; returns its path.

    Signals get netconvert's static programs (90 s cycle, yellow from the approach speed), which
    are the fixed-time plan and the phase set of every other controller. Raises
    :class:`SignalNetworkError` with netconvert's own message if it fails.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    nod, edg = write_plain(plain, workdir / name)
    out = workdir / f"{name}.net.xml"
    cmd = [
        sumo_binary("netconvert"),
        "--node-files", str(nod),
        "--edge-files", str(edg),
        "--output-file", str(out),
        "--no-turnarounds", "true",
        "--tls.default-type", "static",
        "--tls.cycle.time", "90",
        "--junctions.join", "false",
        "--offset.disable-normalization", "true",
        "--no-warnings", "true",
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=300)
    if proc.returncode != 0 or not out.exists():
        message = (proc.stderr or proc.stdout).strip().splitlines()
        raise SignalNetworkError(
            "netconvert failed: " + ("; ".join(message[-3:]) if message else "no output")
        )
    return out
