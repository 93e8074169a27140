"""Authentication and authorisation: every route refuses anonymous callers (401) and tokens
without the right scope (403) in production, and accepts the right scope."""

from __future__ import annotations

import base64
import time
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from privacy_kit import Mint, bearer

from cityos.app import create_app
from cityos.core.settings import Settings
from cityos.privacy.keys import load_keys
from cityos.privacy.policy import AUTHENTICATED, PUBLIC, operation_for
from cityos.privacy.tokens import mint_token

#: Values for the path parameters of every route.
PARAMS = {
    "entity_id": "urn:ngsi-ld:AirQualityObserved:S1",
    "attr": "pm25",
    "attr_name": "pm25",
    "type_name": "AirQualityObserved",
    "subscription_id": "urn:ngsi-ld:Subscription:1",
    "context_id": "urn:ngsi-ld:Context:1",
    "instance_id": "urn:ngsi-ld:Instance:1",
    "path": "app.js",
    "consent_id": "urn:ngsi-ld:Consent:1",
    "feed": "station_status",
    "slot_id": "S1",
    "booking_id": "B1",
    "seq": "0",
    "index": "0",
    "did": "did:key:z6MkmjY8GnV5i9YTDtPETC2uUAW6ejw3nk5mXF5yci5ab7th",
    "device_id": "aq-1",
    "proposal_id": "urn:ngsi-ld:CivicProposal:1",
}
OTHER_OPS = {
    "read": "write delete",
    "write": "read delete",
    "delete": "read write",
    "admin": "read write delete",
}


def _routes(app: Any) -> list[tuple[str, str]]:
    """(method, concrete path) of every route of the application."""
    found: list[tuple[str, str]] = []

    def walk(routes: Any, prefix: str = "") -> None:
        for route in routes:
            if hasattr(route, "path"):
                path = prefix + route.path
                for name, value in PARAMS.items():
                    path = path.replace("{" + name + ":path}", value).replace(
                        "{" + name + "}", value
                    )
                assert "{" not in path, f"no sample value for a parameter of {path}"
                for method in sorted(route.methods or ()):
                    if method != "HEAD":
                        found.append((method, path))
            else:
                walk(route.original_router.routes, prefix + route.include_context.prefix)

    walk(app.routes)
    return found


ROUTES = _routes(create_app(Settings(data_dir="/nonexistent-cityos-routes")))


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> Any:
    body = b"{}" if method in ("POST", "PUT", "PATCH") else None
    headers = {"Content-Type": "application/json", **headers}
    return client.request(method, path, content=body, headers=headers)


def test_route_table_covers_the_application():
    paths = {p for _, p in ROUTES}
    assert "/ngsi-ld/v1/entities" in paths and "/health" in paths
    assert "/privacy/v1/me" in paths and "/.well-known/jwks.json" in paths
    assert len(ROUTES) > 50


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_every_route_anonymous_wrong_scope_right_scope(
    prod_client: TestClient, mint: Mint, method: str, path: str
):
    operation = operation_for(method, path)
    anonymous = _call(prod_client, method, path, {})
    if operation == PUBLIC:
        pages = ("/health", "/.well-known/jwks.json", "/", "/scenarios", "/portal")
        public_prefixes = (
            "/static/",
            "/mobility/v1/gbfs/",
            "/ledger/v1/checkpoint",
            "/ledger/v1/keys",
            "/ledger/v1/proofs/",
            "/ledger/v1/credentials/status",
            "/ledger/v1/witness",
        )
        assert path in pages or path.startswith(public_prefixes)
        assert anonymous.status_code not in (401, 403)
        return
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.headers["www-authenticate"].startswith('Bearer realm="cityos"')
    problem = anonymous.json()
    assert problem["status"] == 401 and problem["type"].endswith("/Unauthenticated")
    if operation == AUTHENTICATED:
        token = mint(roles=("citizen",), scopes=["read"])
        ok = _call(prod_client, method, path, bearer(token))
        assert ok.status_code not in (401,), ok.text
        return
    wrong = mint(scopes=OTHER_OPS[operation].split())
    refused = _call(prod_client, method, path, bearer(wrong))
    assert refused.status_code == 403, refused.text
    assert refused.json()["type"].endswith("/Forbidden")
    other_tenant = mint(scopes=[f"{operation}:elsewhere"])
    assert _call(prod_client, method, path, bearer(other_tenant)).status_code == 403
    right = mint(scopes=[operation])
    accepted = _call(prod_client, method, path, bearer(right))
    assert accepted.status_code not in (401, 403), accepted.text


