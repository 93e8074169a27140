"""The ``/jsonldContexts`` store (ETSI GS CIM 009 §5.13) in the PostgreSQL backend.

Documents are kept as ``json`` (not ``jsonb``), so a Hosted @context is served back with its
members in the order it was uploaded; the bookkeeping timestamps are ``timestamptz``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from cityos.hub.context_store import StoredContext

if TYPE_CHECKING:
    from cityos.hub.storage.postgres import PostgresStorage

_FIELDS = "id, url, kind, body, created_at, last_usage, number_of_hits, content_length, extra"
_SELECT = (
    "SELECT id, url, kind, body::text, created_at, last_usage, number_of_hits, content_length, "
    "extra::text FROM jsonld_contexts"
)


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


class PostgresContextStore:
    """Stored JSON-LD contexts (Hosted, Cached, ImplicitlyCreated) in the hub database."""

    def __init__(self, storage: PostgresStorage) -> None:
        self._storage = storage

    def get_context(self, key: str) -> StoredContext | None:
        """The stored context whose id or URL is ``key``."""
        with self._storage.read() as conn:
            row = conn.execute(
                f"{_SELECT} WHERE id = %s OR url = %s ORDER BY id = %s DESC LIMIT 1",
                (key, key, key),
            ).fetchone()
        return _row_context(row) if row else None

    def put_context(self, ctx: StoredContext) -> None:
        """Insert or replace a stored context."""
        with self._storage.read() as conn:
            conn.execute(
                f"INSERT INTO jsonld_contexts ({_FIELDS}) VALUES "
                "(%s, %s, %s, %s::json, %s, %s, %s, %s, %s::jsonb) ON CONFLICT (id) DO UPDATE SET "
                "url = excluded.url, kind = excluded.kind, body = excluded.body, "
                "created_at = excluded.created_at, last_usage = excluded.last_usage, "
                "number_of_hits = excluded.number_of_hits, "
                "content_length = excluded.content_length, extra = excluded.extra",
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
        with self._storage.read() as conn:
            cursor = conn.execute(
                "DELETE FROM jsonld_contexts WHERE id = %s OR url = %s", (key, key)
            )
            return cursor.rowcount > 0

    def list_contexts(self, kind: str | None = None) -> list[StoredContext]:
        """Every stored context, optionally of one kind, oldest first."""
        query = _SELECT
        params: tuple[Any, ...] = ()
        if kind is not None:
            query += " WHERE kind = %s"
            params = (kind,)
        with self._storage.read() as conn:
            rows = conn.execute(query + ' ORDER BY created_at, id COLLATE "C"', params).fetchall()
        return [_row_context(r) for r in rows]
