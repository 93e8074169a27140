"""Multi-row ``INSERT`` for the SQLite backend: many rows per statement instead of one per step.

``executemany`` steps its statement once per row, and on CPython the binding, step and reset of
each row costs about as much as SQLite's own work for a small row. One ``INSERT ... VALUES (...),
(...), ...`` statement per chunk of rows binds them all and steps once: the same rows, in the same
order (rowids and ``AUTOINCREMENT`` ids are assigned exactly as with ``executemany``), at about
half the cost for the hub's history and type rows. Full chunks share one SQL text, so the
connection's statement cache compiles each shape once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from itertools import chain
from typing import Any

#: Rows per statement (fewer if the row width would pass the connection's variable limit).
ROWS_PER_STATEMENT = 256


def insert_rows(
    conn: sqlite3.Connection,
    head: str,
    rows: Sequence[Sequence[Any]],
    width: int,
    *,
    tail: str = "",
) -> list[Any]:
    """Run ``{head} VALUES (?, ...), ... {tail}`` over ``rows`` (each of ``width`` values) and
    return what a ``RETURNING`` clause in ``tail`` returned (nothing without one).

    Parameters
    ----------
    conn
        The connection, inside the caller's transaction.
    head
        ``INSERT [OR ...] INTO table(columns)``.
    rows
        The rows, in the order they are to be inserted.
    width
        Values per row (the number of columns named in ``head``).
    tail
        What follows the values, e.g. an ``ON CONFLICT`` or ``RETURNING`` clause.
    """
    returned: list[Any] = []
    if not rows:
        return returned
    limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    step = max(1, min(ROWS_PER_STATEMENT, limit // width))
    one = "(" + ",".join("?" * width) + ")"
    full = _statement(head, one, step, tail)
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        sql = full if len(chunk) == step else _statement(head, one, len(chunk), tail)
        returned += conn.execute(sql, list(chain.from_iterable(chunk))).fetchall()
    return returned


def _statement(head: str, one: str, count: int, tail: str) -> str:
    return f"{head} VALUES {','.join([one] * count)}{' ' + tail if tail else ''}"
