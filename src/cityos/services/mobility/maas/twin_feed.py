"""The journey planner of the twin: its GTFS feed (BRT and ring shuttle) and a payment port.

Used by the application when no other feed is configured: the twin's feed is written to
``$CITYOS_DATA_DIR/mobility/gtfs`` and read back, so the planner runs on exactly the files a
third party would get. Bookings pay through the in-memory port, each new account opened with a
demo balance, until the ledger's local currency plugs in.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cityos.services.mobility.maas.booking import BookingService
from cityos.services.mobility.maas.gtfs import read_feed
from cityos.services.mobility.maas.payment import InMemoryPayments
from cityos.services.mobility.maas.planner import JourneyPlanner

#: Balance of a new demo account [KRW].
DEMO_BALANCE_KRW = 100_000


def twin_service(data_dir: Path) -> BookingService:
    """A booking service over the default twin's GTFS feed."""
    from cityos.twin.export_gtfs import write_gtfs
    from cityos.twin.generator import generate

    folder = data_dir / "mobility" / "gtfs"
    if not folder.is_dir():
        # write beside, then rename: a crash never leaves half a feed behind
        folder.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
            write_gtfs(generate(), Path(tmp) / "feed")
            os.replace(Path(tmp) / "feed", folder)
    planner = JourneyPlanner(read_feed(folder))
    return BookingService(planner, InMemoryPayments(opening_balance=DEMO_BALANCE_KRW))
