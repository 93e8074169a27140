"""The PostgreSQL backend: migrations, pool, SQL twins of the Python semantics, geodesy, crashes.

Everything here needs the session's PostgreSQL server (``scripts/postgres.sh``).
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from cityos.core.errors import AlreadyExists
from cityos.core.settings import Settings
from cityos.hub.backends import open_hub, open_storage
from cityos.hub.broker import EntityQuery
from cityos.hub.geo import parse_geoquery
from cityos.hub.query_language import canonical_date, canonical_datetime, canonical_time
from cityos.hub.regex_are import to_are
from cityos.hub.storage.postgres import PostgresStorage, connection_settings
from cityos.hub.storage.postgres_schema import SCHEMA_VERSION

pytestmark = pytest.mark.postgresql

GEOD = Geod(ellps="WGS84")
PROPERTY = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def storage(postgres_url: str) -> Iterator[PostgresStorage]:
    store = open_storage(postgres_url)
    assert isinstance(store, PostgresStorage)
    yield store
    store.close()


@pytest.fixture(scope="module")
def sql(postgres_server: Any) -> Iterator[psycopg.Connection[Any]]:
    """A connection to a migrated database shared by the property tests of this module."""
    name = postgres_server.checkout()
    with psycopg.connect(postgres_server.url_for(name), autocommit=True) as conn:
        yield conn
    postgres_server.checkin(name)


# -- migrations and the pool ---------------------------------------------------------------------


def test_migrations_run_once_and_newer_schemas_are_refused(postgres_server: Any) -> None:
    name = postgres_server.create(postgres_server.postgis_template)
    url = postgres_server.url_for(name)
    try:
        open_storage(url).close()
        open_storage(url).close()  # a second start finds the schema current
        with psycopg.connect(url, autocommit=True) as conn:
            versions = [r[0] for r in conn.execute("SELECT version FROM schema_version")]
            assert versions == list(range(1, SCHEMA_VERSION + 1))
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (SCHEMA_VERSION + 1,))
        with pytest.raises(RuntimeError, match="newer than this CityOS"):
            open_storage(url)
    finally:
        postgres_server.drop(name)


def test_concurrent_starts_migrate_once(postgres_server: Any) -> None:
    name = postgres_server.create(postgres_server.postgis_template)
    url = postgres_server.url_for(name)
    errors: list[BaseException] = []

    def start() -> None:
        try:
            open_storage(url).close()
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=start) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM schema_version").fetchone() == (
                SCHEMA_VERSION,
            )
    finally:
        postgres_server.drop(name)


def test_url_sizes_the_pool_and_sessions_are_durable(postgres_url: str) -> None:
    conninfo, sizes = connection_settings(postgres_url + "?pool_min_size=2&pool_max_size=3")
    assert sizes == {"pool_min_size": 2, "pool_max_size": 3}
    assert "pool_" not in conninfo
    store = PostgresStorage(postgres_url + "?pool_min_size=2&pool_max_size=3")
    try:
        assert store.pool.max_size == 3
        with store.read() as conn:
            assert conn.execute("SHOW synchronous_commit").fetchone() == ("on",)
            assert conn.execute("SHOW TimeZone").fetchone() == ("UTC",)
    finally:
        store.close()
    assert store.pool.closed
    with pytest.raises(ValueError, match="pool_max_size"):
        connection_settings(postgres_url + "?pool_max_size=many")


def test_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="cannot connect"):
        PostgresStorage("postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=1")


def test_pool_serves_concurrent_readers_and_writers(storage: PostgresStorage) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(20):
                with storage.transaction(f"t{worker % 2}") as tx:
                    assert tx.get([f"urn:x:{worker}:{i}"]) == {}
                assert storage.tenant_exists(f"t{worker % 2}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert storage.tenants() == ["t0", "t1"]


def test_concurrent_creates_of_one_id_conflict_cleanly(postgres_url: str, tmp_path: Any) -> None:
    hub = open_hub(Settings(data_dir=tmp_path, database_url=postgres_url))
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def create() -> None:
        barrier.wait()
        try:
            hub.create_entity({"id": "urn:ngsi-ld:T:1", "type": "T"}, hub.context())
            outcomes.append("created")
        except AlreadyExists:
            outcomes.append("exists")

    try:
        threads = [threading.Thread(target=create) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["created"] + ["exists"] * 7
    finally:
        hub.storage.close()


def test_a_failed_transaction_leaves_nothing(storage: PostgresStorage, tmp_path: Any) -> None:
    from cityos.hub.model import Entity

    entity = Entity("urn:x:1", ["T"], {"a": [{"type": "Property", "value": 1}]}, None, "t", "t")
    with pytest.raises(ZeroDivisionError), storage.transaction("") as tx:
        tx.insert([entity])
        assert tx.get(["urn:x:1"])
        raise ZeroDivisionError
    assert storage.get_entities("", ["urn:x:1"]) == {}


def test_nul_characters_are_refused_as_bad_data(postgres_url: str, tmp_path: Any) -> None:
    hub = open_hub(Settings(data_dir=tmp_path, database_url=postgres_url))
    try:
        from cityos.core.errors import BadRequestData

        with pytest.raises(BadRequestData, match="NUL"):
            hub.create_entity(
                {"id": "urn:ngsi-ld:T:1", "type": "T", "a": {"value": "x\x00y"}}, hub.context()
            )
    finally:
        hub.storage.close()


# -- SQL twins of the Python helpers -------------------------------------------------------------

DATETIME_TEXT = st.one_of(
    st.from_regex(
        r"\A[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-6][0-9]"
        r"(:[0-6][0-9]([.,][0-9]{1,9})?)?(Z|z|[+-][0-2][0-9]:?[0-6][0-9])?\Z"
    ),
    st.sampled_from(
        [
            "0001-01-01T00:30:00+01:00",
            "0001-01-01T00:30:00-01:00",
            "9999-12-31T23:30:00-01:00",
            "2024-02-29T12:00:00Z",
            "2023-02-29T12:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:00:60Z",
            "2024-01-01T00:00:00+24:00",
            "0000-01-01T00:00:00Z",
        ]
    ),
    st.text(alphabet="0123456789-T:Zz+.,", max_size=30),
)


@PROPERTY
@given(text=DATETIME_TEXT)
def test_sql_datetime_normalisers_match_python(sql: psycopg.Connection[Any], text: str) -> None:
    row = sql.execute(
        "SELECT ngsi_datetime(%s), ngsi_date(%s), ngsi_time(%s), ngsi_date(left(%s, 10)), "
        "ngsi_time(right(%s, 8))",
        (text, text, text, text, text),
    ).fetchone()
    assert row == (
        canonical_datetime(text),
        canonical_date(text),
        canonical_time(text),
        canonical_date(text[:10]),
        canonical_time(text[-8:]),
    )


REGEX_PIECES = st.sampled_from(
    [
        "a", "b", "B", "é", "0", "9", ".", "^", "$", "\\.", "\\n", "-", " ", "_",
        "[ab]", "[^a]", "[a-c]", "[]a]", "[0-9]", "[^\n]", "(a|b)", "(?:ab)", "(", ")", "|",
        "*", "+", "?", "*?", "{2}", "{1,2}", "{,2}", "{2,}", "\\d", "\\w", "\\s", "\\b", "k",
    ]
)  # fmt: skip
SUBJECTS = st.text(alphabet="abBé09.\n -_kK\u212a\u017fsSxyz", max_size=8)


@st.composite
def patterns(draw: st.DrawFn) -> str:
    body = "".join(draw(st.lists(REGEX_PIECES, max_size=6)))
    return ("(?i)" if draw(st.booleans()) else "") + body


@PROPERTY
@given(pattern=patterns(), subjects=st.lists(SUBJECTS, min_size=1, max_size=6))
def test_translated_patterns_match_like_python(
    sql: psycopg.Connection[Any], pattern: str, subjects: list[str]
) -> None:
    try:
        compiled = re.compile(pattern)
    except re.error:
        return
    are = to_are(pattern)
    if are is None:
        return
    rows = sql.execute(
        "SELECT s ~ %s FROM unnest(%s::text[]) WITH ORDINALITY AS u(s, n) ORDER BY n",
        (are, subjects),
    ).fetchall()
    assert [r[0] for r in rows] == [compiled.search(s) is not None for s in subjects], are


def test_untranslatable_patterns_are_recognised() -> None:
    for pattern in ["\\d", "(?i)k", "(?i)S", "(?s).", "a{2}+", "(?=a)", "\\1", "[[:alpha:]]", "x{"]:
        assert to_are(pattern) is None, pattern
    assert to_are("(?i)^ab$") == "(?i)^ab(?=\n?$)"
    assert to_are("a.b") == "a[^\n]b"


# -- geodesy --------------------------------------------------------------------------------------


@PROPERTY
@given(
    a=st.tuples(st.floats(-180, 180), st.floats(-89.9, 89.9)),
    b=st.tuples(st.floats(-180, 180), st.floats(-89.9, 89.9)),
)
def test_geography_distance_is_the_wgs84_geodesic(
    sql: psycopg.Connection[Any], a: tuple[float, float], b: tuple[float, float]
) -> None:
    (postgis,) = sql.execute(
        "SELECT ST_Distance(ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, "
        "ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography)",
        (*a, *b),
    ).fetchone()  # type: ignore[misc]
    _, _, expected = GEOD.inv(a[0], a[1], b[0], b[1])
    assert postgis == pytest.approx(expected, rel=1e-9, abs=1e-3)


def test_near_selects_and_orders_by_geodesic_distance(postgres_url: str, tmp_path: Any) -> None:
    import random

    rng = random.Random(7)
    centre = (127.2890, 36.4800)
    points = [
        (centre[0] + rng.uniform(-0.02, 0.02), centre[1] + rng.uniform(-0.02, 0.02))
        for _ in range(200)
    ]
    hub = open_hub(Settings(data_dir=tmp_path, database_url=postgres_url, max_limit=1000))
    ctx = hub.context()
    try:
        hub.batch_upsert(
            [
                {
                    "id": f"urn:ngsi-ld:P:{i}",
                    "type": "P",
                    "location": {
                        "type": "GeoProperty",
                        "value": {"type": "Point", "coordinates": [x, y]},
                    },
                }
                for i, (x, y) in enumerate(points)
            ],
            ctx,
        )
        distances = {
            f"urn:ngsi-ld:P:{i}": GEOD.inv(centre[0], centre[1], x, y)[2]
            for i, (x, y) in enumerate(points)
        }
        for kind, limit_m in (("maxDistance", 1500.0), ("minDistance", 1500.0)):
            geo = parse_geoquery(f"near;{kind}=={limit_m}", "Point", list(centre), "location")
            page = hub.query_entities(EntityQuery(type="P", geo=geo, limit=1000), ctx)
            ids = [e.id for e in page.entities]
            inside = [i for i, d in distances.items() if d <= limit_m]
            outside = [i for i, d in distances.items() if d >= limit_m]
            expected = sorted(inside if kind == "maxDistance" else outside, key=distances.get)
            assert ids == expected
    finally:
        hub.storage.close()


# -- crashes --------------------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    from cityos.core.settings import Settings
    from cityos.hub.backends import open_hub
    hub = open_hub(Settings(data_dir=sys.argv[1], database_url=sys.argv[2]))
    ctx = hub.context()
    batch = 0
    while True:
        hub.batch_upsert(
            [
                {
                    "id": f"urn:ngsi-ld:Sensor:{batch}-{i}",
                    "type": "Sensor",
                    "pm25": {"type": "Property", "value": i},
                    "location": {"type": "GeoProperty",
                                 "value": {"type": "Point", "coordinates": [127.3, 36.49]}},
                }
                for i in range(100)
            ],
            ctx,
        )
        batch += 1
        print(batch, flush=True)
    """
)

