"""The ``/jsonldContexts`` store (ETSI GS CIM 009 §5.13) in the SQLite backend."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from cityos.hub.jsonld_context import StoredContext

if TYPE_CHECKING:
    from cityos.hub.storage.sqlite import SQLiteStorage

_FIELDS = "id, url, kind, body, created_at, last_usage, number_of_hits, content_length, extra"


def _row_context(row: tuple[Any, ...]) -> StoredContext:
    cid, url, kind, body, created, last_usage, hits, length, extra = row
    return StoredContext(
        id=cid,
        url=url,
        kind=kind,
        body=orjson.loads(body),
        created_at=created,
        last_usage=last_usage,
        number_of_hits=hits,
        content_length=length,
        extra=orjson.loads(extra) if extra else {},
    )


class SQLiteContextStore:
    """Stored JSON-LD contexts (Hosted, Cached, ImplicitlyCreated) in the hub database."""

    def __init__(self, storage: SQLiteStorage) -> None:
        self._storage = storage

    def get_context(self, key: str) -> StoredContext | None:
        """The stored context whose id or URL is ``key``."""
        with self._storage.read() as conn:
            row = conn.execute(
                f"SELECT {_FIELDS} FROM jsonld_contexts WHERE id = ? OR url = ? LIMIT 1",
                (key, key),
            ).fetchone()
        return _row_context(row) if row else None

    def put_context(self, ctx: StoredContext) -> None:
        """Insert or replace a stored context."""
        with self._storage.write() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO jsonld_contexts ({_FIELDS}) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    ctx.id,
                    ctx.url,
                    ctx.kind,
                    orjson.dumps(ctx.body).decode(),
                    ctx.created_at,
                    ctx.last_usage,
                    ctx.number_of_hits,
                    ctx.content_length,
                    orjson.dumps(ctx.extra).decode() if ctx.extra else None,
                ),
            )

    def delete_context(self, key: str) -> bool:
        """Delete by id or URL; whether something was deleted."""
        with self._storage.write() as conn:
            cur = conn.execute("DELETE FROM jsonld_contexts WHERE id = ? OR url = ?", (key, key))
            return cur.rowcount > 0

    def list_contexts(self, kind: str | None = None) -> list[StoredContext]:
        """Every stored context, optionally of one kind, oldest first."""
        sql = f"SELECT {_FIELDS} FROM jsonld_contexts"
        params: tuple[Any, ...] = ()
        if kind is not None:
            sql += " WHERE kind = ?"
            params = (kind,)
        with self._storage.read() as conn:
            rows = conn.execute(sql + " ORDER BY created_at, id", params).fetchall()
        return [_row_context(r) for r in rows]
