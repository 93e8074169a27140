"""Multi-row INSERT (cityos.hub.storage.sqlite_rows): the rows, in order, as executemany writes."""

from __future__ import annotations

import sqlite3

import pytest

from cityos.hub.storage import sqlite_rows
from cityos.hub.storage.sqlite_rows import insert_rows


def _table(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE t (iid INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT UNIQUE, n, body TEXT)"
    )


@pytest.mark.parametrize("count", [1, 255, 256, 257, 1000])
def test_same_rows_and_ids_as_executemany(count: int) -> None:
    rows = [(f"k{i}", i * 0.5 if i % 3 else None, f'{{"v":{i}}}') for i in range(count)]
    ours, theirs = sqlite3.connect(":memory:"), sqlite3.connect(":memory:")
    for conn in (ours, theirs):
        _table(conn)
        conn.execute("INSERT INTO t(k, n, body) VALUES ('first', 1, '{}')")
    insert_rows(ours, "INSERT INTO t(k, n, body)", rows, 3)
    theirs.executemany("INSERT INTO t(k, n, body) VALUES (?,?,?)", rows)
    query = "SELECT iid, k, n, body, typeof(n) FROM t ORDER BY iid"
    assert ours.execute(query).fetchall() == theirs.execute(query).fetchall()
    assert ours.execute("SELECT count(*) FROM t").fetchone()[0] == count + 1


def test_chunks_respect_the_variable_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = sqlite3.connect(":memory:")
    _table(conn)
    conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 10)  # 3 rows of 3 values per statement
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    insert_rows(conn, "INSERT INTO t(k, n, body)", [(f"k{i}", i, "{}") for i in range(7)], 3)
    inserts = [s for s in statements if s.startswith("INSERT")]
    assert len(inserts) == 3  # 3 + 3 + 1 rows
    assert [r[0] for r in conn.execute("SELECT k FROM t ORDER BY iid")] == [
        f"k{i}" for i in range(7)
    ]
    monkeypatch.setattr(sqlite_rows, "ROWS_PER_STATEMENT", 2)
    conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    statements.clear()
    insert_rows(conn, "INSERT INTO t(k, n, body)", [(f"m{i}", i, "{}") for i in range(5)], 3)
    assert len([s for s in statements if s.startswith("INSERT")]) == 3  # 2 + 2 + 1 rows


def test_tail_clause_and_empty_rows() -> None:
    conn = sqlite3.connect(":memory:")
    _table(conn)
    insert_rows(conn, "INSERT INTO t(k, n, body)", [], 3)
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    insert_rows(conn, "INSERT INTO t(k, n, body)", [("a", 1, "x"), ("b", 2, "y")], 3)
    insert_rows(
        conn,
        "INSERT INTO t(k, n, body)",
        [("a", 10, "x2"), ("c", 3, "z")],
        3,
        tail="ON CONFLICT (k) DO UPDATE SET n = excluded.n",
    )
    rows = conn.execute("SELECT k, n, body FROM t ORDER BY k").fetchall()
    assert rows == [("a", 10, "x"), ("b", 2, "y"), ("c", 3, "z")]


def test_a_constraint_violation_inserts_nothing_of_its_statement() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    _table(conn)
    conn.execute("BEGIN")
    with pytest.raises(sqlite3.IntegrityError):
        insert_rows(conn, "INSERT INTO t(k, n, body)", [("a", 1, "x"), ("a", 2, "y")], 3)
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    conn.execute("ROLLBACK")


def test_returning_clause_rows_come_back() -> None:
    conn = sqlite3.connect(":memory:")
    _table(conn)
    insert_rows(conn, "INSERT INTO t(k, n, body)", [("a", 1, "x")], 3)
    rows = [(f"k{i}", i, "{}") for i in range(300)] + [("a", 1, "x")]
    back = insert_rows(
        conn,
        "INSERT INTO t(k, n, body)",
        rows,
        3,
        tail="ON CONFLICT (k) DO UPDATE SET n = excluded.n WHERE n IS NOT excluded.n "
        "RETURNING k, iid",
    )
    assert sorted(k for k, _ in back) == sorted(f"k{i}" for i in range(300))  # not "a"
    assert dict(back) == dict(conn.execute("SELECT k, iid FROM t WHERE k != 'a'").fetchall())