STUCK_WRITER = textwrap.dedent(
    """
    import sys, time
    from cityos.hub.backends import open_storage
    from cityos.hub.model import Entity
    storage = open_storage(sys.argv[1])
    with storage.transaction("") as tx:
        tx.insert([Entity(f"urn:x:{i}", ["T"], {}, None, "t", "t") for i in range(100)])
        print("inserted", flush=True)
        time.sleep(120)
    """
)


def _counts(url: str) -> tuple[int, int, int]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM entities), (SELECT count(*) FROM entity_geo), "
            "(SELECT count(*) FROM entities WHERE cardinality(types) = 1)"
        ).fetchone()  # type: ignore[return-value]


def test_killed_writer_leaves_whole_batches_only(postgres_url: str, tmp_path: Any) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path), postgres_url],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        for _ in range(5):  # let a few batches commit, then kill mid-stream
            assert process.stdout.readline()
        time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    entities, shapes, typed = _counts(postgres_url)
    assert entities >= 500 and entities % 100 == 0
    assert shapes == entities and typed == entities
    hub = open_hub(Settings(data_dir=tmp_path, database_url=postgres_url))
    try:
        page = hub.query_entities(EntityQuery(type="Sensor", count=True, limit=1), hub.context())
        assert page.count == entities
    finally:
        hub.storage.close()


