"""Mobility in the twin: daily activity plans, mode choice, the day simulation and its KPIs.

See ``docs/mobility.md``. The shuttle dispatcher is injected (see :mod:`.day`), so this layer
imports nothing above the twin.
"""
