"""SUMO export: plain XML → netconvert, the twin's roads, and broken networks."""

from __future__ import annotations

import pytest
import sumolib

from cityos.twin.signals.export import (
    PlainEdge,
    PlainNetwork,
    PlainNode,
    SignalNetworkError,
    build_net,
    from_twin,
    grid,
)


def test_grid_compiles_to_a_valid_net_with_signals(grid_net):
    net = sumolib.net.readNet(str(grid_net), withPrograms=True)
    assert len(net.getTrafficLights()) == 9
    assert len(net.getEdges()) == 2 * (3 * 4 + 3 * 4)
    for tls in net.getTrafficLights():
        programs = tls.getPrograms()
        assert "0" in programs
        states = [p.state for p in programs["0"].getPhases()]
        assert any("y" in s for s in states) and any("G" in s for s in states)


def test_twin_export_keeps_brt_bus_only_and_cars_out_of_the_zone(tmp_path):
    from cityos.twin.generator import generate

    city = generate()
    plain = from_twin(city.network)
    brt = [e for e in plain.edges if e.road_class == "brt"]
    assert brt and all(set(e.allow) == {"bus", "emergency"} for e in brt)
    inside = {
        f"e{i}" for i, (_u, _v, d) in enumerate(city.network.graph.edges(data=True)) if d["in_zone"]
    }
    zone_edges = [e for e in plain.edges if e.edge_id[:-1] in inside]
    assert zone_edges and all("passenger" not in e.allow for e in zone_edges)
    assert not any(e.road_class in ("pm", "footpath") for e in plain.edges)
    out = build_net(plain, tmp_path)
    net = sumolib.net.readNet(str(out))
    assert len(net.getTrafficLights()) == sum(n.signal for n in plain.nodes) > 10
    ring = [e for e in plain.edges if e.road_class == "ring"]
    assert ring and all(e.lanes == 2 for e in ring)


def test_broken_networks_give_precise_errors(tmp_path):
    with pytest.raises(SignalNetworkError, match="no nodes or no edges"):
        build_net(PlainNetwork(), tmp_path)
    nodes = [PlainNode("a", 0, 0), PlainNode("b", 100, 0)]
    dangling = PlainNetwork(nodes, [PlainEdge("x", "a", "zz", 1, 10.0, ("passenger",))])
    with pytest.raises(SignalNetworkError, match="unknown node 'zz'"):
        build_net(dangling, tmp_path)
    no_lane = PlainNetwork(nodes, [PlainEdge("x", "a", "b", 0, 10.0, ("passenger",))])
    with pytest.raises(SignalNetworkError, match="needs ≥ 1 lane"):
        build_net(no_lane, tmp_path)
    bad_class = PlainNetwork(nodes, [PlainEdge("x", "a", "b", 1, 10.0, ("hovercraft",))])
    with pytest.raises(SignalNetworkError, match="netconvert failed"):
        build_net(bad_class, tmp_path)
    with pytest.raises(SignalNetworkError, match="positive spacing"):
        grid(rows=0)