def test_writer_killed_inside_a_transaction_leaves_nothing(postgres_url: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", STUCK_WRITER, postgres_url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "inserted"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert _counts(postgres_url)[0] == 0


# -- history partitions ---------------------------------------------------------------------------


def _partitions(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'temporal_instances'::regclass ORDER BY 1"
        ).fetchall()
    return [r[0] for r in rows]


def _us(text: str) -> int:
    from cityos.hub.temporal.instants import to_us

    return to_us(text)


def test_history_is_partitioned_by_month_and_purged_by_partition(
    storage: PostgresStorage, postgres_url: str
) -> None:
    from cityos.hub.temporal.records import EntityMark, InstanceRecord, TimeWindow

    months = ["2025-11-15T00:00:00Z", "2025-12-31T23:59:59Z", "2026-01-01T00:00:00Z"]
    for tenant, eid in (("a", "urn:x:1"), ("b", "urn:x:2")):
        with storage.transaction(tenant) as tx:
            records = [
                InstanceRecord(eid, "https://x/t", None, {"type": "Property", "value": i}, None,
                               _us(m), _us(m), number=i)
                for i, m in enumerate(months)
                if tenant == "a" or i == 0
            ]  # fmt: skip
            storage.temporal.record(tx, [EntityMark(eid, ["T"])], records)
    assert _partitions(postgres_url) == [
        "temporal_instances_y2025m11",
        "temporal_instances_y2025m12",
        "temporal_instances_y2026m01",
    ]
    window = TimeWindow("modifiedAt")
    found = storage.temporal.instances("a", [("urn:x:1", "https://x/t")], window, limit=None)
    assert [i.body["value"] for i in found[("urn:x:1", "https://x/t")]] == [0, 1, 2]
    # November holds b's row too: a's row is deleted there; December is a's alone: dropped.
    assert storage.temporal.purge("a", _us("2026-01-01T00:00:00Z")) == 2
    assert _partitions(postgres_url) == [
        "temporal_instances_y2025m11",
        "temporal_instances_y2026m01",
    ]
    found = storage.temporal.instances("a", [("urn:x:1", "https://x/t")], window, limit=None)
    assert [i.body["value"] for i in found[("urn:x:1", "https://x/t")]] == [2]
    assert len(storage.temporal.instances("b", [("urn:x:2", "https://x/t")], window, limit=None)[
        ("urn:x:2", "https://x/t")
    ]) == 1  # fmt: skip
