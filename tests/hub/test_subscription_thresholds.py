"""Subscriptions filed by a numeric threshold of their ``q``: the look-up by bisection finds
exactly the subscriptions that evaluating every ``q`` finds."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from subscription_kit import fast_settings, subscription

from cityos.hub.backends import open_hub
from cityos.hub.model import parse_entity
from cityos.hub.query_eval import numeric_extent, threshold_of
from cityos.hub.query_language import Operator, parse_q
from cityos.hub.subscriptions.matching import TenantIndex, selects
from cityos.hub.subscriptions.service import subscriptions_of

URI = "http://127.0.0.1:9/notify"
OPS = [">", ">=", "<", "<="]
NOW = "2026-12-01T00:00:00Z"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory):
    """A hub on SQLite and a function compiling subscription documents with its context."""
    hub = open_hub(fast_settings(tmp_path_factory.mktemp("thresholds"), notify_enabled=False))
    service = subscriptions_of(hub)
    ctx = hub.context()

    def compile_all(queries: list[str]) -> list[Any]:
        ids = [service.create(subscription(URI, q=q), ctx) for q in queries]
        subs = [service.index.get("", sid) for sid in ids]
        for sid in ids:
            service.delete(sid, "")
        return subs

    yield hub, compile_all
    hub.storage.close()


def expand(name: str) -> str:
    return f"https://example.org/{name}"


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("pm25>35", ("pm25", Operator.GT, 35)),
        ('airQualityLevel=="good";pm10<=50.5', ("pm10", Operator.LE, 50.5)),
        ("pm25>=1;pm10<3", ("pm25", Operator.GE, 1)),
        ("pm25==35", None),  # equality is not an ordering
        ("pm25>35|pm10>50", None),  # a disjunction has no necessary term
        ("pm25.unitCode>1", None),  # metadata, not the value
        ("pm25[level]>1", None),  # a compound member
        ('pm25>"a"', None),  # text ordering
    ],
)
def test_threshold_of(q: str, expected: tuple | None):
    found = threshold_of(parse_q(q), expand)
    if expected is None:
        assert found is None
    else:
        attr, op, bound = expected
        assert (found.attr, found.op, found.bound) == (expand(attr), op, bound)


def test_numeric_extent_reads_values_and_array_elements_only():
    instances = [
        {"type": "Property", "value": 4},
        {"type": "Property", "value": [1.5, "x", True, 9]},
        {"type": "Property", "value": "12"},
        {"type": "Relationship", "object": "urn:a"},
        {"type": "Property", "value": float("nan")},
    ]
    assert numeric_extent(instances) == (1.5, 9)
    assert numeric_extent([{"type": "Property", "value": True}]) is None
    assert numeric_extent(None) is None


def test_a_hundred_thresholds_file_as_one_group(compiled):
    hub, compile_all = compiled
    subs = compile_all([f"pm25>{1000 + i}" for i in range(100)] + ["pm25==3"])
    index = TenantIndex(subs)
    type_iri = next(iter(index.by_threshold))
    assert len(index.by_threshold[type_iri]) == 1 and len(index.by_type[type_iri]) == 1
    entity = parse_entity(
        {"id": "urn:ngsi-ld:AirQualityObserved:1", "type": "AirQualityObserved",
         "pm25": {"type": "Property", "value": 1050}},
        hub.context().expand_term,
        now=NOW,
    )  # fmt: skip
    found = index.candidates(entity.types, None, entity.attrs)
    assert {s.document["q"] for s in found} == {f"pm25>{1000 + i}" for i in range(50)} | {"pm25==3"}


numbers = st.one_of(
    st.integers(-5, 5), st.floats(-5, 5, allow_nan=False).map(lambda x: round(x, 1))
)
values = st.one_of(numbers, st.lists(numbers, max_size=3), st.just("text"), st.booleans())


@settings(max_examples=60, deadline=None)
@given(
    terms=st.lists(st.tuples(st.sampled_from(OPS), numbers), min_size=1, max_size=12),
    pm25=st.lists(values, min_size=0, max_size=3),
    extra=st.booleans(),
)
def test_lookup_equals_evaluating_every_q(compiled, terms, pm25, extra):
    hub, compile_all = compiled
    queries = [f"pm25{op}{bound}" + (";pm10>0" if extra and i % 2 else "") for i, (op, bound)
               in enumerate(terms)]  # fmt: skip
    subs = compile_all(queries)
    body: dict[str, Any] = {"id": "urn:ngsi-ld:AirQualityObserved:1", "type": "AirQualityObserved",
                            "pm10": {"type": "Property", "value": 1}}  # fmt: skip
    for n, value in enumerate(pm25):
        instance = {"type": "Property", "value": value}
        if n:
            instance["datasetId"] = f"urn:ngsi-ld:Dataset:{n}"
        body["pm25"] = [*body.get("pm25", []), instance]
    entity = parse_entity(body, hub.context().expand_term, now=NOW)
    index = TenantIndex(subs)
    candidates = {s.id for s in index.candidates(entity.types, None, entity.attrs)}
    by_lookup = {s.id for s in subs if s.id in candidates and selects(s, entity, by_type=True)}
    by_evaluation = {s.id for s in subs if selects(s, entity)}
    assert by_lookup == by_evaluation
    # A single-term q is decided by the look-up alone: no more candidates than matches.
    single = {s.id for s in subs if ";" not in s.document["q"]}
    assert candidates & single == by_evaluation & single
