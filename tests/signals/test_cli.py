"""`cityos simulate signals` end to end on the grid."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cityos.cli import app


def test_simulate_signals_compares_controllers_and_plots(tmp_path):
    plot = tmp_path / "queues.png"
    args = ["simulate", "signals", "--network", "grid", "--duration", "600", "--controller",
            "fixed", "--controller", "max-pressure", "--ambulance-at", "120", "--plot", str(plot),
            "--json"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    body = json.loads(result.output[result.output.index("[") : result.output.rindex("]") + 1])
    assert [r["controller"] for r in body] == ["fixed", "max-pressure"]
    assert all(r["throughput"] > 0 and r["duration_s"] == 600 for r in body)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_simulate_signals_bad_inputs_exit_2():
    runner = CliRunner()
    for args, message in (
        (["--controller", "greedy"], "unknown controller 'greedy'"),
        (["--duration", "-5"], "duration_s must be positive"),
        (["--network", "atlantis", "--duration", "60"], "unknown network 'atlantis'"),
    ):
        result = runner.invoke(app, ["simulate", "signals", "--network", "grid", *args])
        assert result.exit_code == 2, args
        assert message in result.output
