"""User @contexts named in a Link header, served by a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest

from conftest import make_entity

E = "/ngsi-ld/v1/entities"
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
VOCAB = "https://smartdatamodels.org/dataModel.Environment/"
CONTEXT = {
    "@context": {
        "AirQualityObserved": VOCAB + "AirQualityObserved",
        "pm25": VOCAB + "pm25",
        "sdm": VOCAB,
    }
}


@pytest.fixture
def context_server() -> Iterator[tuple[str, dict[str, int]]]:
    hits = {"good": 0}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/good.jsonld":
                hits["good"] += 1
                body = json.dumps(CONTEXT).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/ld+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif self.path == "/slow.jsonld":
                time.sleep(3)
                self.send_response(200)
                self.end_headers()
            else:
                self.send_response(404)
                self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def link(url: str) -> dict[str, str]:
    return {
        "Link": f'<{url}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
    }


def test_link_context_expands_and_compacts(client, context_server):
    base, hits = context_server
    url = f"{base}/good.jsonld"
    created = client.post(E, json=make_entity(pm25=21.5), headers=link(url))
    assert created.status_code == 201
    with_link = client.get(f"{E}/urn:ngsi-ld:AirQualityObserved:S1", headers=link(url))
    assert with_link.json()["pm25"]["value"] == 21.5
    assert with_link.json()["type"] == "AirQualityObserved"
    assert url in with_link.headers["link"]
    as_ld = client.get(
        f"{E}/urn:ngsi-ld:AirQualityObserved:S1",
        headers={**link(url), "Accept": "application/ld+json"},
    )
    assert as_ld.json()["@context"] == url
    plain = client.get(f"{E}/urn:ngsi-ld:AirQualityObserved:S1").json()
    assert plain["type"] == VOCAB + "AirQualityObserved"
    assert plain[VOCAB + "pm25"]["value"] == 21.5
    found = client.get(E, params={"type": "AirQualityObserved", "q": "pm25>20"}, headers=link(url))
    assert [e["id"] for e in found.json()] == ["urn:ngsi-ld:AirQualityObserved:S1"]
    assert hits["good"] == 1  # fetched once, then served from the cache


def test_unreachable_contexts_fail_fast_with_the_right_error(client, context_server):
    base, _ = context_server
    missing = client.post(E, json=make_entity(a=1), headers=link(f"{base}/missing.jsonld"))
    assert missing.status_code == 503
    assert missing.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/LdContextNotAvailable"
    assert "missing.jsonld" in missing.json()["detail"]
    start = time.monotonic()
    slow = client.post(E, json=make_entity(a=1), headers=link(f"{base}/slow.jsonld"))
    assert time.monotonic() - start < 2.5  # the test settings' timeout is 1 s
    assert slow.status_code == 504
    assert client.get(f"{E}/urn:ngsi-ld:AirQualityObserved:S1").status_code == 404


def test_posted_query_with_inline_context_links_a_stored_copy(client):
    inline = [{"pm25": VOCAB + "pm25"}, CORE]
    body = dict(make_entity(pm25=3), **{"@context": inline})
    headers = {"Content-Type": "application/ld+json"}
    assert client.post(E, content=orjson.dumps(body), headers=headers).status_code == 201
    query = {"type": "Query", "entities": [{"type": "AirQualityObserved"}], "@context": inline}
    response = client.post(
        "/ngsi-ld/v1/entityOperations/query", content=orjson.dumps(query), headers=headers
    )
    assert response.json()[0]["pm25"]["value"] == 3
    linked = response.headers["link"].split(";")[0].strip("<>")
    assert linked.startswith("/ngsi-ld/v1/jsonldContexts/")
    served = client.get(linked)
    assert served.status_code == 200 and served.json()["@context"] == inline
