"""Hub.bulk_upsert: one transaction for any number of entities (the twin's loads use it)."""

from __future__ import annotations

import pytest

from cityos.core.errors import BadRequestData
from cityos.hub.hookspecs import hookimpl


class _Seen:
    """Records the changes of each before/after commit hook call."""

    def __init__(self) -> None:
        self.before: list[int] = []
        self.after: list[int] = []

    @hookimpl
    def hub_before_commit(self, transaction, tenant, changes):
        self.before.append(len(changes))

    @hookimpl
    def hub_after_commit(self, tenant, changes):
        self.after.append(len(changes))


def _things(n: int, value: int = 0) -> list[dict]:
    return [
        {"id": f"urn:ngsi-ld:Thing:{i}", "type": "Thing", "n": {"type": "Property", "value": value}}
        for i in range(n)
    ]


def test_more_than_a_batch_in_one_commit(hub):
    seen = _Seen()
    hub.plugins.register(seen)
    ctx = hub.context()
    n = hub.settings.max_batch_entities + 7
    progress: list[tuple[int, int]] = []
    result = hub.bulk_upsert(
        _things(n), ctx, chunk_size=400, progress=lambda *p: progress.append(p)
    )
    assert not result.errors and len(result.success) == len(result.created) == n
    assert seen.before == seen.after == [n]  # one transaction, hooks run once
    assert progress[-1] == (n, n) and len(progress) == -(-n // 400)
    again = hub.bulk_upsert(_things(3, value=9), ctx)
    assert again.created == [] and len(again.success) == 3
    stored = hub.get_entity("urn:ngsi-ld:Thing:2")
    assert stored.attrs[next(iter(stored.attrs))][0]["value"] == 9
    assert stored.created_at < stored.modified_at  # replaced: createdAt kept


@pytest.mark.parametrize("bodies", [{"id": "urn:ngsi-ld:Thing:1"}, "entities", 42, None])
def test_not_a_sequence_is_refused(hub, bodies):
    with pytest.raises(BadRequestData, match="sequence of entities"):
        hub.bulk_upsert(bodies, hub.context())


def test_bad_entities_are_all_reported_and_nothing_is_opened(hub):
    bodies = [*_things(3), {"id": "not a uri", "type": "Thing"}, {"type": "Thing"}, _things(1)[0]]
    result = hub.bulk_upsert(bodies, hub.context(), "fresh")
    assert [eid for eid, _ in result.errors] == ["not a uri", "", "urn:ngsi-ld:Thing:0"]
    assert "repeated" in result.errors[2][1].detail
    assert result.success == [] and hub.storage.tenants() == []
    assert hub.bulk_upsert([], hub.context()).success == []
