"""MaaS: a journey planner over any GTFS feed (RAPTOR plus first/last-mile modes), one-stop
booking with one fare, and a pluggable payment port. See ``docs/mobility.md``."""
