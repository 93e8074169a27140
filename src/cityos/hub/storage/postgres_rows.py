"""Batches of rows sent to PostgreSQL as one JSON parameter.

psycopg quotes every element of an array parameter (``%s::text[]``, ``%s::jsonb[]``) in Python,
one regular-expression call per element; on batch writes that quoting cost more than the
database's own work. A batch is therefore sent as a single ``json`` array of row objects,
serialised by one orjson call and expanded on the server by ``json_to_recordset``:

    INSERT INTO t (a, b) SELECT u.a, u.b FROM json_to_recordset(%s::json) AS u(a text, b jsonb)

Values already serialised as JSON (attribute documents) are spliced in as
:class:`raw` fragments, not parsed and dumped again. Numbers that must stay exact in a
``numeric`` column go as strings (:func:`exact`), which PostgreSQL parses without rounding.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson


def recordset(rows: Iterable[dict[str, Any]]) -> str:
    """The JSON text of ``rows`` for a ``json_to_recordset(%s::json)`` parameter."""
    return orjson.dumps(list(rows)).decode()


def raw(text: str | None) -> orjson.Fragment | None:
    """A value that is already JSON text, embedded as is (``None`` stays SQL NULL)."""
    return None if text is None else orjson.Fragment(text)


def exact(number: int | float | None) -> str | None:
    """A number for a ``numeric`` column: its shortest exact decimal text (any size of int)."""
    if number is None:
        return None
    return repr(number) if isinstance(number, float) else str(number)
