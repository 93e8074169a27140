"""A randomised check of the consent guard against an independent oracle: over many random
consent registries and requests, every personal entity released carries a live consent of each
of its subjects for the purpose, the recipient and its category (or is the caller's own, or an
emergency), and nothing consented is withheld."""

from __future__ import annotations

import random

from cityos.hub.broker import EntityQuery
from cityos.privacy.access import Access, acting_as
from cityos.privacy.consent import Consent
from cityos.privacy.consent_store import now_us
from cityos.privacy.plugin import attach
from cityos.privacy.scopes import parse_scopes
from cityos.privacy.tokens import Principal

SUBJECTS = [f"urn:ngsi-ld:Person:R{i}" for i in range(12)]
PURPOSES = ["mobility-planning", "family-doctor", "research"]
ORGS = ["clinic", "mobility", "startup"]
CATEGORIES = ["Trip", "HealthMeasurement", "Payment"]


def _entities(rng: random.Random) -> list[dict]:
    out = []
    for i in range(60):
        kind = rng.choice(CATEGORIES)
        subjects = rng.sample(SUBJECTS, rng.choice([1, 1, 1, 2]))
        rel = (
            {"type": "Relationship", "object": subjects[0]}
            if len(subjects) == 1
            else {"type": "ListRelationship", "objectList": subjects}
        )
        out.append({"id": f"urn:ngsi-ld:{kind}:E{i}", "type": kind, "dataSubject": rel})
    return out


def test_released_personal_data_always_has_a_live_consent(prod_hub, prod_settings):
    rng = random.Random(51)
    privacy = attach(prod_hub, prod_settings)
    ctx = prod_hub.context()
    result = prod_hub.batch_create(_entities(rng), ctx)
    assert not result.errors
    now = now_us()
    hour = 3600 * 10**6
    consents: list[Consent] = []
    for n in range(80):
        start = now + rng.choice([-2, -1, 1]) * hour
        until = rng.choice([None, now - hour // 2, now + 2 * hour])
        if until is not None and until <= start:
            until = start + hour
        consent = Consent(
            f"urn:ngsi-ld:Consent:{n}",
            "",
            rng.choice(SUBJECTS),
            rng.choice(PURPOSES),
            rng.choice(ORGS),
            tuple(rng.sample([*CATEGORIES, "*"], rng.choice([1, 2]))),
            start,
            until,
            now - 3 * hour,
            rng.choice([None, None, None, now - hour]),
        )
        privacy.consents.grant(consent)
        consents.append(consent)
    stored = {e.id: e for e in prod_hub.storage.iter_entities("")}

    def consented(subject: str, purpose: str, org: str, kind: str) -> bool:
        t = now_us()
        return any(
            c.subject == subject
            and c.purpose == purpose
            and c.recipient == org
            and c.live(t)
            and (kind in c.categories or "*" in c.categories)
            for c in consents
        )

    checked = released = 0
    for purpose in PURPOSES:
        for org in ORGS:
            principal = Principal("op", frozenset({"operator"}), parse_scopes("read"), org=org)
            with acting_as(Access(principal, purpose=purpose)):
                page = prod_hub.query_entities(EntityQuery(local=True, limit=1000), ctx)
            got = {e.id for e in page.entities}
            for eid, entity in stored.items():
                kind = eid.split(":")[2]
                subjects = privacy.personal.subjects(entity)
                expected = all(consented(s, purpose, org, kind) for s in subjects)
                assert (eid in got) == expected, (eid, purpose, org)
                checked += 1
                released += eid in got
    assert checked == 60 * len(PURPOSES) * len(ORGS)
    assert 0 < released < checked  # the draw exercised both outcomes