def test_demo_mode_is_open_but_bad_tokens_are_refused(tmp_path):
    settings = Settings(data_dir=tmp_path)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/ngsi-ld/v1/types").status_code == 200
        bad = client.get("/ngsi-ld/v1/types", headers=bearer("not.a.token"))
        assert bad.status_code == 401
        assert 'error="invalid_token"' in bad.headers["www-authenticate"]


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = "admin"
    forged = base64.urlsafe_b64encode(orjson.dumps(claims)).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _unsigned(token: str) -> str:
    _, payload, _ = token.split(".")
    none = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    return f"{none}.{payload}."


@pytest.mark.parametrize(
    "case", ["forged", "unsigned", "other-issuer-key", "expired", "audience", "issuer", "garbage"]
)
def test_bad_tokens_answer_401(prod_client, prod_settings, mint, tmp_path_factory, case):
    good = mint(scopes=["read"])
    if case == "forged":
        token = _tamper(good)
    elif case == "unsigned":
        token = _unsigned(good)
    elif case == "other-issuer-key":
        stranger = load_keys(tmp_path_factory.mktemp("stranger"))
        token = mint_token(stranger, prod_settings, subject="op-1", roles=["operator"])
    elif case == "expired":
        token = mint(scopes=["read"], ttl_s=60, now=time.time() - 3600)
    elif case == "audience":
        token = mint(scopes=["read"], audience="urn:other:api")
    elif case == "issuer":
        other = prod_settings.model_copy(update={"auth_issuer": "urn:other:issuer"})
        token = mint_token(
            load_keys(prod_settings.data_dir), other, subject="x", roles=["operator"]
        )
    else:
        token = "a" * 40
    response = prod_client.get("/ngsi-ld/v1/types", headers=bearer(token))
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith('Bearer realm="cityos", error=')
    assert token not in response.text
    assert prod_client.get("/ngsi-ld/v1/types", headers=bearer(good)).status_code == 200


def test_wrong_scheme_is_401(prod_client):
    response = prod_client.get("/ngsi-ld/v1/types", headers={"Authorization": "Basic dXNlcjpw"})
    assert response.status_code == 401


def test_health_and_jwks_are_public(prod_client, mint):
    assert prod_client.get("/health").json()["status"] == "ok"
    jwks = prod_client.get("/.well-known/jwks.json").json()
    assert jwks["keys"][0]["kty"] == "OKP" and "d" not in jwks["keys"][0]


def test_me_reports_the_token(prod_client, mint):
    token = mint("alice", ("citizen",), org="family-clinic")
    me = prod_client.get("/privacy/v1/me", headers=bearer(token, **{"CityOS-Purpose": "x-1"}))
    assert me.json() == {
        "subject": "alice",
        "roles": ["citizen"],
        "scopes": ["read:*:*"],
        "org": "family-clinic",
        "purpose": "x-1",
        "expiresAt": me.json()["expiresAt"],
    }


def _entity(eid: str, etype: str) -> dict[str, Any]:
    return {"id": eid, "type": etype, "name": {"type": "Property", "value": eid}}


def test_type_scopes_are_enforced_in_the_hub(prod_client, mint):
    admin = bearer(mint(scopes=["admin"]))
    for entity in (_entity("urn:ngsi-ld:Sensor:1", "Sensor"), _entity("urn:ngsi-ld:Bus:1", "Bus")):
        assert (
            prod_client.post("/ngsi-ld/v1/entities", json=entity, headers=admin).status_code == 201
        )
    sensors = bearer(mint(scopes=["read::Sensor", "write::Sensor", "delete::Sensor"]))
    # a query naming another type is refused at the door
    assert prod_client.get("/ngsi-ld/v1/entities?type=Bus", headers=sensors).status_code == 403
    # a query that does not name the type still never returns it
    found = prod_client.get("/ngsi-ld/v1/entities?attrs=name", headers=sensors).json()
    assert [e["id"] for e in found] == ["urn:ngsi-ld:Sensor:1"]
    assert (
        prod_client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Bus:1", headers=sensors).status_code
        == 404
    )
    # writes and deletes of another type are refused, single or batch
    bus2 = _entity("urn:ngsi-ld:Bus:2", "Bus")
    assert prod_client.post("/ngsi-ld/v1/entities", json=bus2, headers=sensors).status_code == 403
    batch = prod_client.post("/ngsi-ld/v1/entityOperations/upsert", json=[bus2], headers=sensors)
    assert batch.status_code == 207 and batch.json()["success"] == []
    assert batch.json()["errors"][0]["entityId"] == "urn:ngsi-ld:Bus:2"
    assert batch.json()["errors"][0]["error"]["status"] == 403
    deleted = prod_client.delete("/ngsi-ld/v1/entities/urn:ngsi-ld:Bus:1", headers=sensors)
    assert deleted.status_code == 403
    assert (
        prod_client.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Bus:1", headers=admin).status_code == 200
    )
    # the allowed type works
    patch = {"name": {"type": "Property", "value": "renamed"}}
    ok = prod_client.patch(
        "/ngsi-ld/v1/entities/urn:ngsi-ld:Sensor:1/attrs", json=patch, headers=sensors
    )
    assert ok.status_code == 204
    assert (
        prod_client.delete("/ngsi-ld/v1/entities/urn:ngsi-ld:Sensor:1", headers=sensors).status_code
        == 204
    )


