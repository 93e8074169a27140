"""CityOS: an open-source urban data operating system."""

from __future__ import annotations

__version__ = "0.1.0"
