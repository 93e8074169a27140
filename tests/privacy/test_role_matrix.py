"""Every role (with its default scopes), operation and entity kind, allowed or refused, in
production mode: a personal ``Trip`` of someone else (no consent) and a non-personal
``ParkingSpot``."""

from __future__ import annotations

import pytest
from privacy_kit import bearer

ROLES = ["citizen", "operator", "service", "data_buyer", "auditor", "device"]
KINDS = {
    "personal": (
        "Trip",
        {"dataSubject": {"type": "Relationship", "object": "urn:ngsi-ld:Person:X"}},
    ),
    "public": ("ParkingSpot", {"status": {"type": "Property", "value": "free"}}),
}
#: role -> operations its default scopes allow (writes are not consent-gated: collection is
#: allowed by scope, disclosure by consent).
ALLOWED = {
    "citizen": {"read"},
    "operator": {"read", "write", "delete"},
    "service": {"read", "write"},
    "data_buyer": {"read"},
    "auditor": set(),
    "device": {"write"},
}


@pytest.fixture
def seeded(prod_client, mint):
    admin = bearer(mint("seed", scopes=["admin"]))
    for kind, (etype, attrs) in KINDS.items():
        body = {"id": f"urn:ngsi-ld:{etype}:{kind}", "type": etype, **attrs}
        assert prod_client.post("/ngsi-ld/v1/entities", json=body, headers=admin).status_code == 201
    return prod_client


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("operation", ["read", "write", "delete"])
@pytest.mark.parametrize("role", ROLES)
def test_role_operation_kind(seeded, mint, role, operation, kind):
    etype, attrs = KINDS[kind]
    headers = bearer(mint(f"{role}-1", (role,)), **{"CityOS-Purpose": "mobility-planning"})
    allowed = operation in ALLOWED[role]
    eid = f"urn:ngsi-ld:{etype}:{kind}"
    if operation == "read":
        response = seeded.get(f"/ngsi-ld/v1/entities?type={etype}", headers=headers)
        if not allowed:
            assert response.status_code == 403
            return
        assert response.status_code == 200
        ids = [e["id"] for e in response.json()]
        # someone else's personal data without consent never leaves; public data does
        assert ids == ([] if kind == "personal" else [eid])
    elif operation == "write":
        body = {"id": f"urn:ngsi-ld:{etype}:new-{role}", "type": etype, **attrs}
        response = seeded.post("/ngsi-ld/v1/entities", json=body, headers=headers)
        assert response.status_code == (201 if allowed else 403), response.text
    else:
        response = seeded.delete(f"/ngsi-ld/v1/entities/{eid}", headers=headers)
        assert response.status_code == (204 if allowed else 403), response.text
