"""@context Management API, ``/ngsi-ld/v1/jsonldContexts`` (ETSI GS CIM 009 §5.13, §6.3.x)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from cityos.core.errors import CityOSError
from cityos.core.settings import load_settings
from cityos.hub.api_contexts import contexts_router
from cityos.hub.core_context import CORE_CONTEXT_URL, core_context_document
from cityos.hub.jsonld_context import ContextResolver, MemoryContextStore

BASE = "/ngsi-ld/v1/jsonldContexts"
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
CONTEXT = {"@context": {"brand": "https://example.org/brand", "Car": "https://example.org/Car"}}
HITS: Counter[str] = Counter()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        HITS[self.path] += 1
        body = json.dumps(CONTEXT).encode()
        status = 200 if self.path == "/remote.jsonld" else 404
        self.send_response(status)
        self.send_header("Content-Type", "application/ld+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def remote_base() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def resolver() -> Iterator[ContextResolver]:
    settings = load_settings(context_fetch_timeout_s=0.5, context_max_bytes=16 * 1024)
    resolver = ContextResolver(MemoryContextStore(), settings)
    yield resolver
    resolver.close()


@pytest.fixture
def client(resolver: ContextResolver) -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(contexts_router(lambda: resolver))

    @app.exception_handler(CityOSError)
    async def problem(request: Request, exc: CityOSError) -> JSONResponse:
        return JSONResponse(exc.to_problem(), status_code=exc.status)

    with TestClient(app) as test_client:
        yield test_client


def _host(client: TestClient, body: Any = CONTEXT) -> str:
    response = client.post(BASE, json=body)
    assert response.status_code == 201, response.text
    return response.headers["Location"]


def _error(response: Any, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["type"] == ERRORS + error


def test_host_and_serve(client: TestClient) -> None:
    location = _host(client)
    assert location.startswith(f"{BASE}/urn:ngsi-ld:jsonldcontext:")
    response = client.get(location)
    assert response.status_code == 200
    # mirrors ETSI 053_01_01: served as application/json unless JSON-LD is asked for
    assert response.headers["content-type"] == "application/json"
    as_ld = client.get(location, headers={"Accept": "application/ld+json"})
    assert as_ld.headers["content-type"] == "application/ld+json"
    assert response.json() == CONTEXT


def test_hosted_context_is_usable_by_url(client: TestClient, resolver: ContextResolver) -> None:
    location = _host(client)
    active = resolver.resolve(f"http://broker.example.org{location}")
    assert active.expand_term("brand") == "https://example.org/brand"


@pytest.mark.parametrize("body", [{"brand": "https://example.org/brand"}, ["not", "an", "object"]])
def test_host_rejects_bodies_without_context(client: TestClient, body: Any) -> None:
    # mirrors ETSI 050_02_01: a body that is no @context document is an InvalidRequest
    _error(client.post(BASE, json=body), 400, "InvalidRequest")


@pytest.mark.parametrize(
    "body",
    [
        {"@context": 5},
        {"@context": None},
        {"@context": {"brand": 5}},
        {"@context": {"brand": "https://example.org/brand"}, "extra": 1},
        {"@context": "ftp://example.org/context.jsonld"},
    ],
)
def test_host_rejects_bad_bodies(client: TestClient, body: Any) -> None:
    _error(client.post(BASE, json=body), 400, "BadRequestData")


def test_host_rejects_invalid_json_and_media_type(client: TestClient) -> None:
    headers = {"Content-Type": "application/json"}
    response = client.post(BASE, content=b"{not json", headers=headers)
    assert response.status_code == 400
    response = client.post(BASE, content=b"{}", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


def test_host_rejects_oversized_context(client: TestClient) -> None:
    body = {"@context": {f"t{i}": f"https://example.org/{'x' * 100}/{i}" for i in range(200)}}
    assert client.post(BASE, json=body).status_code == 413


def test_list_contexts(client: TestClient) -> None:
    location = _host(client)
    urls = client.get(BASE).json()
    assert urls[0] == CORE_CONTEXT_URL
    assert f"http://testserver{location}" in urls
    assert client.get(BASE, params={"kind": "Hosted"}).json() == [f"http://testserver{location}"]
    assert client.get(BASE, params={"kind": "ImplicitlyCreated"}).json() == []


def test_list_details(client: TestClient) -> None:
    location = _host(client)
    client.get(location)
    details = client.get(BASE, params={"details": "true", "kind": "Hosted"}).json()
    (entry,) = details
    assert entry["URL"] == f"http://testserver{location}"
    assert entry["localId"] == location.rsplit("/", 1)[1]
    assert entry["kind"] == "Hosted"
    assert entry["createdAt"].endswith("Z") and entry["lastUsage"].endswith("Z")
    assert entry["numberOfHits"] == 1
    assert entry["extraInfo"]["contentLength"] > 0
    core = client.get(BASE, params={"details": "true", "kind": "Cached"}).json()[0]
    assert core["localId"] == CORE_CONTEXT_URL and core["extraInfo"]["builtin"] is True


@pytest.mark.parametrize("params", [{"kind": "Bogus"}, {"details": "yes"}])
def test_list_rejects_bad_parameters(client: TestClient, params: dict[str, str]) -> None:
    _error(client.get(BASE, params=params), 400, "BadRequestData")


def test_get_details_and_unknown(client: TestClient) -> None:
    location = _host(client)
    details = client.get(location, params={"details": "true"}).json()
    assert details["kind"] == "Hosted" and details["numberOfHits"] == 0  # details are no use
    _error(client.get(f"{BASE}/urn:ngsi-ld:jsonldcontext:unknown"), 404, "ResourceNotFound")


def test_core_context_is_served_and_protected(client: TestClient) -> None:
    response = client.get(f"{BASE}/{quote(CORE_CONTEXT_URL, safe='')}")
    assert response.status_code == 200
    assert response.json() == core_context_document()
    _error(client.delete(f"{BASE}/{quote(CORE_CONTEXT_URL, safe='')}"), 400, "BadRequestData")
    reload = client.delete(f"{BASE}/{quote(CORE_CONTEXT_URL, safe='')}", params={"reload": "true"})
    assert reload.status_code == 204


def test_delete_hosted(client: TestClient, resolver: ContextResolver) -> None:
    location = _host(client)
    assert resolver.resolve(location).expand_term("brand") == "https://example.org/brand"
    _error(client.delete(location, params={"reload": "true"}), 400, "BadRequestData")
    assert client.delete(location).status_code == 204
    _error(client.get(location), 404, "ResourceNotFound")
    _error(client.delete(location), 404, "ResourceNotFound")


def test_cached_contexts(client: TestClient, resolver: ContextResolver, remote_base: str) -> None:
    HITS.clear()
    url = f"{remote_base}/remote.jsonld"
    for _ in range(3):
        resolver.resolve(url)
    assert client.get(BASE, params={"kind": "Cached"}).json() == [CORE_CONTEXT_URL, url]
    path = f"{BASE}/{quote(url, safe='')}"
    assert client.get(path).json() == CONTEXT
    details = client.get(path, params={"details": "true"}).json()
    assert details["URL"] == url and details["localId"] == url and details["kind"] == "Cached"
    assert details["numberOfHits"] == 4  # three resolves and one GET (details are no use)
    assert "expiresAt" in details["extraInfo"] and "fetchedAt" in details["extraInfo"]
    assert client.delete(path, params={"reload": "true"}).status_code == 204
    assert HITS["/remote.jsonld"] == 2
    assert client.delete(path).status_code == 204
    assert client.get(BASE, params={"kind": "Cached"}).json() == [CORE_CONTEXT_URL]
    resolver.resolve(url)
    assert HITS["/remote.jsonld"] == 3


def test_reload_failure_keeps_the_cached_copy(
    client: TestClient, resolver: ContextResolver, remote_base: str
) -> None:
    url = f"{remote_base}/remote.jsonld"
    resolver.resolve(url)
    stored = resolver.store.get_context(url)
    assert stored is not None
    gone = f"{remote_base}/gone.jsonld"
    resolver.store.put_context(replace(stored, id=gone, url=gone))
    _error(
        client.delete(f"{BASE}/{quote(gone, safe='')}", params={"reload": "true"}),
        503,
        "LdContextNotAvailable",
    )
    assert resolver.store.get_context(gone) is not None


def test_implicitly_created_contexts_are_listed(
    client: TestClient, resolver: ContextResolver
) -> None:
    url = resolver.context_url(resolver.resolve({"brand": "https://example.org/brand"}))
    listed = client.get(BASE, params={"kind": "ImplicitlyCreated"}).json()
    assert listed == [f"http://testserver{url}"]
    assert client.get(url).json() == {"@context": {"brand": "https://example.org/brand"}}
