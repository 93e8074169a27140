"""Controllers on the grid: each runs, max-pressure beats fixed time, bus priority and
pre-emption do what they promise, bad inputs fail precisely."""

from __future__ import annotations

import pytest

from cityos.twin.signals.control import ControlParameters
from cityos.twin.signals.demand import (
    DemandError,
    DemandSpec,
    Vehicle,
    generate_demand,
    vehicles_from_trips,
)
from cityos.twin.signals.simulation import SignalSimulationError, simulate

OFF = ControlParameters(bus_priority=False, preemption=False)
ON = ControlParameters(bus_priority=True, preemption=True)


@pytest.fixture(scope="module")
def runs(grid_net, grid_demand):
    return {
        (name, flag): simulate(grid_net, grid_demand, name, 900, 1, ON if flag else OFF)
        for name in ("fixed", "actuated", "max-pressure")
        for flag in (False, True)
    }


def test_every_controller_runs_and_reports(runs, grid_demand):
    for report in runs.values():
        assert report.demand == len(grid_demand)
        assert 0.95 * report.demand < report.vehicles <= report.demand
        assert 0.7 * report.vehicles < report.throughput <= report.vehicles
        assert report.mean_delay_s > 0 and report.max_queue >= report.mean_queue > 0
        assert report.bus_travel_s and report.bus_travel_s > report.bus_delay_s
        assert len(report.queue_series) == 90
        assert report.teleports == 0


def test_max_pressure_cuts_delay_against_fixed_time(runs):
    fixed, mp = runs["fixed", False], runs["max-pressure", False]
    assert mp.mean_delay_s < 0.8 * fixed.mean_delay_s
    assert mp.mean_queue < fixed.mean_queue


def test_preemption_gives_the_ambulance_green(runs):
    for name in ("fixed", "actuated", "max-pressure"):
        without, with_ = runs[name, False], runs[name, True]
        assert without.ambulance_red_approaches >= 1  # it meets red lights without pre-emption
        assert with_.ambulance_red_approaches == 0, name  # green at every signal it reaches
        assert with_.ambulance_travel_s < without.ambulance_travel_s


def test_bus_priority_reduces_bus_delay(grid_net, grid_demand):
    buses_only = ControlParameters(bus_priority=True, preemption=False)
    for name in ("fixed", "actuated", "max-pressure"):
        without = simulate(grid_net, grid_demand, name, 900, 1, OFF)
        with_ = simulate(grid_net, grid_demand, name, 900, 1, buses_only)
        assert with_.bus_delay_s < 0.9 * without.bus_delay_s, name


def test_runs_are_reproducible(grid_net, grid_demand, runs):
    again = simulate(grid_net, grid_demand, "max-pressure", 900, 1, ON)
    assert again.as_dict() | {"wall_s": 0} == runs["max-pressure", True].as_dict() | {"wall_s": 0}


def test_mesoscopic_mode_runs(grid_net, grid_demand):
    report = simulate(grid_net, grid_demand, "fixed", 900, 1, OFF, mesoscopic=True)
    assert report.mesoscopic and report.throughput > 0.5 * report.vehicles


def test_bad_inputs(grid_net, grid_demand, tmp_path):
    with pytest.raises(SignalSimulationError, match="unknown controller 'greedy'"):
        simulate(grid_net, grid_demand, "greedy", 60)
    with pytest.raises(SignalSimulationError, match="duration must be positive"):
        simulate(grid_net, grid_demand, "fixed", -10)
    with pytest.raises(SignalSimulationError, match="does not exist"):
        simulate(tmp_path / "missing.net.xml", grid_demand, "fixed", 60)
    broken = tmp_path / "broken.net.xml"
    broken.write_text("<net><edge id='x'>")
    with pytest.raises(SignalSimulationError, match="not well-formed XML"):
        simulate(broken, grid_demand, "fixed", 60)
    broken.write_text("<net><edge id='x'/></net>")
    with pytest.raises(SignalSimulationError, match="has no lanes or junctions"):
        simulate(broken, grid_demand, "fixed", 60)
    broken.write_text("<routes/>")
    with pytest.raises(SignalSimulationError, match="not a SUMO net"):
        simulate(broken, grid_demand, "fixed", 60)
    unknown_edge = [Vehicle("v", "car", 0.0, ("nowhere",))]
    with pytest.raises(SignalSimulationError, match="SUMO rejected"):
        simulate(grid_net, unknown_edge, "fixed", 60)
    with pytest.raises(DemandError, match="duration_s must be positive"):
        generate_demand(grid_net, DemandSpec(duration_s=-1), 1)
    with pytest.raises(DemandError, match="unknown mode 'hoverboard'"):
        vehicles_from_trips(grid_net, [(0, "hoverboard", (0, 0), (400, 400))])
    with pytest.raises(DemandError, match="off the passenger network"):
        vehicles_from_trips(grid_net, [(0, "car", (5000, 5000), (400, 400))])


def test_trips_from_elsewhere_become_routed_vehicles(grid_net):
    cars = vehicles_from_trips(
        grid_net, [(10, "car", (-150, 0), (400, 550)), (5, "shuttle", (0, 100), (400, 100))]
    )
    assert [v.vtype for v in cars] == ["shuttle", "car"]
    assert all(len(v.edges) >= 2 for v in cars)
