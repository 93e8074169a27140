"""Differentially private aggregates, measured with OpenDP (the Laplace mechanism).

The privacy unit is one data subject: each subject contributes at most ``contributions`` records
(the caller bounds this, :func:`bound_contributions`), so neighbouring datasets differ by at most
that many records (symmetric distance). Every statistic is calibrated by OpenDP's
``binary_search_param`` so that the release is ``epsilon``-DP for that unit (pure DP, ε in nats).

* ``count``: the number of records, integer Laplace noise.
* ``sum``: values clamped to ``bounds`` then summed, Laplace noise.
* ``mean``: a DP sum and a DP count with ε/2 each (sequential composition), divided.
* ``histogram``: counts per category (plus one for values outside the list), Laplace noise.

Counts are clipped at zero afterwards (post-processing, which costs no privacy).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import opendp.prelude as dp

dp.enable_features("contrib")

STATISTICS = ("count", "sum", "mean", "histogram")


def bound_contributions(rows: Sequence[tuple[str, Any]], contributions: int) -> list[Any]:
    """Keep at most ``contributions`` values per subject from ``(subject, value)`` rows (in
    their given order): the contribution bound the privacy guarantee relies on."""
    if contributions < 1:
        raise ValueError("contributions must be at least 1")
    seen: dict[str, int] = {}
    kept = []
    for subject, value in rows:
        n = seen.get(subject, 0)
        if n < contributions:
            seen[subject] = n + 1
            kept.append(value)
    return kept


def dp_count(values: Sequence[Any], epsilon: float, contributions: int = 1) -> int:
    """An ε-DP count of ``values``."""
    _check(epsilon)
    meas = _count_measurement(contributions, float(epsilon))
    return max(0, int(meas([str(v) for v in values])))


def dp_sum(
    values: Sequence[float], bounds: tuple[float, float], epsilon: float, contributions: int = 1
) -> float:
    """An ε-DP sum of ``values`` clamped to ``bounds``."""
    _check(epsilon)
    lo, hi = _bounds(bounds)
    meas = _sum_measurement(lo, hi, contributions, float(epsilon))
    return float(meas([float(v) for v in values]))


def dp_mean(
    values: Sequence[float], bounds: tuple[float, float], epsilon: float, contributions: int = 1
) -> float | None:
    """An ε-DP mean (DP sum / DP count, ε/2 each), clamped into ``bounds``; None if the noisy
    count is not positive."""
    total = dp_sum(values, bounds, epsilon / 2, contributions)
    count = dp_count(values, epsilon / 2, contributions)
    if count <= 0:
        return None
    lo, hi = _bounds(bounds)
    return min(hi, max(lo, total / count))


def dp_histogram(
    values: Sequence[str], categories: Sequence[str], epsilon: float, contributions: int = 1
) -> dict[str, int]:
    """ε-DP counts per category; values outside ``categories`` are counted under ``"(other)"``."""
    _check(epsilon)
    names = tuple(dict.fromkeys(categories))
    if not names:
        raise ValueError("name at least one category")
    meas = _histogram_measurement(names, contributions, float(epsilon))
    counts = [max(0, int(c)) for c in meas([str(v) for v in values])]
    return {**dict(zip(names, counts, strict=False)), "(other)": counts[-1]}


# -- calibrated measurements, cached: the scale depends only on these parameters ---------------
def _calibrated(make: Any, d_in: int, epsilon: float) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scale = dp.binary_search_param(make, d_in=d_in, d_out=epsilon)
        return make(scale)


def _strings() -> tuple[Any, Any]:
    return dp.vector_domain(dp.atom_domain(T=str)), dp.symmetric_distance()


@lru_cache(maxsize=256)
def _count_measurement(contributions: int, epsilon: float) -> Any:
    space = _strings()
    return _calibrated(
        lambda s: space >> dp.t.then_count() >> dp.m.then_laplace(scale=s), contributions, epsilon
    )


@lru_cache(maxsize=256)
def _sum_measurement(lo: float, hi: float, contributions: int, epsilon: float) -> Any:
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.symmetric_distance()
    return _calibrated(
        lambda s: (
            space
            >> dp.t.then_clamp(bounds=(lo, hi))
            >> dp.t.then_sum()
            >> dp.m.then_laplace(scale=s)
        ),
        contributions,
        epsilon,
    )


@lru_cache(maxsize=256)
def _histogram_measurement(names: tuple[str, ...], contributions: int, epsilon: float) -> Any:
    space = _strings()
    return _calibrated(
        lambda s: (
            space
            >> dp.t.then_count_by_categories(categories=list(names))
            >> dp.m.then_laplace(scale=s)
        ),
        contributions,
        epsilon,
    )


def _check(epsilon: float) -> None:
    if not (isinstance(epsilon, int | float) and 0 < epsilon <= 10):
        raise ValueError("epsilon must be in (0, 10]")


def _bounds(bounds: Sequence[float]) -> tuple[float, float]:
    if len(bounds) != 2:
        raise ValueError("bounds must be [lower, upper]")
    lo, hi = float(bounds[0]), float(bounds[1])
    if not lo < hi:
        raise ValueError("bounds must be [lower, upper] with lower < upper")
    return lo, hi
