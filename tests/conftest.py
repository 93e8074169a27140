"""Shared fixtures: settings in a temporary data directory, a hub, and an HTTP client on it.

``settings``, ``hub`` and ``client`` are parametrised over the storage backends: every test that
uses them runs once on SQLite (a fresh file) and once on PostgreSQL (a database of its own). The
PostgreSQL cluster is started once per session by ``scripts/postgres.sh`` (or taken from
``CITYOS_TEST_POSTGRES_URL``, the URL of a database on a server where we may create databases).
If the server cannot be started, the PostgreSQL tests fail: they are never skipped.
``pytest -m "not postgresql"`` deselects them.

Test databases are copies of a migrated template (``CREATE DATABASE ... TEMPLATE``). Copying
takes ~50 ms on an idle machine but over a second on a busy one, so a database is recycled: after
its test, its connections are ended and, if its catalogue is still exactly the template's, its
tables are emptied (``TRUNCATE ... RESTART IDENTITY``, monthly history partitions dropped) and
it serves the next test; otherwise (a test created a table or migrated it) it is dropped. Every
test thus starts on a database identical to a freshly migrated one.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from fastapi.testclient import TestClient

from cityos.app import create_app
from cityos.core.settings import Settings
from cityos.hub.backends import open_hub, open_storage
from cityos.hub.broker import Hub

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
_PREFIX = "cityos_t"
_OURS = re.compile(rf"{_PREFIX}_(\d+)_\w+")
_USER_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
_CATALOGUE = f"""
    SELECT 'r', n.nspname, c.relname, c.relkind::text FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_USER_SCHEMAS}
    UNION ALL
    SELECT 'f', n.nspname, p.proname, md5(p.prosrc) FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {_USER_SCHEMAS}
    UNION ALL
    SELECT 'v', '', version::text, '' FROM schema_version
    ORDER BY 1, 2, 3, 4
"""
_TABLES = f"""
    SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE {_USER_SCHEMAS} AND c.relkind IN ('r', 'p') AND c.relispartition IS FALSE
    AND c.relname NOT IN ('spatial_ref_sys', 'schema_version')
"""
_PARTITIONS = """
    SELECT c.oid::regclass::text FROM pg_class c WHERE c.relispartition AND c.relkind = 'r'
"""
_END_OTHER_SESSIONS = """
    SELECT pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
"""


class PostgresServer:
    """Databases for tests on one PostgreSQL server, named ``cityos_t_<pid>_<name>``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pid = os.getpid()
        self.counter = itertools.count(1)
        self.postgis_template = self.name("postgis")
        self.schema_template = self.name("schema")
        self.spare: list[str] = []
        self.pristine: list[tuple[Any, ...]] | None = None
        self.tables = ""
        self.admin: psycopg.Connection[Any] | None = None

    def name(self, suffix: str) -> str:
        return f"{_PREFIX}_{self.pid}_{suffix}"

    def url_for(self, database: str) -> str:
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path="/" + database))

    def execute(self, statement: str, database: str | None = None) -> list[tuple[Any, ...]]:
        """Run one statement in ``database`` (the server's own database by default)."""
        if database is None:
            if self.admin is None or self.admin.closed:
                self.admin = psycopg.connect(self.url, autocommit=True)
            return _rows(self.admin.execute(statement))
        with psycopg.connect(self.url_for(database), autocommit=True) as conn:
            return _rows(conn.execute(statement))

    def prepare(self) -> None:
        """Drop what dead test sessions left; build the PostGIS and the migrated templates."""
        for (name,) in self.execute(
            f"SELECT datname FROM pg_database WHERE datname LIKE '{_PREFIX}_%'"
        ):
            match = _OURS.fullmatch(name)
            if match and not _alive(int(match.group(1))):
                self.drop(name)
        self.drop(self.postgis_template)
        self.drop(self.schema_template)
        self.execute(f"CREATE DATABASE {self.postgis_template} TEMPLATE template0 ENCODING 'UTF8'")
        self.execute("CREATE EXTENSION postgis", self.postgis_template)
        self.execute(f"CREATE DATABASE {self.schema_template} TEMPLATE {self.postgis_template}")
        open_storage(self.url_for(self.schema_template)).close()

    def catalogue(self, database: str) -> list[tuple[Any, ...]]:
        """What a test may change besides rows: relations, functions, applied migrations."""
        return self.execute(_CATALOGUE, database)

    def checkout(self) -> str:
        """A database in the state of a freshly migrated one (recycled, or copied)."""
        if self.spare:
            return self.spare.pop()
        if self.pristine is None:
            self.pristine = self.catalogue(self.schema_template)
            tables = self.execute(_TABLES, self.schema_template)
            self.tables = ", ".join(f'"{schema}"."{table}"' for schema, table in tables)
        return self.create()

    def checkin(self, name: str) -> None:
        """Empty ``name`` for the next test, or drop it if its catalogue changed."""
        try:
            with psycopg.connect(self.url_for(name), autocommit=True) as conn:
                conn.execute(_END_OTHER_SESSIONS)
                for (partition,) in conn.execute(_PARTITIONS).fetchall():
                    conn.execute(f"DROP TABLE {partition}")
                if conn.execute(_CATALOGUE).fetchall() == self.pristine:
                    if self.tables:
                        conn.execute(f"TRUNCATE {self.tables} RESTART IDENTITY CASCADE")
                    self.spare.append(name)
                    return
        except psycopg.Error:
            pass
        self.drop(name)

    def create(self, template: str | None = None) -> str:
        """A fresh database copied from ``template`` (the migrated one by default)."""
        name = self.name(f"{next(self.counter)}")
        self.execute(f"CREATE DATABASE {name} TEMPLATE {template or self.schema_template}")
        return name

    def drop(self, name: str) -> None:
        self.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        for name in self.spare:
            self.drop(name)
        self.drop(self.schema_template)
        self.drop(self.postgis_template)
        if self.admin is not None:
            self.admin.close()


