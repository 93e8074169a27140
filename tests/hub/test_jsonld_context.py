"""@context handling (ETSI GS CIM 009 §5.5.7): ActiveContext semantics and ContextResolver.

Remote contexts are served by a real HTTP server on loopback; expansion and compaction are
checked against pyld's own ``jsonld.expand`` / ``jsonld.compact``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from pyld import jsonld

from cityos.core.errors import (
    BadRequestData,
    InvalidLdContext,
    LdContextNotAvailable,
    LdContextTimeout,
)
from cityos.core.settings import Settings, load_settings
from cityos.hub.context_store import CACHED, IMPLICITLY_CREATED
from cityos.hub.core_context import (
    CORE_CONTEXT_ALIASES,
    CORE_CONTEXT_URL,
    DEFAULT_VOCAB,
    core_context_document,
)
from cityos.hub.jsonld_context import ContextResolver, MemoryContextStore

NGSI = "https://uri.etsi.org/ngsi-ld/"
GEOJSON = "https://purl.org/geojson/vocab#"
TIMEOUT_S = 0.5


# -- a real HTTP server on loopback ------------------------------------------------------------


@dataclass
class ContextServer:
    """Test endpoints serving @context documents; counts hits per path."""

    base: str = ""
    hits: Counter[str] = field(default_factory=Counter)
    failing: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return self.base + path


def _documents(server: ContextServer, path: str, hit: int) -> tuple[int, Any] | None:
    good = {
        "@context": {
            "brand": "https://example.org/brand",
            "schema": "https://schema.org/",
            "Vehicle": "https://example.org/Vehicle",
        }
    }
    table: dict[str, tuple[int, Any]] = {
        "/good.jsonld": (200, good),
        "/slowish.jsonld": (200, good),
        "/missing.jsonld": (404, {"error": "not here"}),
        "/no-context.jsonld": (200, {"brand": "https://example.org/brand"}),
        "/array.jsonld": (200, [{"@context": {}}]),
        "/invalid-jsonld.jsonld": (200, {"@context": {"brand": 5}}),
        "/versioned.jsonld": (200, {"@context": {"speed": f"https://example.org/v{hit}/speed"}}),
        "/toggle.jsonld": (500, {"error": "down"}) if server.failing else (200, good),
        "/imported.jsonld": (200, {"@context": {"colour": "https://example.org/colour"}}),
        "/import.jsonld": (
            200,
            {
                "@context": {
                    "@import": server.url("/imported.jsonld"),
                    "speed": "https://example.org/speed",
                }
            },
        ),
        "/nested.jsonld": (
            200,
            {"@context": [server.url("/good.jsonld"), {"speed": "https://example.org/speed"}]},
        ),
        "/sdm.jsonld": (
            200,
            {
                "@context": [
                    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
                    {
                        "location": "https://example.org/myLocation",
                        "name": f"{NGSI}name",
                        "Building": "https://smartdatamodels.org/dataModel.Building/Building",
                    },
                ]
            },
        ),
    }
    return table.get(path)


class _Handler(BaseHTTPRequestHandler):
    server_state: ContextServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        state = self.server_state
        with state.lock:
            state.hits[self.path] += 1
            hit = state.hits[self.path]
        try:
            self._answer(state, hit)
        except (BrokenPipeError, ConnectionResetError):
            return

    def _answer(self, state: ContextServer, hit: int) -> None:
        if self.path == "/slow.jsonld":
            time.sleep(TIMEOUT_S * 4)
        if self.path == "/slowish.jsonld":
            time.sleep(0.2)
        if self.path in ("/redirect", "/redirect-loop"):
            target = "/good.jsonld" if self.path == "/redirect" else "/redirect-loop"
            self.send_response(302)
            self.send_header("Location", target)
            self.end_headers()
            return
        if self.path == "/not-json":
            self._send(200, b"<html>not json</html>", "text/html")
            return
        if self.path == "/huge.jsonld":
            self._send(200, b'{"@context": {"x": "' + b"a" * 200_000 + b'"}}')
            return
        if self.path == "/huge-chunked.jsonld":
            self.send_response(200)
            self.send_header("Content-Type", "application/ld+json")
            self.end_headers()
            self.wfile.write(b'{"@context": {"x": "')
            for _ in range(100):
                self.wfile.write(b"a" * 4096)
            self.wfile.write(b'"}}')
            return
        answer = _documents(state, self.path.split("?")[0], hit)
        if answer is None:
            answer = (404, {"error": "unknown path"})
        status, document = answer
        self._send(status, json.dumps(document).encode())

    def _send(self, status: int, body: bytes, content_type: str = "application/ld+json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server() -> Iterator[ContextServer]:
    state = ContextServer()
    handler = type("Handler", (_Handler,), {"server_state": state})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def _reset(server: ContextServer) -> None:
    server.hits.clear()
    server.failing = False


def _settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "context_fetch_timeout_s": TIMEOUT_S,
        "context_max_bytes": 64 * 1024,
        "context_cache_ttl_s": 60.0,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def resolver() -> Iterator[ContextResolver]:
    resolver = ContextResolver(MemoryContextStore(), _settings())
    yield resolver
    resolver.close()


# -- pyld as the reference ------------------------------------------------------------------------


def _pyld_loader(url: str, options: Any = None) -> dict[str, Any]:
    if url in CORE_CONTEXT_ALIASES:
        return {
            "contentType": "application/ld+json",
            "contextUrl": None,
            "documentUrl": url,
            "document": core_context_document(),
        }
    raise ValueError(f"no document for {url}")


def pyld_expand(user: list[Any], term: str) -> str:
    document = {"@context": [*user, CORE_CONTEXT_URL], term: {"@id": "urn:ngsi-ld:T:1"}}
    (node,) = jsonld.expand(document, {"documentLoader": _pyld_loader})
    (key,) = node.keys()
    return key


def pyld_expand_type(user: list[Any], term: str) -> str:
    document = {"@context": [*user, CORE_CONTEXT_URL], "@id": "urn:x", "@type": term}
    (node,) = jsonld.expand(document, {"documentLoader": _pyld_loader})
    return node["@type"][0]


def pyld_compact(user: list[Any], iri: str) -> str:
    context = {"@context": [*user, CORE_CONTEXT_URL]}
    compacted = jsonld.compact(
        {iri: {"@id": "urn:ngsi-ld:T:1"}}, context, {"documentLoader": _pyld_loader}
    )
    (key,) = [k for k in compacted if k != "@context"]
    return key


SDM_LIKE = {
    "id": "@id",
    "type": "@type",
    "schema": "https://schema.org/",
    "fiware": "https://uri.fiware.org/ns/data-models#",
    "sdm": "https://smartdatamodels.org/",
    "name": "https://schema.org/name",
    "address": "https://smartdatamodels.org/address",
    "refDevice": {"@id": "https://smartdatamodels.org/dataModel.Device/refDevice", "@type": "@id"},
    "AirQualityObserved": "https://smartdatamodels.org/dataModel.Environment/AirQualityObserved",
    "NO2": "https://smartdatamodels.org/dataModel.Environment/NO2",
    "areaServed": "https://smartdatamodels.org/areaServed",
}
PREFIXES = {
    "ex": "http://example.org/ns#",
    "ex2": {"@id": "http://example.org/other/", "@prefix": True},
    "notprefix": "http://example.org/np",
    "temp": "ex:temperature",
    "ex:explicit": "http://example.org/ns#explicit",
    "loc": f"{NGSI}location",
}
VOCAB_OVERRIDE = {"@vocab": "http://example.org/vocab/", "speed": "http://example.org/speed"}
CORE_COLLISION = {
    "location": "http://example.org/location",
    "description": "https://schema.org/description",
    "observedAt": "http://example.org/observedAt",
}
USER_CONTEXTS = [
    pytest.param([], id="core-only"),
    pytest.param([SDM_LIKE], id="sdm-like"),
    pytest.param([PREFIXES], id="prefixes"),
    pytest.param([VOCAB_OVERRIDE], id="vocab-override"),
    pytest.param([CORE_COLLISION], id="core-collision"),
    pytest.param([SDM_LIKE, PREFIXES, VOCAB_OVERRIDE], id="array"),
]
TERMS = [
    "temperature",
    "name",
    "address",
    "refDevice",
    "areaServed",
    "NO2",
    "schema:name",
    "fiware:status",
    "ex:foo",
    "ex2:bar",
    "notprefix:x",
    "temp",
    "ex:explicit",
    "loc",
    "location",
    "observedAt",
    "unitCode",
    "description",
    "speed",
    "datasetId",
    "ngsi-ld:foo",
    "geojson:Point",
    "http://example.org/absolute",
    "urn:ngsi-ld:Thing:1",
    "a-b_c.d",
    "createdAt",
]
TYPES = ["Vehicle", "AirQualityObserved", "Property", "GeoProperty", "Point", "schema:Place"]


@pytest.mark.parametrize("user", USER_CONTEXTS)
def test_expand_term_matches_pyld(resolver: ContextResolver, user: list[Any]) -> None:
    active = resolver.resolve(user or None)
    for term in TERMS:
        assert active.expand_term(term) == pyld_expand(user, term), term
    for term in TYPES:
        assert active.expand_term(term) == pyld_expand_type(user, term), term


@pytest.mark.parametrize("user", USER_CONTEXTS)
def test_compact_iri_matches_pyld(resolver: ContextResolver, user: list[Any]) -> None:
    active = resolver.resolve(user or None)
    iris = {active.expand_term(t) for t in TERMS} | {
        f"{DEFAULT_VOCAB}temperature",
        "https://schema.org/unknownProperty",
        "http://example.org/ns#foo",
        "http://unrelated.example.com/x",
        f"{NGSI}hasValue",
        "https://smartdatamodels.org/dataModel.Device/refDevice",
    }
    for iri in sorted(iris - _value_sensitive_iris()):
        assert active.compact_iri(iri) == pyld_compact(user, iri), iri


def _value_sensitive_iris() -> set[str]:
    """Core IRIs whose term JSON-LD only picks for matching values (type coercion, containers);
    see test_terms_with_coercion_or_container_still_compact_to_the_term."""
    core = core_context_document()["@context"]
    return {
        definition["@id"].replace("ngsi-ld:", NGSI).replace("geojson:", GEOJSON)
        for definition in core.values()
        if isinstance(definition, dict)
        and ("@container" in definition or definition.get("@type") not in (None, "@id", "@vocab"))
    }


def test_expand_and_compact_round_trip(resolver: ContextResolver) -> None:
    active = resolver.resolve([SDM_LIKE, PREFIXES])
    for term in ["name", "temperature", "refDevice", "temp", "NO2", "ex:foo"]:
        assert active.compact_iri(active.expand_term(term)) == term
    # two terms for one IRI: the shortest wins, as in JSON-LD's inverse context
    assert active.compact_iri(active.expand_term("location")) == "loc"


def test_core_terms_and_keywords(resolver: ContextResolver) -> None:
    core = resolver.resolve(None)
    assert core.source == CORE_CONTEXT_URL
    assert core.vocab == DEFAULT_VOCAB
    assert core.expand_term("type") == "@type"
    assert core.expand_term("@id") == "@id"
    assert core.expand_term("location") == f"{NGSI}location"
    assert core.expand_term("temperature") == f"{DEFAULT_VOCAB}temperature"
    assert core.compact_iri(f"{DEFAULT_VOCAB}temperature") == "temperature"
    assert core.compact_iri("https://purl.org/geojson/vocab#Point") == "Point"
    assert core.compact_iri(f"{NGSI}somethingNew") == "ngsi-ld:somethingNew"


def test_terms_with_coercion_or_container_still_compact_to_the_term(
    resolver: ContextResolver,
) -> None:
    """Deviation from value-sensitive JSON-LD term selection, as NGSI-LD brokers do."""
    user = {
        "dateObserved": {
            "@id": "https://smartdatamodels.org/dateObserved",
            "@type": NGSI + "DateTime",
        }
    }
    active = resolver.resolve(user)
    assert active.compact_iri("https://smartdatamodels.org/dateObserved") == "dateObserved"
    assert active.compact_iri(f"{NGSI}avg") == "avg"
    assert active.compact_iri(f"{NGSI}observedAt") == "observedAt"


def test_null_mapping_falls_back_to_vocab(resolver: ContextResolver) -> None:
    active = resolver.resolve([{"brand": "http://example.org/brand"}, {"brand": None}])
    assert active.expand_term("brand") == f"{DEFAULT_VOCAB}brand"


# -- protected core terms (§5.5.7) ------------------------------------------------------------


def test_redefining_a_protected_core_term_is_ignored(resolver: ContextResolver) -> None:
    user = [CORE_CONTEXT_URL, {"location": "http://example.org/location"}]
    with pytest.raises(jsonld.JsonLdError):  # what plain JSON-LD processing says
        jsonld.expand({"@context": user, "location": 1}, {"documentLoader": _pyld_loader})
    active = resolver.resolve(user)
    assert active.expand_term("location") == f"{NGSI}location"
    assert active.shadowed_terms == frozenset({"location"})


def test_user_protected_term_colliding_with_core(resolver: ContextResolver) -> None:
    active = resolver.resolve({"@protected": True, "observedAt": "http://example.org/obs"})
    assert active.expand_term("observedAt") == f"{NGSI}observedAt"
    assert "observedAt" in active.shadowed_terms


def test_remote_context_including_core_and_redefining(
    resolver: ContextResolver, server: ContextServer
) -> None:
    active = resolver.resolve(server.url("/sdm.jsonld"))
    assert active.expand_term("location") == f"{NGSI}location"
    assert active.expand_term("name") == f"{NGSI}name"
    assert active.expand_term("Building").endswith("/Building")
    assert active.compact_iri(f"{NGSI}name") == "name"


def test_core_aliases_never_touch_the_network() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"network used for {request.url}")

    client = httpx.Client(transport=httpx.MockTransport(refuse))
    resolver = ContextResolver(MemoryContextStore(), _settings(), http_client=client)
    for url in sorted(CORE_CONTEXT_ALIASES):
        active = resolver.resolve(url)
        assert active.source == url
        assert active.expand_term("observedAt") == f"{NGSI}observedAt"
    mixed = resolver.resolve([CORE_CONTEXT_URL, {"brand": "http://example.org/brand"}])
    assert mixed.expand_term("brand") == "http://example.org/brand"
    resolver.close()
    client.close()


# -- remote contexts --------------------------------------------------------------------------


def test_remote_context_is_fetched_once(resolver: ContextResolver, server: ContextServer) -> None:
    url = server.url("/good.jsonld")
    first = resolver.resolve(url)
    assert first.expand_term("brand") == "https://example.org/brand"
    assert resolver.resolve(url) is first
    composite = resolver.resolve([url, {"speed": "https://example.org/speed"}])
    assert composite.expand_term("brand") == "https://example.org/brand"
    assert server.hits["/good.jsonld"] == 1
    stored = resolver.store.get_context(url)
    assert stored is not None and stored.kind == CACHED
    assert stored.body["@context"]["brand"] == "https://example.org/brand"
    assert url in first.dependencies


def test_concurrent_resolves_fetch_once(resolver: ContextResolver, server: ContextServer) -> None:
    url = server.url("/slowish.jsonld")
    results: list[Any] = []
    barrier = threading.Barrier(8)

    def work(index: int) -> None:
        barrier.wait()
        results.append(resolver.resolve([url, {f"t{index}": f"http://example.org/{index}"}]))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(results) == 8
    assert server.hits["/slowish.jsonld"] == 1


def test_ttl_refetch(server: ContextServer) -> None:
    resolver = ContextResolver(MemoryContextStore(), _settings(context_cache_ttl_s=0.2))
    url = server.url("/versioned.jsonld")
    assert resolver.resolve(url).expand_term("speed") == "https://example.org/v1/speed"
    assert resolver.resolve(url).expand_term("speed") == "https://example.org/v1/speed"
    time.sleep(0.3)
    assert resolver.resolve(url).expand_term("speed") == "https://example.org/v2/speed"
    assert server.hits["/versioned.jsonld"] == 2
    resolver.close()


def test_failed_refetch_uses_cached_copy(
    server: ContextServer, caplog: pytest.LogCaptureFixture
) -> None:
    resolver = ContextResolver(MemoryContextStore(), _settings(context_cache_ttl_s=0.2))
    url = server.url("/toggle.jsonld")
    resolver.resolve(url)
    server.failing = True
    time.sleep(0.3)
    with caplog.at_level(logging.WARNING, logger="cityos.hub.jsonld_context"):
        active = resolver.resolve(url)
    assert active.expand_term("brand") == "https://example.org/brand"
    assert server.hits["/toggle.jsonld"] == 2
    assert any("cached copy" in r.getMessage() for r in caplog.records)
    stored = resolver.store.get_context(url)
    assert stored is not None and "500" in stored.extra["lastError"]
    resolver.resolve(url)  # within the retry delay: no new attempt
    assert server.hits["/toggle.jsonld"] == 2
    resolver.close()


def test_redirect_is_followed(resolver: ContextResolver, server: ContextServer) -> None:
    active = resolver.resolve(server.url("/redirect"))
    assert active.expand_term("brand") == "https://example.org/brand"


def test_import_and_nested_remote_contexts(
    resolver: ContextResolver, server: ContextServer
) -> None:
    imported = resolver.resolve(server.url("/import.jsonld"))
    assert imported.expand_term("colour") == "https://example.org/colour"
    assert imported.expand_term("speed") == "https://example.org/speed"
    nested = resolver.resolve(server.url("/nested.jsonld"))
    assert nested.expand_term("brand") == "https://example.org/brand"
    inline_import = resolver.resolve({"@import": server.url("/imported.jsonld"), "x": "http://x/"})
    assert inline_import.expand_term("colour") == "https://example.org/colour"
    assert server.hits["/imported.jsonld"] == 1
    assert server.url("/imported.jsonld") in imported.dependencies


ERRORS = [
    ("/missing.jsonld", LdContextNotAvailable, "404"),
    ("/not-json", InvalidLdContext, "not valid JSON"),
    ("/no-context.jsonld", InvalidLdContext, "no @context"),
    ("/array.jsonld", InvalidLdContext, "not a JSON object"),
    ("/huge.jsonld", LdContextNotAvailable, "65536 bytes"),
    ("/huge-chunked.jsonld", LdContextNotAvailable, "65536 bytes"),
    ("/redirect-loop", LdContextNotAvailable, "redirects"),
    ("/invalid-jsonld.jsonld", InvalidLdContext, "invalid JSON-LD @context"),
    ("/slow.jsonld", LdContextTimeout, "0.5 s"),
]


@pytest.mark.parametrize(("path", "error", "reason"), ERRORS)
def test_remote_errors(
    resolver: ContextResolver, server: ContextServer, path: str, error: type, reason: str
) -> None:
    url = server.url(path)
    started = time.monotonic()
    with pytest.raises(error) as info:
        resolver.resolve(url)
    assert time.monotonic() - started < TIMEOUT_S + 1
    assert type(info.value) is error
    assert url in info.value.detail and reason in info.value.detail
    assert info.value.status == (504 if error is LdContextTimeout else 503)
    if error is not InvalidLdContext or path != "/invalid-jsonld.jsonld":
        assert resolver.store.get_context(url) is None


def test_timeout_inside_a_composite_context(
    resolver: ContextResolver, server: ContextServer
) -> None:
    started = time.monotonic()
    with pytest.raises(LdContextTimeout):
        resolver.resolve([server.url("/good.jsonld"), {"@import": server.url("/slow.jsonld")}])
    assert time.monotonic() - started < TIMEOUT_S + 1


def test_connection_refused(resolver: ContextResolver) -> None:
    with pytest.raises(LdContextNotAvailable) as info:
        resolver.resolve("http://127.0.0.1:9/context.jsonld")
    assert "127.0.0.1:9" in info.value.detail


@pytest.mark.parametrize(
    "value",
    [
        {"brand": 5},
        [{"ok": "http://example.org/ok"}, {"bad": {"@id": 5}}],
        "ftp://example.org/context.jsonld",
        "relative/context.jsonld",
        [42],
    ],
)
def test_invalid_inline_contexts_are_bad_request(resolver: ContextResolver, value: Any) -> None:
    with pytest.raises(BadRequestData):
        resolver.resolve(value)


def test_invalid_inline_next_to_a_good_remote_is_bad_request(
    resolver: ContextResolver, server: ContextServer
) -> None:
    with pytest.raises(BadRequestData):
        resolver.resolve([server.url("/good.jsonld"), {"bad": 5}])


# -- hosted and implicit contexts, caching ---------------------------------------------------


def test_hosted_context_is_resolved_locally(
    resolver: ContextResolver, server: ContextServer
) -> None:
    stored = resolver.host({"@context": {"brand": "http://example.org/hostedBrand"}})
    url = server.url(stored.url)
    active = resolver.resolve(url)
    assert active.expand_term("brand") == "http://example.org/hostedBrand"
    assert resolver.resolve(stored.url).expand_term("brand") == "http://example.org/hostedBrand"
    assert sum(server.hits.values()) == 0
    resolver.delete_context(stored.id)
    with pytest.raises(LdContextNotAvailable):
        resolver.resolve(url)


def test_context_url_for_link_headers(resolver: ContextResolver, server: ContextServer) -> None:
    assert resolver.context_url(resolver.resolve(None)) == CORE_CONTEXT_URL
    url = server.url("/good.jsonld")
    assert resolver.context_url(resolver.resolve(url)) == url
    inline = resolver.resolve({"brand": "http://example.org/brand"})
    link = resolver.context_url(inline)
    assert link.startswith("/ngsi-ld/v1/jsonldContexts/urn:ngsi-ld:jsonldcontext:")
    assert resolver.context_url(inline) == link
    (implicit,) = resolver.store.list_contexts(IMPLICITLY_CREATED)
    assert implicit.body == {"@context": {"brand": "http://example.org/brand"}}
    assert resolver.resolve(link).expand_term("brand") == "http://example.org/brand"


def test_active_contexts_are_cached_lru(server: ContextServer) -> None:
    resolver = ContextResolver(MemoryContextStore(), _settings(), max_active_contexts=2)
    first = resolver.resolve({"a": "http://example.org/a"})
    assert resolver.resolve({"a": "http://example.org/a"}) is first
    resolver.resolve({"b": "http://example.org/b"})
    resolver.resolve({"c": "http://example.org/c"})
    again = resolver.resolve({"a": "http://example.org/a"})
    assert again is not first and again.expand_term("a") == "http://example.org/a"
    resolver.close()


def test_usage_is_counted(resolver: ContextResolver, server: ContextServer) -> None:
    url = server.url("/good.jsonld")
    for _ in range(3):
        resolver.resolve(url)
    resolver.flush_usage()
    stored = resolver.store.get_context(url)
    assert stored is not None and stored.number_of_hits == 3 and stored.last_usage is not None


def test_expansion_is_memoised_and_fast(resolver: ContextResolver) -> None:
    active = resolver.resolve(SDM_LIKE)
    names = [f"attr{i}" for i in range(100)]
    started = time.perf_counter()
    for _ in range(1000):
        for name in names:
            active.compact_iri(active.expand_term(name))
    assert time.perf_counter() - started < 2.0
