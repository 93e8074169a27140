"""The PostgreSQL q compiler gives the ids the SQLite one gives, on the same data.

The data and the queries are those of ``test_query_sql.py`` (the fixed table and the random
generators), stored through both storage backends; every query runs through
``Storage.query``, so the weakened SQL of untranslatable patterns and its Python recheck are
covered too.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_query_sql import ENTITIES, NS, RANDOM_QUERIES, Entity, entities, eval_ids, expand

from cityos.hub.model import Entity as StoredEntity
from cityos.hub.query_language import (
    AttrPath,
    Comparison,
    Operator,
    Query,
    RegexPattern,
    parse_q,
    to_text,
)
from cityos.hub.query_pg import compile_q
from cityos.hub.storage.base import EntityFilter, EntitySelector
from cityos.hub.storage.postgres import PostgresStorage
from cityos.hub.storage.sqlite import SQLiteStorage

pytestmark = pytest.mark.postgresql

#: Patterns the ARE translation declines: the PostgreSQL backend rechecks them in Python.
UNTRANSLATED = ["\\d", "(?i)s", "\\w+$", "(?i)k"]
STAMP = "2024-01-01T00:00:00.000000Z"


class Pair:
    """The same data in both backends, one tenant per data set."""

    def __init__(self, sqlite: SQLiteStorage, postgres: PostgresStorage) -> None:
        self.backends = (sqlite, postgres)
        self.tenants = itertools.count()

    def load(self, population: dict[str, Entity]) -> str:
        tenant = f"t{next(self.tenants)}"
        rows = [
            StoredEntity(
                eid, [NS + "T"], {k: list(v) for k, v in attrs.items()}, None, STAMP, STAMP
            )
            for eid, attrs in population.items()
        ]
        for backend in self.backends:
            with backend.transaction(tenant) as tx:
                tx.insert(rows)
        return tenant

    def ids(self, tenant: str, flt: EntityFilter, limit: int = 1000) -> list[str]:
        found = []
        for backend in self.backends:
            page = backend.query(tenant, flt, limit=limit, offset=0, count=True)
            assert page.count is not None and page.count >= len(page.entities)
            found.append(([e.id for e in page.entities], page.count))
        assert found[0] == found[1]
        return found[0][0]


@pytest.fixture(scope="module")
def pair(postgres_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    name = postgres_server.checkout()
    sqlite = SQLiteStorage(tmp_path_factory.mktemp("q") / "hub.db")
    postgres = PostgresStorage(postgres_server.url_for(name))
    yield Pair(sqlite, postgres)
    sqlite.close()
    postgres.close()
    postgres_server.checkin(name)


@pytest.fixture(scope="module")
def table(pair: Pair) -> str:
    return pair.load(ENTITIES)


def q_filter(query: Query) -> EntityFilter:
    return EntityFilter(q=query, expand=expand)


@pytest.mark.parametrize(
    "q",
    [
        "temperature>20",
        "!humidity",
        "address[geo.zip]==14467",
        'name=="red"',
        "name~=^cu",
        "name!~=^cu",
        "brandName~=(?i)^merc",
        "inspected<2024-02-01T07:00:00.001Z",
        "opens==08:00..08:45",
        "built==1999-12-31,2001-05-20",
        "open==true,false",
        "weirdKey==1",
        "isPartOf==urn:ngsi-ld:Building:2,urn:ngsi-ld:Building:3",
        "temperature!=0..20",
        *(f'brandName~="{p}"|name~="{p}"' for p in ["\\\\d", "(?i)S", "(?i)k"]),
        *(f'brandName!~="{p}";temperature' for p in ["\\\\w+$", "(?i)k"]),
    ],
)
def test_fixed_table_agrees(pair: Pair, table: str, q: str) -> None:
    ast = parse_q(q)
    assert set(pair.ids(table, q_filter(ast))) == eval_ids(ENTITIES, ast)


def test_pages_of_a_rechecked_query_agree(pair: Pair) -> None:
    population = {
        f"e{i:02d}": {NS + "a": [{"type": "Property", "value": f"v{i}"}]} for i in range(30)
    }
    tenant = pair.load(population)
    flt = q_filter(parse_q('a~="\\\\d"'))
    for offset, limit in [(0, 7), (5, 10), (28, 10), (40, 3)]:
        pages = [
            b.query(tenant, flt, limit=limit, offset=offset, count=offset == 5)
            for b in pair.backends
        ]
        assert [e.id for e in pages[0].entities] == [e.id for e in pages[1].entities]
        assert pages[0].count == pages[1].count
    assert len(pair.ids(tenant, flt)) == 30


def test_id_patterns_and_selectors_agree(pair: Pair) -> None:
    population = {f"urn:ngsi-ld:X:{name}": {} for name in ["a1", "b2", "ab", "K9", "s\u212a"]}
    tenant = pair.load(population)
    for pattern in ["^urn:ngsi-ld:X:a", "\\d$", "(?i)x:k", "(?i)X:A", "b.$"]:
        pair.ids(tenant, EntityFilter(id_pattern=pattern))
        selectors = (EntitySelector(id_pattern=pattern), EntitySelector(id="urn:ngsi-ld:X:ab"))
        pair.ids(tenant, EntityFilter(selectors=selectors))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(entities(), min_size=1, max_size=6), st.lists(RANDOM_QUERIES, min_size=1, max_size=4)
)
def test_random_queries_agree(pair: Pair, data: list[Entity], queries: list[Query]) -> None:
    population = {f"e{index}": entity for index, entity in enumerate(data)}
    tenant = pair.load(population)
    for query in queries:
        pair.ids(tenant, q_filter(query))  # asserts that both backends agree
        pair.ids(tenant, q_filter(parse_q(to_text(query))))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(entities(), min_size=1, max_size=6),
    st.sampled_from(UNTRANSLATED),
    st.sampled_from([Operator.MATCH, Operator.NOT_MATCH]),
    st.sampled_from(["a", "b"]),
)
def test_random_untranslated_patterns_agree(
    pair: Pair, data: list[Entity], pattern: str, op: Operator, attr: str
) -> None:
    population = {f"e{index}": entity for index, entity in enumerate(data)}
    tenant = pair.load(population)
    query = Comparison(AttrPath(attr), op, RegexPattern(pattern))
    assert set(pair.ids(tenant, q_filter(query))) == eval_ids(population, query)


def test_compiled_condition_is_parameterised_and_quoted() -> None:
    condition = compile_q(parse_q('a=="x\'); DROP TABLE e; --"|weirdKey==1'), expand)
    assert "DROP" not in condition.sql and condition.exact
    assert condition.sql.count("%s") == len(condition.params)
    assert "'https://example.org/weird''key'" in condition.sql
    percent = compile_q(parse_q("a[50%]==1"), expand)
    assert "'50%%'" in percent.sql
    assert not compile_q(parse_q("a~=\\d"), expand).exact
    assert not compile_q(parse_q("a~=^x"), expand, translate_regex=False).exact
    indexed = compile_q(parse_q('a==1,"x";b>2;c==true'), expand)
    assert indexed.prefilter is not None and indexed.prefilter.count("@>") == 14
    assert indexed.prefilter.count("%s") == len(indexed.prefilter_params)
    assert compile_q(parse_q("a==1|b==2"), expand).prefilter is None
