"""The aggregated temporal representation (ETSI GS CIM 009 §4.5.19): every method, computed in SQL,
against values computed here independently (``statistics``), per period, and ISO 8601 durations."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cityos.core.errors import BadRequestData
from cityos.hub.broker import EntityQuery, Hub
from cityos.hub.temporal.duration import parse_duration
from cityos.hub.temporal.query import make_temporal_query
from cityos.hub.temporal.service import TemporalService

EID = "urn:ngsi-ld:Sensor:1"
T0 = datetime(2026, 1, 30, 22, 17, 5, tzinfo=UTC)
METHODS = ("totalCount", "distinctCount", "sum", "avg", "min", "max", "stddev", "sumsq")


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@pytest.fixture
def series(hub: Hub) -> list[tuple[datetime, float, str]]:
    """300 observations of temp (numbers, some repeated) and label (strings) over ~40 days."""
    rng = random.Random(5)
    points = []
    for _ in range(300):
        moment = T0 + timedelta(
            seconds=rng.randrange(0, 40 * 86400), milliseconds=rng.randrange(1000)
        )
        value = rng.choice([rng.randint(-5, 30), round(rng.uniform(-5, 30), 2)])
        points.append((moment, value, rng.choice(["low", "mid", "high", "storm"])))
    body = {
        "id": EID,
        "type": "Sensor",
        "temp": [{"value": v, "observedAt": stamp(m)} for m, v, _ in points],
        "label": [{"value": label, "observedAt": stamp(m)} for m, _, label in points],
    }
    assert TemporalService(hub).upsert(body, hub.context()) is True
    return sorted(points)


def expected(
    points: list[tuple[datetime, Any]],
    bucket_of: Any,
    bounds_of: Any,
    numeric: bool,
) -> dict[str, list[list[Any]]]:
    groups: dict[int, list[Any]] = {}
    for moment, value in points:
        groups.setdefault(bucket_of(moment), []).append(value)
    out: dict[str, list[list[Any]]] = {m: [] for m in METHODS}
    for key in sorted(groups):
        values = groups[key]
        start, end = (stamp(b) for b in bounds_of(key))
        results: dict[str, Any] = {
            "totalCount": len(values),
            "distinctCount": len(set(values)),
            "min": min(values),
            "max": max(values),
        }
        if numeric:
            results |= {
                "sum": sum(values),
                "avg": statistics.fmean(values),
                "sumsq": sum(v * v for v in values),
            }
            if len(values) > 1:
                results["stddev"] = statistics.stdev(values)
        for method, value in results.items():
            out[method].append([value, start, end])
    return out


def check(got: dict[str, Any], want: dict[str, list[list[Any]]]) -> None:
    for method in METHODS:
        assert len(got[method]) == len(want[method]), method
        for (value, start, end), (wanted, w_start, w_end) in zip(
            got[method], want[method], strict=True
        ):
            assert (start, end) == (w_start, w_end), method
            if isinstance(wanted, float):
                assert value == pytest.approx(wanted, rel=1e-9, abs=1e-9), method
            else:
                assert value == wanted, method


def aggregate(hub: Hub, period: str | None, **temporal: Any) -> dict[str, Any]:
    query = make_temporal_query(
        representation="aggregatedValues",
        aggr_methods=",".join(METHODS),
        aggr_period=period,
        **temporal,
    )
    return TemporalService(hub).retrieve(EID, query, hub.context()).entities[0]


@pytest.mark.parametrize("period", ["PT1H", "PT6H", "P1D", "PT90M", "P1W", "PT2H30M15.5S"])
def test_fixed_periods_from_time_at(hub: Hub, series, period: str) -> None:
    step = timedelta(microseconds=parse_duration(period).micros)
    origin = T0 + timedelta(days=3, hours=5)
    end = T0 + timedelta(days=31)
    inside = [(m, v) for m, v, _ in series if origin <= m < end]

    def bucket(moment: datetime) -> int:
        return (moment - origin) // step

    def bounds(key: int) -> tuple[datetime, datetime]:
        return origin + key * step, min(origin + (key + 1) * step, end)

    got = aggregate(hub, period, timerel="between", time_at=stamp(origin), end_time_at=stamp(end))
    assert got["temp"]["type"] == "Property"
    check(got["temp"], expected(inside, bucket, bounds, numeric=True))
    labels = [(m, label) for m, _, label in series if origin <= m < end]
    want = expected(labels, bucket, bounds, numeric=False)
    check(got["label"], want)
    assert got["label"]["sum"] == [] and got["label"]["avg"] == []


def test_before_counts_periods_back_from_time_at(hub: Hub, series) -> None:
    origin = T0 + timedelta(days=20, minutes=7)
    step = timedelta(days=1)
    inside = [(m, v) for m, v, _ in series if m < origin]
    got = aggregate(hub, "P1D", timerel="before", time_at=stamp(origin))
    want = expected(
        inside,
        lambda m: (m - origin) // step,
        lambda k: (origin + k * step, min(origin + (k + 1) * step, origin)),
        numeric=True,
    )
    check(got["temp"], want)
    assert got["temp"]["avg"][-1][2] == stamp(origin)


def test_no_time_relation_starts_at_the_oldest_instance(hub: Hub, series) -> None:
    origin = series[0][0]
    step = timedelta(hours=12)
    got = aggregate(hub, "PT12H")
    want = expected(
        [(m, v) for m, v, _ in series],
        lambda m: (m - origin) // step,
        lambda k: (origin + k * step, origin + (k + 1) * step),
        numeric=True,
    )
    check(got["temp"], want)


@pytest.mark.parametrize("period", [None, "PT0S", "P0D"])
def test_whole_range(hub: Hub, series, period: str | None) -> None:
    start = T0 + timedelta(days=2)
    inside = [(m, v) for m, v, _ in series if m >= start]
    got = aggregate(hub, period, timerel="after", time_at=stamp(start))
    want = expected(inside, lambda m: 0, lambda k: (start, inside[-1][0]), numeric=True)
    check(got["temp"], want)


def add_months(moment: datetime, months: int) -> datetime:
    year, month = divmod(moment.month - 1 + months, 12)
    year += moment.year
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month + 1, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month + 1)


@pytest.mark.parametrize("months", [1, 2])
def test_calendar_months(hub: Hub, series, months: int) -> None:
    origin = T0 + timedelta(hours=2)  # 2026-01-31: February's period starts on the 28th
    inside = [(m, v) for m, v, _ in series if m >= origin]

    def bucket(moment: datetime) -> int:
        key = 0
        while add_months(origin, (key + 1) * months) <= moment:
            key += 1
        return key

    want = expected(
        inside,
        bucket,
        lambda k: (add_months(origin, k * months), add_months(origin, (k + 1) * months)),
        numeric=True,
    )
    got = aggregate(hub, f"P{months}M", timerel="after", time_at=stamp(origin))
    check(got["temp"], want)
    if months == 1:
        assert got["temp"]["totalCount"][1][1] == "2026-02-28T00:17:05.000Z"


def test_last_n_and_pagination_of_periods(hub: Hub, series) -> None:
    full = aggregate(hub, "P1D")["temp"]["totalCount"]
    last = aggregate(hub, "P1D", last_n=3)["temp"]["totalCount"]
    assert last == full[-3:]
    hub.settings.temporal_max_instances = 5
    page = TemporalService(hub).retrieve(
        EID,
        make_temporal_query(
            representation="aggregatedValues", aggr_methods="totalCount", aggr_period="P1D"
        ),
        hub.context(),
    )
    assert page.content_range is not None
    assert page.entities[0]["temp"]["totalCount"] == full[:5]
    assert page.content_range.header().split(" ")[1].endswith(f"-{full[5][1]}/*")


def test_query_aggregates_datasets_and_entities(hub: Hub) -> None:
    ctx = hub.context()
    service = TemporalService(hub)
    for n, base in ((1, 0), (2, 100)):
        body = {
            "id": f"urn:ngsi-ld:Sensor:{n}",
            "type": "Sensor",
            "temp": [
                {"value": base + h, "observedAt": f"2026-01-01T{h:02d}:30:00Z"} for h in range(4)
            ]
            + [
                {"value": 7, "observedAt": "2026-01-01T00:00:00Z", "datasetId": "urn:ngsi-ld:D:x"},
                {"value": 9, "observedAt": "2026-01-01T03:00:00Z", "datasetId": "urn:ngsi-ld:D:x"},
            ],
            "open": [
                {"value": h % 2 == 0, "observedAt": f"2026-01-01T{h:02d}:00:00Z"} for h in range(4)
            ],
        }
        service.upsert(body, ctx)
    query = make_temporal_query(
        timerel="between",
        time_at="2026-01-01T00:00:00Z",
        end_time_at="2026-01-01T04:00:00Z",
        representation="aggregatedValues",
        aggr_methods="sum,avg",
        aggr_period="PT2H",
    )
    got = service.query(EntityQuery(type="Sensor"), query, ctx).entities
    assert [e["id"] for e in got] == ["urn:ngsi-ld:Sensor:1", "urn:ngsi-ld:Sensor:2"]
    default, dataset = got[1]["temp"]
    assert default["sum"] == [
        [201, "2026-01-01T00:00:00.000Z", "2026-01-01T02:00:00.000Z"],
        [205, "2026-01-01T02:00:00.000Z", "2026-01-01T04:00:00.000Z"],
    ]
    assert dataset["datasetId"] == "urn:ngsi-ld:D:x"
    assert [v for v, _, _ in dataset["avg"]] == [7.0, 9.0]
    assert [v for v, _, _ in got[0]["open"]["sum"]] == [1, 1]  # booleans count as 0 and 1


@pytest.mark.parametrize(
    ("text", "months", "micros"),
    [
        ("PT1H", 0, 3_600_000_000),
        ("P1D", 0, 86_400_000_000),
        ("P2W", 0, 14 * 86_400_000_000),
        ("PT1M30.25S", 0, 90_250_000),
        ("PT0,5S", 0, 500_000),
        ("P1M", 1, 0),
        ("P1Y2M", 14, 0),
        ("P1Y2M3DT4H5M6S", 14, ((3 * 24 + 4) * 60 + 5) * 60_000_000 + 6_000_000),
        ("PT0S", 0, 0),
    ],
)
def test_durations(text: str, months: int, micros: int) -> None:
    duration = parse_duration(text)
    assert (duration.months, duration.micros) == (months, micros)


@pytest.mark.parametrize(
    "text", ["P", "PT", "1H", "PT-1H", "P1H", "PT1D", "P1DT", "P1.5D", "p1d", "P1D ", "", "P T1H"]
)
def test_bad_durations(text: str) -> None:
    with pytest.raises(BadRequestData, match="aggrPeriodDuration"):
        parse_duration(text)


def test_too_many_calendar_periods(hub: Hub, series) -> None:
    query = make_temporal_query(
        timerel="between",
        time_at="1000-01-01T00:00:00Z",
        end_time_at="2026-01-01T00:00:00Z",
        representation="aggregatedValues",
        aggr_methods="sum",
        aggr_period="P1M",
    )
    with pytest.raises(BadRequestData, match="more than 10000 periods"):
        TemporalService(hub).retrieve(EID, query, hub.context())
