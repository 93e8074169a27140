"""SQLite compilation of the NGSI-LD query language, checked against the Python evaluator."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cityos.core.errors import BadRequestData
from cityos.hub.query_eval import compile_predicate, matches
from cityos.hub.query_language import (
    And,
    AttrPath,
    BooleanValue,
    Comparison,
    DateTimeValue,
    DateValue,
    Exists,
    NotExists,
    NumberValue,
    Operator,
    Or,
    Query,
    Range,
    RegexPattern,
    StringValue,
    TimeValue,
    UriValue,
    ValueList,
    canonical_datetime,
    parse_q,
    to_text,
)
from cityos.hub.query_sql import compile_q, register_sqlite_functions

Entity = dict[str, list[dict[str, Any]]]
NS = "https://example.org/"


def expand(term: str) -> str:
    """A stand-in for @context expansion: ``ex:`` prefix, full IRIs kept, else the vocabulary."""
    if term == "weirdKey":
        return NS + "weird'key"
    if term.startswith("ex:"):
        return NS + term[3:]
    if "://" in term or term.startswith("urn:"):
        return term
    return NS + term


def prop(value: object, **members: object) -> dict[str, Any]:
    return {"type": "Property", "value": value, **members}


def rel(target: object, **members: object) -> dict[str, Any]:
    return {"type": "Relationship", "value": target, **members}


def lang(value: object, **members: object) -> dict[str, Any]:
    return {"type": "LanguageProperty", "value": value, **members}


ENTITIES: dict[str, Entity] = {
    "room1": {
        NS + "temperature": [
            prop(
                21.5,
                observedAt="2024-03-01T10:00:00.000Z",
                unitCode="CEL",
                **{NS + "accuracy": prop(0.5, unitCode="CEL")},
            )
        ],
        NS + "name": [lang({"en": "kitchen", "fr": "cuisine"})],
        NS + "isPartOf": [
            rel("urn:ngsi-ld:Building:1", **{NS + "providedBy": rel("urn:ngsi-ld:Person:Bob")})
        ],
        NS + "address": [
            prop({"city": "Berlin", "street": "Ulrich Strasse", "geo": {"zip": "10115"}})
        ],
        NS + "tags": [{"type": "ListProperty", "value": ["warm", "sunny"]}],
        NS + "open": [prop(True)],
        NS + "built": [prop("2001-05-20")],
        NS + "inspected": [prop("2024-02-01T08:00:00+01:00")],
        NS + "opens": [prop("08:30:00Z")],
    },
    "room2": {
        NS + "temperature": [
            prop(18, observedAt="2024-01-15T00:00:00.000Z"),
            prop(25, datasetId="urn:ngsi-ld:Dataset:sensor2"),
        ],
        NS + "name": [lang({"en": ["red", "cat"], "de": "rot"})],
        NS + "isPartOf": [rel("urn:ngsi-ld:Building:2")],
        NS + "address": [prop({"city": "Paris"})],
        NS + "tags": [{"type": "ListProperty", "value": ["cold"]}],
        NS + "open": [prop(False)],
        NS + "built": [prop("1999-12-31")],
        NS + "inspected": [prop("2024-01-31T23:30:00Z")],
        NS + "opens": [prop("09:00")],
    },
    "room3": {
        NS + "temperature": [prop("warm")],
        NS + "isPartOf": [
            {
                "type": "ListRelationship",
                "value": ["urn:ngsi-ld:Building:1", "urn:ngsi-ld:Building:3"],
            }
        ],
        NS + "gender": [{"type": "VocabProperty", "value": NS + "Male"}],
        NS + "brandName": [prop("Mercedes-Benz")],
    },
    "room4": {
        NS + "humidity": [
            prop(40, datasetId="urn:ngsi-ld:Dataset:a", observedAt="2024-05-01T00:00:00Z"),
            prop(60, datasetId="urn:ngsi-ld:Dataset:b"),
        ],
        NS + "brandName": [prop("mercedes")],
        "http://example.org/ns#speed": [prop(120, **{"http://example.org/ns#max": prop(130)})],
    },
    "room5": {
        NS + "temperature": [prop([10, 30.5])],
        NS + "address": [prop({"city": ["Berlin", "Potsdam"], "geo": {"zip": 14467}})],
        NS + "name": [lang({"it": "cucina"}), lang({"en": "galley"}, datasetId="urn:ds:1")],
        NS + "open": [prop("true")],
        NS + "weird'key": [prop(1)],
    },
}


def store(conn: sqlite3.Connection, entities: Mapping[str, Entity]) -> None:
    """Store as the storage does: default instances in ``attrs``, the others in ``datasets``."""
    for entity_id, attributes in entities.items():
        default: dict[str, Any] = {}
        datasets: dict[str, list[dict[str, Any]]] = {}
        for iri, instances in attributes.items():
            for instance in instances:
                if "datasetId" in instance:
                    datasets.setdefault(iri, []).append(instance)
                else:
                    default[iri] = instance
        conn.execute(
            "INSERT INTO e (id, attrs, datasets) VALUES (?, ?, ?)",
            (
                entity_id,
                orjson.dumps(default).decode(),
                orjson.dumps(datasets).decode() if datasets else None,
            ),
        )


def connect() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    register_sqlite_functions(conn)
    conn.execute("CREATE TABLE e (id TEXT PRIMARY KEY, attrs TEXT NOT NULL, datasets TEXT)")
    return conn


@pytest.fixture(scope="module")
def conn() -> Iterator[sqlite3.Connection]:
    connection = connect()
    store(connection, ENTITIES)
    yield connection
    connection.close()


def sql_ids(conn: sqlite3.Connection, ast: Query) -> set[str]:
    where, params = compile_q(ast, expand)
    assert where.count("?") == len(params)
    return {row[0] for row in conn.execute(f"SELECT id FROM e WHERE {where}", params)}


def eval_ids(entities: Mapping[str, Entity], ast: Query) -> set[str]:
    return {entity_id for entity_id, attrs in entities.items() if matches(ast, attrs, expand)}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        # existence
        ("temperature", {"room1", "room2", "room3", "room5"}),
        ("humidity", {"room4"}),
        ("!temperature", {"room4"}),
        ("!humidity", {"room1", "room2", "room3", "room5"}),
        ("temperature.accuracy", {"room1"}),
        ("temperature.observedAt", {"room1", "room2"}),
        ("humidity.observedAt", {"room4"}),
        ("temperature.unitCode", {"room1"}),
        ("temperature.datasetId", {"room2"}),
        ("temperature.accuracy.unitCode", {"room1"}),
        ("address[city]", {"room1", "room2", "room5"}),
        ("address[geo.zip]", {"room1", "room5"}),
        ("address[geo][zip]", {"room1", "room5"}),
        ("!address[geo.zip]", {"room2", "room3", "room4"}),
        ("address[*]", {"room1", "room2", "room5"}),
        ("isPartOf.providedBy", {"room1"}),
        # numbers, type safety, arrays, datasets
        ("temperature>20", {"room1", "room2", "room5"}),
        ("temperature>=21.5", {"room1", "room2", "room5"}),
        ("temperature<18", {"room5"}),
        ("temperature<=18", {"room2", "room5"}),
        ("temperature==18", {"room2"}),
        ("temperature==25", {"room2"}),
        ("temperature==30.5", {"room5"}),
        ("temperature==18.0", {"room2"}),
        ("temperature==18,21.5", {"room1", "room2"}),
        ("temperature==19..22", {"room1"}),
        ("temperature==0..10", {"room5"}),
        ("humidity==40", {"room4"}),
        ("humidity>50", {"room4"}),
        ("humidity<30", set()),
        # != : exists and not equal; arrays must not contain; mismatched types are unequal
        ("temperature!=18", {"room1", "room2", "room3", "room5"}),
        ("temperature!=21.5", {"room2", "room3", "room5"}),
        ("temperature!=10", {"room1", "room2", "room3"}),
        ("temperature!=10,30.5", {"room1", "room2", "room3"}),
        ("temperature!=0..20", {"room1", "room2", "room3"}),
        ('temperature!="warm"', {"room1", "room2", "room5"}),
        ("humidity!=40", {"room4"}),
        # strings
        ('temperature=="warm"', {"room3"}),
        ('temperature>"a"', {"room3"}),
        ('address[city]=="Berlin"', {"room1", "room5"}),
        ('address[city]!="Berlin"', {"room2"}),
        ('address[city]=="Paris","Potsdam"', {"room2", "room5"}),
        ('address[city]=="Bz".."Pb"', {"room2"}),
        ("address[geo.zip]==14467", {"room5"}),
        ('address[geo.zip]=="10115"', {"room1"}),
        ('tags=="sunny"', {"room1"}),
        ('tags!="sunny"', {"room2"}),
        ('brandName=="Mercedes-Benz"', {"room3"}),
        # booleans are not strings
        ("open==true", {"room1"}),
        ("open==false", {"room2"}),
        ("open!=true", {"room2", "room5"}),
        ('open=="true"', {"room5"}),
        ("open==true,false", {"room1", "room2"}),
        # language maps
        ('name=="cuisine"', {"room1"}),
        ('name=="red"', {"room2"}),
        ('name=="galley"', {"room5"}),
        ('name[en]=="kitchen"', {"room1"}),
        ('name[en]=="cat"', {"room2"}),
        ('name[fr]=="kitchen"', set()),
        ('name[*]=="rot"', {"room2"}),
        ('name!="red"', {"room1", "room5"}),
        ('name[en]!="red"', {"room1", "room5"}),
        ("name~=^cu", {"room1", "room5"}),
        ("name!~=^cu", {"room2", "room5"}),
        ("name==1", set()),
        # relationships: only == and != apply
        ("isPartOf==urn:ngsi-ld:Building:1", {"room1", "room3"}),
        ('isPartOf=="urn:ngsi-ld:Building:2"', {"room2"}),
        ("isPartOf!=urn:ngsi-ld:Building:1", {"room2"}),
        ("isPartOf==urn:ngsi-ld:Building:2,urn:ngsi-ld:Building:3", {"room2", "room3"}),
        ("isPartOf.providedBy==urn:ngsi-ld:Person:Bob", {"room1"}),
        ('isPartOf>"urn"', set()),
        ("isPartOf~=Building", set()),
        ("isPartOf!~=Building", set()),
        ("gender==https://example.org/Male", {"room3"}),
        # regular expressions
        ("brandName~=^Merc", {"room3"}),
        ("brandName~=(?i)^merc", {"room3", "room4"}),
        ("brandName!~=^Merc", {"room4"}),
        ('brandName~="(?i)benz$"', {"room3"}),
        ("temperature~=.", {"room3"}),
        ("temperature!~=x", {"room3"}),
        ("tags~=^s", {"room1"}),
        ("tags!~=^s", {"room2"}),
        # temporal values
        ("temperature.observedAt>=2024-02-01T00:00:00Z", {"room1"}),
        ("temperature.observedAt<2024-02-01", set()),
        ("temperature.observedAt==2024-01-15T01:00:00+01:00", {"room2"}),
        ("temperature.observedAt==2024-01-01T00:00:00Z..2024-12-31T00:00:00Z", {"room1", "room2"}),
        ("humidity.observedAt>2024-04-30T23:59:59.999Z", {"room4"}),
        ("inspected<2024-01-31T23:45:00Z", {"room2"}),
        ("inspected<2024-02-01T07:00:00.001Z", {"room1", "room2"}),
        ("inspected==2024-02-01T07:00:00Z", {"room1"}),
        ('inspected=="2024-02-01T07:00:00Z"', set()),
        ("built>2000-01-01", {"room1"}),
        ("built==1999-12-31,2001-05-20", {"room1", "room2"}),
        ("built<2000-01-01T00:00:00Z", set()),
        ("opens<09:00:00Z", {"room1"}),
        ("opens==09:00", {"room2"}),
        ("opens==08:00..08:45", {"room1"}),
        # sub-attributes and well-known members
        ("temperature.accuracy<1", {"room1"}),
        ('temperature.unitCode=="CEL"', {"room1"}),
        ('temperature.accuracy.unitCode=="CEL"', {"room1"}),
        ("temperature.datasetId==urn:ngsi-ld:Dataset:sensor2", {"room2"}),
        ("temperature.datasetId!=urn:ngsi-ld:Dataset:other", {"room2"}),
        ("humidity.datasetId==urn:ngsi-ld:Dataset:a", {"room4"}),
        ("name.datasetId==urn:ds:1", {"room5"}),
        # IRIs as names
        ("ex:temperature>20", {"room1", "room2", "room5"}),
        ("https://example.org/temperature>20", {"room1", "room2", "room5"}),
        ("http://example.org/ns#speed>100", {"room4"}),
        ("http://example.org/ns#speed.http://example.org/ns#max==130", {"room4"}),
        ("weirdKey==1", {"room5"}),
        # logic
        ("temperature>20;open==true", {"room1"}),
        ("temperature>20|humidity", {"room1", "room2", "room4", "room5"}),
        ("humidity|temperature>20;open==true", {"room1", "room4"}),
        ("(humidity|temperature>20);open==true", {"room1"}),
        ("!temperature|!name", {"room3", "room4"}),
        ("unknown", set()),
        ("!unknown", {"room1", "room2", "room3", "room4", "room5"}),
    ],
)
def test_sql_and_evaluator_agree(conn: sqlite3.Connection, q: str, expected: set[str]) -> None:
    ast = parse_q(q)
    assert eval_ids(ENTITIES, ast) == expected
    assert sql_ids(conn, ast) == expected


def test_fragment_is_null_free_under_negation(conn: sqlite3.Connection) -> None:
    everything = set(ENTITIES)
    for q in ("temperature>20", "name!~=^cu", "address[geo.zip]==14467", "!humidity"):
        where, params = compile_q(parse_q(q), expand)
        rows = conn.execute(f"SELECT id FROM e WHERE NOT IFNULL({where}, 0)", params)
        assert {row[0] for row in rows} == everything - eval_ids(ENTITIES, parse_q(q))


def test_compiled_fragment_uses_parameters_for_values() -> None:
    where, params = compile_q(parse_q('a=="x\'); DROP TABLE e; --"'), expand)
    assert "DROP" not in where
    assert params and set(params) == {"x'); DROP TABLE e; --"}


def test_iris_are_quoted_in_json_paths(conn: sqlite3.Connection) -> None:
    where, _ = compile_q(parse_q("weirdKey==1"), expand)
    assert "'$.\"https://example.org/weird''key\"" in where


def test_invalid_expanded_iri_is_rejected() -> None:
    with pytest.raises(BadRequestData):
        compile_q(parse_q("a==1"), lambda name: 'https://example.org/"a')


def test_regexp_function_is_registered_and_none_safe() -> None:
    db = connect()
    assert db.execute("SELECT 'abc' REGEXP '^a', REGEXP('c$', 'abc')").fetchone() == (1, 1)
    assert db.execute("SELECT REGEXP('^b', 'abc'), REGEXP(NULL, 'a')").fetchone() == (0, 0)
    assert db.execute("SELECT REGEXP('a', NULL), REGEXP('a', 1), REGEXP('(', '(')").fetchone() == (
        0,
        0,
        0,
    )
    assert db.execute("SELECT ngsi_datetime('2024-01-01T01:00:00+01:00')").fetchone() == (
        "2024-01-01T00:00:00.000000Z",
    )
    assert db.execute("SELECT ngsi_date('2024-02-30'), ngsi_time('7:00')").fetchone() == (
        None,
        None,
    )


def test_malformed_instances_are_ignored() -> None:
    iri = NS + "a"
    good = prop(1, datasetId="urn:ds:1")
    db = connect()
    db.execute(
        "INSERT INTO e VALUES ('x', ?, ?)",
        (
            orjson.dumps({NS + "b": 5}).decode(),
            orjson.dumps({iri: ["text", 5, None, good]}).decode(),
        ),
    )
    attrs: Any = {iri: ["text", 5, None, good], NS + "b": [5]}
    for q, expected in [("a==1", True), ("a", True), ("!a", False), ("a!=1", False), ("b", False)]:
        assert matches(parse_q(q), attrs, expand) is expected, q
        assert sql_ids(db, parse_q(q)) == ({"x"} if expected else set()), q


def test_compiled_predicate_is_reusable() -> None:
    predicate = compile_predicate(parse_q("temperature>20"), expand)
    assert {i for i, attrs in ENTITIES.items() if predicate(attrs)} == {"room1", "room2", "room5"}
    assert not predicate({})


# -- random data and random queries -----------------------------------------------------------

ATTRS = ["a", "b"]
SUB = "s"
MEMBERS = ["m", "n"]
INTS = st.sampled_from([0, 1, 2])
FLOATS = st.sampled_from([0.5, 2.0])
TEXTS = st.sampled_from(["a", "ab", "Ab", "é", "a'b", 'x"y', "urn:x:1"])
DATETIMES = st.sampled_from(
    [
        "2024-01-01T00:00:00Z",
        "2024-01-01T01:00:00+01:00",
        "2024-01-01T00:00:00.500Z",
        "2024-02-30T00:00:00Z",
    ]
)
DATES = st.sampled_from(["2024-01-01", "2024-02-30"])
TIMES = st.sampled_from(["08:30:00", "08:30:00Z", "25:00"])
SCALAR_DATA = st.one_of(INTS, FLOATS, TEXTS, st.booleans(), st.none(), DATETIMES, DATES, TIMES)
JSON_VALUES = st.recursive(
    SCALAR_DATA,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3),
        st.dictionaries(st.sampled_from(MEMBERS), children, min_size=1, max_size=2),
    ),
    max_leaves=6,
)
TYPES = st.sampled_from(
    ["Property", "Property", "Property", "Relationship", "LanguageProperty", "ListRelationship"]
)
METAS = st.sampled_from(["observedAt", "unitCode", "datasetId", "createdAt"])


@st.composite
def instances(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    instance: dict[str, Any] = {"type": draw(TYPES)}
    shape = draw(st.sampled_from(["scalar", "scalar", "scalar", "json", "missing"]))
    if instance["type"] in ("Relationship", "ListRelationship"):
        # the model only stores URIs as objects (model.parse_instance validates them)
        if shape != "missing":
            instance["value"] = draw(st.one_of(TEXTS, st.lists(TEXTS, min_size=1, max_size=3)))
    elif shape != "missing":
        instance["value"] = draw(SCALAR_DATA if shape == "scalar" else JSON_VALUES)
    if draw(st.booleans()):
        instance["observedAt"] = draw(st.one_of(DATETIMES, DATETIMES, st.none()))
    if draw(st.booleans()):
        instance["unitCode"] = draw(TEXTS)
    if depth == 0 and draw(st.booleans()):
        instance[NS + SUB] = draw(st.one_of(instances(depth=1), SCALAR_DATA))
    return instance


@st.composite
def entities(draw: st.DrawFn) -> Entity:
    entity: Entity = {}
    for name in draw(st.lists(st.sampled_from(ATTRS), unique=True)):
        found = []
        if draw(st.sampled_from([True, True, True, False])):
            found.append(draw(instances()))
        for index in range(draw(st.integers(0, 2))):
            dataset = draw(instances())
            dataset["datasetId"] = f"urn:x:{index + 1}"
            found.append(dataset)
        if found:
            entity[NS + name] = found
    return entity


DATETIME_VALUES = DATETIMES.map(canonical_datetime).filter(bool).map(DateTimeValue)
DATE_VALUES = st.just(DateValue("2024-01-01"))
TIME_VALUES = st.sampled_from(["08:30:00.000000", "12:00:00.000000"]).map(TimeValue)
ORDERABLE = st.one_of(
    INTS.map(NumberValue),
    FLOATS.map(NumberValue),
    TEXTS.map(StringValue),
    DATETIME_VALUES,
    DATE_VALUES,
    TIME_VALUES,
)
QUERY_SCALARS = st.one_of(
    ORDERABLE, st.booleans().map(BooleanValue), st.just("urn:x:1").map(UriValue)
)


@st.composite
def paths(draw: st.DrawFn) -> AttrPath:
    attr = draw(st.sampled_from(ATTRS))
    sub = (SUB,) if draw(st.sampled_from([False, False, True])) else ()
    shape = draw(st.sampled_from(["value", "value", "value", "meta", "members", "wildcard"]))
    if shape == "meta":
        return AttrPath(attr, sub, draw(METAS))
    members = draw(st.lists(st.sampled_from(MEMBERS), min_size=1, max_size=2))
    if shape == "members":
        return AttrPath(attr, sub, None, tuple(members))
    if shape == "wildcard":
        return AttrPath(attr, sub, None, (*members[1:], "*"))
    return AttrPath(attr, sub)


@st.composite
def comparisons(draw: st.DrawFn) -> Comparison:
    path = draw(paths())
    kind = draw(st.sampled_from(range(5)))
    if kind == 0:
        op = draw(st.sampled_from([Operator.MATCH, Operator.NOT_MATCH]))
        pattern = draw(st.sampled_from(["^a", "b", "(?i)^a", "^$", "^2024", "é"]))
        return Comparison(path, op, RegexPattern(pattern))
    if kind == 1:
        op = draw(st.sampled_from([Operator.GT, Operator.GE, Operator.LT, Operator.LE]))
        return Comparison(path, op, draw(ORDERABLE))
    op = draw(st.sampled_from([Operator.EQ, Operator.NE]))
    if kind == 2:
        return Comparison(path, op, draw(QUERY_SCALARS))
    if kind == 3:
        values = draw(st.lists(QUERY_SCALARS, min_size=2, max_size=3))
        return Comparison(path, op, ValueList(tuple(values)))
    bounds = draw(
        st.lists(ORDERABLE, min_size=2, max_size=2).filter(lambda b: type(b[0]) is type(b[1]))
    )
    low, high = sorted(bounds, key=lambda bound: bound.value)
    return Comparison(path, op, Range(low, high))


RANDOM_QUERIES = st.recursive(
    st.one_of(comparisons(), paths().map(Exists), paths().map(NotExists)),
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda t: And(tuple(t))),
        st.lists(children, min_size=2, max_size=3).map(lambda t: Or(tuple(t))),
    ),
    max_leaves=5,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(entities(), min_size=1, max_size=6), st.lists(RANDOM_QUERIES, min_size=1, max_size=4)
)
def test_sql_matches_evaluator_on_random_data(data: list[Entity], queries: list[Query]) -> None:
    population = {f"e{index}": entity for index, entity in enumerate(data)}
    db = connect()
    try:
        store(db, population)
        for query in queries:
            expected = eval_ids(population, query)
            assert sql_ids(db, query) == expected, to_text(query)
            assert sql_ids(db, parse_q(to_text(query))) == expected
    finally:
        db.close()


@st.composite
def scalar_comparisons(draw: st.DrawFn) -> Comparison:
    op = draw(st.sampled_from(list(Operator)))
    if op in (Operator.MATCH, Operator.NOT_MATCH):
        return Comparison(AttrPath("a"), op, RegexPattern(draw(st.sampled_from(["^a", "^2024"]))))
    if op in (Operator.EQ, Operator.NE):
        return Comparison(AttrPath("a"), op, draw(QUERY_SCALARS))
    return Comparison(AttrPath("a"), op, draw(ORDERABLE))


PLAIN_VALUES = st.one_of(SCALAR_DATA, st.lists(SCALAR_DATA, min_size=1, max_size=3))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PLAIN_VALUES, min_size=1, max_size=8), st.lists(scalar_comparisons(), max_size=6))
def test_sql_matches_evaluator_on_scalar_comparisons(
    values: list[object], queries: list[Comparison]
) -> None:
    population = {f"e{index}": {NS + "a": [prop(value)]} for index, value in enumerate(values)}
    db = connect()
    try:
        store(db, population)
        for query in queries:
            assert sql_ids(db, query) == eval_ids(population, query), to_text(query)
    finally:
        db.close()