def test_tenant_scopes(prod_client, mint):
    city = bearer(mint(scopes=["read:sejong", "write:sejong"]), **{"NGSILD-Tenant": "sejong"})
    entity = _entity("urn:ngsi-ld:Sensor:9", "Sensor")
    assert prod_client.post("/ngsi-ld/v1/entities", json=entity, headers=city).status_code == 201
    default = bearer(mint(scopes=["read:sejong"]))
    assert prod_client.get("/ngsi-ld/v1/types", headers=default).status_code == 403
    default_ok = bearer(mint(scopes=["read:"]))
    assert prod_client.get("/ngsi-ld/v1/types", headers=default_ok).status_code == 200


def test_break_glass_needs_a_role_and_a_justification(prod_client, mint):
    citizen = mint("alice", ("citizen",))
    headers = bearer(citizen, **{"CityOS-Break-Glass": "patient unconscious at the station"})
    assert prod_client.get("/ngsi-ld/v1/types", headers=headers).status_code == 403
    short = bearer(mint(), **{"CityOS-Break-Glass": "urgent"})
    assert prod_client.get("/ngsi-ld/v1/types", headers=short).status_code == 400


def test_bad_purpose_header_is_400(prod_client, mint):
    headers = bearer(mint(), **{"CityOS-Purpose": "Mobility Planning!"})
    response = prod_client.get("/ngsi-ld/v1/types", headers=headers)
    assert response.status_code == 400 and "CityOS-Purpose" in response.json()["detail"]


def test_rate_limit_answers_429_with_retry_after(prod_settings, prod_hub, mint):
    settings = prod_settings.model_copy(update={"rate_limit_per_minute": 3})
    alice, bob = bearer(mint("alice", ("citizen",))), bearer(mint("bob", ("citizen",)))
    with TestClient(create_app(settings, prod_hub), raise_server_exceptions=False) as client:
        codes = [client.get("/ngsi-ld/v1/types", headers=alice).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        refused = client.get("/ngsi-ld/v1/types", headers=alice)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert refused.json()["type"].endswith("/TooManyRequests")
        assert client.get("/ngsi-ld/v1/types", headers=bob).status_code == 200


def test_security_headers_on_pages(prod_client: TestClient, mint):
    page = prod_client.get("/")
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-content-type-options"] == "nosniff"
    api = prod_client.get("/ngsi-ld/v1/types", headers=bearer(mint()))
    assert api.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in api.headers


def test_hub_alone_does_not_import_privacy():
    import subprocess
    import sys

    code = (
        "import sys, cityos.hub.backends, cityos.hub.broker, cityos.hub.http.entities;"
        "print(any(m.startswith('cityos.privacy') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_mints_tokens_the_server_accepts(prod_client, prod_settings, monkeypatch):
    from typer.testing import CliRunner

    from cityos.cli import app as cli

    monkeypatch.setenv("CITYOS_DATA_DIR", str(prod_settings.data_dir))
    runner = CliRunner()
    minted = runner.invoke(
        cli, ["auth", "token", "--subject", "op-7", "--role", "operator", "--scope", "read:"]
    )
    assert minted.exit_code == 0, minted.output
    token = minted.output.strip()
    me = prod_client.get("/privacy/v1/me", headers=bearer(token)).json()
    assert me["subject"] == "op-7" and me["scopes"] == ["read::*"]
    rotated = runner.invoke(cli, ["auth", "keygen", "--rotate"])
    assert rotated.exit_code == 0 and "rotated" in rotated.output
    # a token signed by the previous key still verifies after the rotation
    assert prod_client.get("/privacy/v1/me", headers=bearer(token)).status_code == 200
    bad = runner.invoke(cli, ["auth", "token", "--subject", "x", "--role", "mayor"])
    assert bad.exit_code == 2 and "unknown role" in bad.output
    bad_scope = runner.invoke(
        cli, ["auth", "token", "--subject", "x", "--role", "citizen", "--scope", "fly"]
    )
    assert bad_scope.exit_code == 2 and "unknown operation" in bad_scope.output