def _rows(cursor: psycopg.Cursor[Any]) -> list[tuple[Any, ...]]:
    return cursor.fetchall() if cursor.description else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start_postgres() -> str:
    """The URL ``scripts/postgres.sh`` prints after starting (or reusing) the test cluster."""
    try:
        done = subprocess.run(
            ["bash", str(ROOT / "scripts" / "postgres.sh")],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"scripts/postgres.sh could not run: {exc}", pytrace=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or not lines[-1].startswith("postgresql://"):
        pytest.fail(
            f"scripts/postgres.sh failed (exit {done.returncode}):\n{done.stderr[-4000:]}",
            pytrace=False,
        )
    return lines[-1]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The PostgreSQL server of this test session, with template databases ready."""
    server = PostgresServer(os.environ.get("CITYOS_TEST_POSTGRES_URL") or start_postgres())
    try:
        server.prepare()
    except (psycopg.Error, RuntimeError) as exc:
        pytest.fail(f"cannot prepare test databases on {server.url}: {exc}", pytrace=False)
    yield server
    server.close()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a database in the state of a freshly migrated one, for this test only."""
    name = postgres_server.checkout()
    yield postgres_server.url_for(name)
    postgres_server.checkin(name)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The storage backend under test: ``"sqlite"`` or ``"postgresql"``."""
    return request.param


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> str | None:
    """None for SQLite (the default file in the data directory), else a fresh database."""
    if backend == "sqlite":
        return None
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    """Settings with the data directory in a fresh temporary folder, on the backend under test."""
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        max_body_bytes=64 * 1024,
        max_limit=100,
        context_fetch_timeout_s=1.0,
    )


@pytest.fixture
def hub(settings: Settings) -> Iterator[Hub]:
    """A hub on a fresh database of the backend under test."""
    the_hub = open_hub(settings)
    yield the_hub
    the_hub.storage.close()


@pytest.fixture
def client(settings: Settings, hub: Hub) -> Iterator[TestClient]:
    """An HTTP client for the whole application, on the ``hub`` fixture."""
    with TestClient(create_app(settings, hub), raise_server_exceptions=False) as test_client:
        yield test_client


def make_entity(
    entity_id: str = "urn:ngsi-ld:AirQualityObserved:S1",
    entity_type: str = "AirQualityObserved",
    **attrs: Any,
) -> dict[str, Any]:
    """A normalized entity; keyword arguments become Properties unless already attribute objects."""
    entity: dict[str, Any] = {"id": entity_id, "type": entity_type}
    for name, value in attrs.items():
        is_attr = isinstance(value, dict) and "type" in value
        entity[name] = value if is_attr else {"type": "Property", "value": value}
    return entity


def point(lon: float, lat: float) -> dict[str, Any]:
    """A GeoProperty holding a GeoJSON Point."""
    return {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A Mosquitto broker on 127.0.0.1 for the whole session (installed from Debian packages by
    :mod:`cityos.iot.broker` if missing). If it cannot start, the tests using it fail."""
    from cityos.iot.broker import MosquittoBroker
    from cityos.iot.errors import BrokerUnavailable

    broker = MosquittoBroker(tmp_path_factory.mktemp("mosquitto"))
    try:
        broker.start()
    except BrokerUnavailable as exc:
        pytest.fail(f"Mosquitto could not start: {exc.detail}", pytrace=False)
    yield broker
    broker.stop()
