"""A layer's own tables in the hub's database (SQLite or PostgreSQL), versioned on their own.

The privacy layer (consents, audit) and the ledger (log, accounts) keep their tables beside the
hub's, so every server process sees the same state and one transaction can span them. Each layer
subclasses :class:`SideTables` with a table-name ``prefix`` and ordered ``migrations`` written
once per dialect; its version is kept in ``<prefix>_schema_version`` and the hub's own migrations
know nothing of it. SQL is written with ``?`` placeholders; :meth:`SideTables.sql` turns them into
``%s`` for PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from cityos.core.logging import get_logger

log = get_logger(__name__)

#: (version, what it adds, SQLite script, PostgreSQL script). Append; never edit a released one.
Migration = tuple[int, str, str, str]


class SideTables:
    """Connections and migrations for one layer's tables.

    Subclasses set ``prefix`` (tables and messages), ``migrations``, and optionally
    ``write_lock`` (a PostgreSQL advisory lock every write transaction takes, serialising the
    layer's writers as SQLite's single writer does) and ``migration_lock`` (taken while
    migrating; defaults to ``write_lock``).

    Parameters
    ----------
    storage
        The hub's storage: :class:`~cityos.hub.storage.sqlite.SQLiteStorage` (its ``read`` and
        ``write`` connections) or :class:`~cityos.hub.storage.postgres.PostgresStorage` (its
        connection pool).
    """

    prefix: ClassVar[str]
    migrations: ClassVar[tuple[Migration, ...]]
    write_lock: ClassVar[int | None] = None
    migration_lock: ClassVar[int | None] = None

    def __init__(self, storage: Any) -> None:
        self.storage = storage
        self.dialect = "postgresql" if hasattr(storage, "pool") else "sqlite"
        if not hasattr(storage, "read"):
            raise TypeError(f"no {self.prefix} tables on a {type(storage).__name__} backend")
        self.migrate()

    @property
    def schema_version(self) -> int:
        return self.migrations[-1][0]

    def sql(self, text: str) -> str:
        """``text`` with ``?`` placeholders in this dialect's style."""
        return text.replace("?", "%s") if self.dialect == "postgresql" else text

    @contextmanager
    def read(self) -> Iterator[Any]:
        """A connection for reads (autocommit)."""
        with self.storage.read() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Any]:
        """A connection in a transaction (holding ``write_lock`` on PostgreSQL) that commits on
        clean exit, else rolls back."""
        if self.dialect == "postgresql":
            with self.storage.pool.connection() as conn, conn.transaction():
                if self.write_lock is not None:
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.write_lock,))
                yield conn
        else:
            with self.storage.write() as conn:
                yield conn

    def execute(self, conn: Any, text: str, params: Any = ()) -> Any:
        """Run one statement written with ``?`` placeholders; returns the cursor."""
        return conn.execute(self.sql(text), params)

    def executemany(self, conn: Any, text: str, rows: list[Any]) -> None:
        """Run one statement for many parameter rows."""
        if not rows:
            return
        if self.dialect == "postgresql":
            with conn.cursor() as cur:
                cur.executemany(self.sql(text), rows)
        else:
            conn.executemany(text, rows)

    def migrate(self) -> int:
        """Apply the migrations this database lacks; returns the version found."""
        found, latest = self._version(), self.schema_version
        if found == latest:
            return found
        if found > latest:
            raise RuntimeError(
                f"the {self.prefix} tables are at version {found}, newer than this code ({latest})"
            )
        table = f"{self.prefix}_schema_version"
        lock = self.migration_lock if self.migration_lock is not None else self.write_lock
        with self.write() as conn:
            if self.dialect == "postgresql" and lock is not None and lock != self.write_lock:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
            conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (version INTEGER NOT NULL)")
            current = conn.execute(f"SELECT max(version) FROM {table}").fetchone()[0] or 0
            for version, what, sqlite_script, pg_script in self.migrations:
                if version <= current:
                    continue
                script = pg_script if self.dialect == "postgresql" else sqlite_script
                for statement in statements(script):
                    conn.execute(statement)
                conn.execute(self.sql(f"INSERT INTO {table} (version) VALUES (?)"), (version,))
                log.info(f"{self.prefix} tables migrated", extra={"version": version, "adds": what})
        return found

    def _version(self) -> int:
        table = f"{self.prefix}_schema_version"
        with self.read() as conn:
            if self.dialect == "postgresql":
                query = f"SELECT to_regclass('{table}') IS NOT NULL"
                known = conn.execute(query).fetchone()[0]
            else:
                known = conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE name = ?", (table,)
                ).fetchone()
            if not known:
                return 0
            return int(conn.execute(f"SELECT max(version) FROM {table}").fetchone()[0] or 0)


def statements(script: str) -> list[str]:
    """Split a script into statements at lines ending with ``;`` (a trigger body is written on
    one line, so its inner ``;`` never ends a line)."""
    out: list[str] = []
    current: list[str] = []
    for line in script.splitlines():
        current.append(line)
        if line.rstrip().endswith(";"):
            statement = "\n".join(current).strip()
            if statement.rstrip(";").strip():
                out.append(statement)
            current = []
    rest = "\n".join(current).strip()
    if rest:
        out.append(rest)
    return out
