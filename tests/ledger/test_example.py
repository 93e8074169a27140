"""``examples/ledger_day.py`` runs end to end and its figures add up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_ledger_day_example_runs(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "ledger_day.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "AgeOver65Credential {'ageOver': 65}" in out
    # 50 basic income - 1.50 fare (charged once despite the retry) = 48.50
    assert "librarian:    48.50 SJC" in out
    assert "homemaker:   131.80 SJC" in out  # 50 + 120 - 38.20
    assert "pupil:   250.00 SJC" in out  # 50 + 2 volunteer hours at 100
    assert "it notarises SHA-256" in out and "reproduce all" in out and "replay to the 6" in out
