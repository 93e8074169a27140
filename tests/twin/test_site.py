"""Parameters: validated before anything is generated or written."""

from __future__ import annotations

import pytest

from cityos.core.errors import BadRequestData
from cityos.twin.generator import generate
from cityos.twin.site import GeneratorParameters, LocalFrame, SiteParameters, TwinParameterError


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"population": -1}, "population must not be negative"),
        ({"households": -5}, "households must not be negative"),
        ({"population": 100, "households": 200}, "cannot exceed people"),
        ({"population": 5000, "households": 300}, "cannot live in"),
        ({"seed": -3}, "seed"),
        ({"area_km2": 0.0}, "area_km2"),
        ({"school_sites_m": ((5000.0, 0.0),)}, "outside the site"),
        ({"ring_semi_axes_m": (2000.0, 1500.0)}, "ring road does not fit"),
        ({"zone_area_fraction": 0.9}, "zone_area_fraction"),
        ({"zone_polygon": ((127.3, 36.49), (127.31, 36.49), (127.3, 36.49))}, "four positions"),
        ({"start_year": 2030, "end_year": 2025}, "start_year"),
    ],
)
def test_bad_parameters_are_clear_errors(changes, message):
    params = GeneratorParameters().replace(**changes)
    with pytest.raises(TwinParameterError, match=message) as info:
        generate(params)
    assert isinstance(info.value, BadRequestData)
    assert isinstance(info.value, ValueError) or info.value.status == 400


def test_site_outline_has_the_plan_area():
    frame = LocalFrame(SiteParameters())
    assert frame.site_polygon.area == pytest.approx(2.741e6, rel=1e-6)
    lonlat = frame.to_wgs84(frame.to_local([[127.304, 36.494]]))[0]
    assert lonlat == pytest.approx([127.304, 36.494], abs=1e-9)


def test_replace_changes_site_and_generator_fields():
    params = GeneratorParameters().replace(seed=9, area_km2=3.0)
    assert params.seed == 9 and params.site.area_km2 == 3.0
    assert GeneratorParameters().site.area_km2 == 2.741
