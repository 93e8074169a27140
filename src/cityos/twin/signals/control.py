"""Signal controllers: fixed-time, SUMO's actuated, and max-pressure, with bus priority and
emergency-vehicle pre-emption.

Max-pressure (Varaiya, "Max pressure control of a network of signalized intersections",
Transportation Research C 36, 2013): every movement ``i → o`` served by a phase has pressure
``q(i) - q(o)``, the vehicles on its upstream lane minus those on its downstream lane; a phase's
pressure is the sum over its green movements. Once the current green has lasted ``min_green_s``
the controller switches to the phase of highest pressure (ties keep the current one), through a
yellow of ``yellow_s`` on the movements that lose green and an all-red of ``all_red_s``; a green
never lasts more than ``max_green_s``.

Bus priority: a bus within ``bus_range_m`` of a signal asks for its movement; if it is green the
green is extended (up to ``bus_extension_s`` past the normal end), otherwise the signal switches
early to a phase serving it as soon as the current green has had its minimum.

Pre-emption: an ambulance asks for its movement at each of its next three signals within
``emergency_range_m`` (so closely spaced signals clear in time); each signal ends
the current green at once (yellow, all-red) if needed and holds a phase serving it until the
ambulance has passed. Under the fixed-time and actuated plans the signal is taken over for the
duration of a request and then handed back to its program.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Controller names.
CONTROLLERS = ("fixed", "actuated", "max-pressure")


@dataclass(frozen=True)
class ControlParameters:
    """Timing of the max-pressure controller and of priority/pre-emption [s], ranges [m]."""

    min_green_s: float = 8.0
    max_green_s: float = 60.0
    yellow_s: float = 3.0
    all_red_s: float = 2.0
    bus_priority: bool = True
    preemption: bool = True
    bus_range_m: float = 120.0
    bus_extension_s: float = 20.0
    emergency_range_m: float = 250.0


@dataclass
class _Signal:
    """One signalised junction under manual control."""

    tls_id: str
    program_id: str
    phases: list[str]
    links: list[list[tuple[str, str]]]
    state: str = ""
    target: int = 0
    current: int = 0
    stage: str = "green"
    since: float = 0.0
    until: float = 0.0
    manual: bool = False
    served: list[set[int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.served = [{i for i, c in enumerate(p) if c in "Gg"} for p in self.phases]


def _transition(cur: str, nxt: str, kind: str) -> str:
    out = []
    for a, b in zip(cur, nxt, strict=True):
        if a in "Gg" and b in "Gg":
            out.append(a)
        elif a in "Gg" and kind == "yellow":
            out.append("y")
        else:
            out.append("r")
    return "".join(out)


class SignalController:
    """Drives every traffic light of a running libsumo simulation.

    Parameters
    ----------
    sumo
        The ``libsumo`` (or ``traci``) module of the running simulation.
    name
        One of :data:`CONTROLLERS`.
    params
        Timings and the priority/pre-emption switches.
    """

    def __init__(self, sumo: Any, name: str, params: ControlParameters) -> None:
        if name not in CONTROLLERS:
            raise ValueError(f"unknown controller {name!r}; known: {', '.join(CONTROLLERS)}")
        self.sumo = sumo
        self.name = name
        self.params = params
        self.signals: dict[str, _Signal] = {}
        self.preempted_s = 0.0
        tl = sumo.trafficlight
        for tls in tl.getIDList():
            program = "actuated" if name == "actuated" else tl.getProgram(tls)
            logic = next(lg for lg in tl.getAllProgramLogics(tls) if lg.programID == "0")
            greens = [p.state for p in logic.phases if "y" not in p.state and
                      any(c in "Gg" for c in p.state)]  # fmt: skip
            links = [[(lk[0], lk[1]) for lk in group] for group in tl.getControlledLinks(tls)]
            sig = _Signal(tls, program, greens, links)
            self.signals[tls] = sig
            if name == "actuated":
                tl.setProgram(tls, "actuated")
            if name == "max-pressure":
                sig.manual = True
                sig.state = greens[0]
                tl.setRedYellowGreenState(tls, sig.state)
        self.buses: set[str] = set()
        self.ambulances: set[str] = set()

    # -- per step ---------------------------------------------------------------------------
    def step(self, now: float) -> None:
        """Update every signal for simulation time ``now`` [s] (call once per step)."""
        sim, veh = self.sumo.simulation, self.sumo.vehicle
        for v in sim.getDepartedIDList():
            kind = veh.getTypeID(v)
            if kind == "bus":
                self.buses.add(v)
            elif kind == "ambulance":
                self.ambulances.add(v)
        for v in sim.getArrivedIDList():
            self.buses.discard(v)
            self.ambulances.discard(v)
        bus_req = self._requests(self.buses, self.params.bus_range_m, 1) if (
            self.params.bus_priority) else {}  # fmt: skip
        em_req = self._requests(self.ambulances, self.params.emergency_range_m, 3) if (
            self.params.preemption) else {}  # fmt: skip
        if em_req:
            self.preempted_s += 1.0
        for tls, sig in self.signals.items():
            emergency = em_req.get(tls, set())
            bus = bus_req.get(tls, set())
            if not sig.manual:
                if not emergency and not bus:
                    continue
                self._take_over(sig, now)
            self._drive(sig, now, emergency, bus)

    def _requests(self, vehicles: set[str], reach: float, ahead: int) -> dict[str, set[int]]:
        """Movements asked for at the next ``ahead`` signals within ``reach`` [m] of a vehicle."""
        out: dict[str, set[int]] = {}
        for v in vehicles:
            for tls, index, dist, _state in self.sumo.vehicle.getNextTLS(v)[:ahead]:
                if dist > reach:
                    break
                if tls in self.signals:
                    out.setdefault(tls, set()).add(int(index))
        return out

    def _take_over(self, sig: _Signal, now: float) -> None:
        sig.manual = True
        sig.state = self.sumo.trafficlight.getRedYellowGreenState(sig.tls_id)
        # freeze the program where it is; from now on only this controller changes the state
        self.sumo.trafficlight.setRedYellowGreenState(sig.tls_id, sig.state)
        sig.stage = "green"
        sig.current = -1
        sig.since = now - self.params.min_green_s

    def _hand_back(self, sig: _Signal) -> None:
        sig.manual = False
        self.sumo.trafficlight.setProgram(sig.tls_id, sig.program_id)

    def _drive(self, sig: _Signal, now: float, emergency: set[int], bus: set[int]) -> None:
        p = self.params
        tl = self.sumo.trafficlight
        if sig.stage == "yellow" and now >= sig.until:
            sig.stage, sig.until = "allred", now + p.all_red_s
            sig.state = _transition(sig.state, sig.phases[sig.target], "allred")
            tl.setRedYellowGreenState(sig.tls_id, sig.state)
            return
        if sig.stage == "allred" and now >= sig.until:
            sig.stage, sig.since, sig.current = "green", now, sig.target
            sig.state = sig.phases[sig.target]
            tl.setRedYellowGreenState(sig.tls_id, sig.state)
            return
        if sig.stage != "green":
            return
        green = {i for i, c in enumerate(sig.state) if c in "Gg"}
        elapsed = now - sig.since
        if emergency:
            if emergency <= green:
                return
            self._switch(sig, now, self._best(sig, emergency))
            return
        if self.name != "max-pressure":
            if not bus:
                self._hand_back(sig)
                return
            if bus <= green or elapsed < p.min_green_s:
                return
            self._switch(sig, now, self._best(sig, bus))
            return
        if bus and bus & green and elapsed < p.max_green_s + p.bus_extension_s:
            return
        if elapsed < p.min_green_s:
            return
        if bus and not bus & green:
            self._switch(sig, now, self._best(sig, bus))
            return
        best = self._best(sig, None)
        pressures = self._pressures(sig)
        if best != sig.current and (
            elapsed >= p.max_green_s or sig.current < 0 or pressures[best] > pressures[sig.current]
        ):
            self._switch(sig, now, best)
        elif elapsed >= p.max_green_s and len(sig.phases) > 1:
            order = sorted(range(len(sig.phases)), key=lambda k: -pressures[k])
            self._switch(sig, now, next(k for k in order if k != sig.current))

    def _pressures(self, sig: _Signal) -> list[float]:
        lane = self.sumo.lane
        cache: dict[str, int] = {}

        def q(name: str) -> int:
            if name not in cache:
                cache[name] = lane.getLastStepVehicleNumber(name)
            return cache[name]

        out = []
        for served in sig.served:
            total = 0.0
            for i in served:
                for inc, outl in sig.links[i]:
                    total += q(inc) - q(outl)
            out.append(total)
        return out

    def _best(self, sig: _Signal, need: set[int] | None) -> int:
        pressures = self._pressures(sig)
        cands = range(len(sig.phases))
        if need:
            full = [k for k in cands if need <= sig.served[k]]
            cands = full or [k for k in cands if need & sig.served[k]] or list(cands)
        return max(cands, key=lambda k: (pressures[k], k == sig.current))

    def _switch(self, sig: _Signal, now: float, target: int) -> None:
        if target == sig.current and sig.state == sig.phases[target]:
            return
        sig.target = target
        sig.stage, sig.until = "yellow", now + self.params.yellow_s
        sig.state = _transition(sig.state, sig.phases[target], "yellow")
        self.sumo.trafficlight.setRedYellowGreenState(sig.tls_id, sig.state)
