"""Mobility scenarios: policy and service parameters, read from YAML and validated (pydantic).

A scenario is a name or a YAML file. Built-in names are the files in ``scenarios/`` beside this
module (``baseline``, ``smart-5-1``, ``zone-eighth``, ``fewer-shuttles``, ``no-free-transfer``).
Every field has a default (the 5-1 plan); unknown fields and out-of-range values are refused with
the path of the offending field. A simulation is reproducible from its scenario and its seed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cityos.core.errors import BadRequestData

SCENARIO_DIR = Path(__file__).parent / "scenarios"


class ScenarioError(BadRequestData):
    """A scenario name is unknown or a scenario file is invalid."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ZonePolicy(_Strict):
    """Car-restricted zone: on or off, and its area as a fraction of the site (None: the ring
    interior)."""

    car_restricted: bool = True
    area_fraction: float | None = Field(default=None, gt=0, le=0.6)


class CarOwnership(_Strict):
    """Private cars per household inside and outside the ring [cars/household]."""

    inside: float = Field(default=0.25, ge=0, le=4)
    outside: float = Field(default=0.55, ge=0, le=4)


class ShuttleService(_Strict):
    """On-demand shuttle fleet and service limits."""

    enabled: bool = True
    fleet: int = Field(default=120, ge=0, le=2000)
    capacity: int = Field(default=6, ge=1, le=60)
    max_wait_s: float = Field(default=600.0, ge=0, le=7200)
    detour_factor: float = Field(default=1.3, ge=1, le=5)
    children_allowed: bool = True
    fare_krw: float = Field(default=1000.0, ge=0)


class PmService(_Strict):
    """Shielded PM sharing: on or off, fares [KRW]."""

    enabled: bool = True
    unlock_krw: float = Field(default=500.0, ge=0)
    per_min_krw: float = Field(default=100.0, ge=0)


class SharedCarService(_Strict):
    """Shared cars: on or off, fares [KRW]."""

    enabled: bool = True
    base_krw: float = Field(default=3000.0, ge=0)
    per_km_krw: float = Field(default=250.0, ge=0)


class Fares(_Strict):
    """Transit fare [KRW] and whether transfers between shuttle, PM and BRT are free."""

    brt_krw: float = Field(default=1400.0, ge=0)
    free_transfer: bool = True


class Scenario(_Strict):
    """A mobility scenario (see the module docstring)."""

    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    zone: ZonePolicy = ZonePolicy()
    cars_per_household: CarOwnership = CarOwnership()
    shuttle: ShuttleService = ShuttleService()
    pm: PmService = PmService()
    shared_car: SharedCarService = SharedCarService()
    fares: Fares = Fares()


def builtin_names() -> list[str]:
    """Names of the built-in scenarios."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def parse_scenario(data: Any, source: str = "scenario") -> Scenario:
    """Validate a mapping as a :class:`Scenario`; ScenarioError naming each bad field."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario must be a mapping, got {type(data).__name__}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ScenarioError(f"{source}: {problems}") from None


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in scenario by name, or a YAML file by path."""
    text = str(name_or_path)
    path = Path(text)
    if not text.endswith((".yaml", ".yml")):
        if text not in builtin_names():
            raise ScenarioError(
                f"unknown scenario {text!r}; built-in: {', '.join(builtin_names())}, "
                "or give a .yaml file"
            )
        path = SCENARIO_DIR / f"{text}.yaml"
    if not path.is_file():
        raise ScenarioError(f"scenario file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioError(f"{path.name}: not valid YAML{where}") from None
    return parse_scenario(data, path.name)
