"""HTTP content negotiation for NGSI-LD (ETSI GS CIM 009 §6.3.4-§6.3.6).

Requests carry their @context either in a ``Link`` header (``application/json``) or in the body
(``application/ld+json``), never both. Responses compact with the request's context and either
name it in a ``Link`` header (``application/json``) or embed it (``application/ld+json``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from starlette.requests import Request
from starlette.responses import Response

from cityos.core.errors import (
    BadRequestData,
    InvalidRequest,
    NotAcceptable,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from cityos.hub.jsonld_context import CORE_CONTEXT_URL

JSONLD_CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"
JSON = "application/json"
JSON_LD = "application/ld+json"
GEO_JSON = "application/geo+json"
MERGE_PATCH = "application/merge-patch+json"
TENANT_HEADER = "NGSILD-Tenant"
_LINK_RE = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")
_TENANT_RE = re.compile(r"^[A-Za-z0-9_\-.]{1,64}$")

ResponseKind = Literal["json", "ld+json", "geo+json"]

#: The detail of the InvalidRequest raised for a request without a body.
EMPTY_BODY = "the request body is empty"


def tenant_of(request: Request) -> str:
    """The tenant named by the ``NGSILD-Tenant`` header (``""`` for the default tenant)."""
    raw = request.headers.get(TENANT_HEADER)
    if raw is None or raw == "":
        return ""
    if not _TENANT_RE.match(raw):
        raise BadRequestData(
            f"invalid {TENANT_HEADER} header {raw!r}: use 1-64 letters, digits, '_', '-' or '.'"
        )
    return raw


def link_context(request: Request) -> str | None:
    """The @context URL named in the request's ``Link`` header, if any (§6.3.5)."""
    header = request.headers.get("link")
    if not header:
        return None
    for match in _LINK_RE.finditer(header):
        url, params = match.group(1).strip(), match.group(2)
        if JSONLD_CONTEXT_REL in params:
            if not url:
                raise BadRequestData("the Link header names an empty @context URL")
            return url
    return None


def media_type(request: Request) -> str | None:
    """The request's Content-Type without parameters, lower-cased."""
    raw = request.headers.get("content-type")
    return raw.split(";")[0].strip().lower() if raw else None


async def read_json(request: Request, max_bytes: int, *, merge_patch: bool = False) -> Any:
    """Read and decode the request body as JSON, enforcing size and media type.

    Raises
    ------
    UnsupportedMediaType
        If the Content-Type is not JSON or JSON-LD (or merge-patch JSON where allowed).
    PayloadTooLarge
        If the body exceeds ``max_bytes``.
    InvalidRequest
        If the body is empty or not valid JSON.
    """
    kind = media_type(request)
    allowed = {JSON, JSON_LD} | ({MERGE_PATCH} if merge_patch else set())
    if kind not in allowed:
        raise UnsupportedMediaType(
            f"Content-Type {kind or '(none)'} is not supported; use {' or '.join(sorted(allowed))}"
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"the body has {declared} bytes; the limit is {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"the body exceeds the limit of {max_bytes} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise InvalidRequest(EMPTY_BODY)
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"the request body is not valid JSON: {exc}") from None


def request_context(request: Request, body: Any = None, *, has_body: bool = False) -> Any:
    """The @context value that applies to a request (None means the core context only).

    JSON-LD bodies must carry ``@context`` and no Link header; JSON bodies must not carry
    ``@context`` (§6.3.5). Arrays (batch operations) take each element's context: the first one
    is used to resolve the whole request, and all must agree.
    """
    link = link_context(request)
    if not has_body:
        return link
    kind = media_type(request)
    if kind == JSON_LD:
        if link is not None:
            raise BadRequestData("a JSON-LD body must not come with a Link @context header")
        contexts = _body_contexts(body)
        if not contexts or any(c is None for c in contexts):
            raise BadRequestData("a JSON-LD body (application/ld+json) must contain '@context'")
        first = contexts[0]
        if any(c != first for c in contexts[1:]):
            raise BadRequestData("every entity of a batch must use the same '@context'")
        return first
    if any(c is not None for c in _body_contexts(body)):
        raise BadRequestData(
            "an application/json body must not contain '@context'; use a Link header "
            "or Content-Type application/ld+json"
        )
    return link


def _body_contexts(body: Any) -> list[Any]:
    if isinstance(body, dict):
        return [body.get("@context")]
    if isinstance(body, list):
        return [item.get("@context") if isinstance(item, dict) else None for item in body]
    return []


#: The media types a response may take, in the order of preference of §6.3.4.
_PREFERENCE: dict[ResponseKind, int] = {"json": 0, "ld+json": 1, "geo+json": 2}


def response_kind(request: Request, *, geo: bool = False) -> ResponseKind:
    """Choose the response media type from the Accept header (§6.3.4, §6.3.6).

    The highest quality value wins; among equals, the first of ``application/json``,
    ``application/ld+json``, ``application/geo+json`` (§6.3.4 makes that order significant).
    """
    accept = request.headers.get("accept")
    if not accept:
        return "json"
    best: tuple[float, int, ResponseKind] | None = None
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        kind = pieces[0].lower()
        quality = 1.0
        for param in pieces[1:]:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        chosen: ResponseKind | None = None
        if kind in (JSON, "application/*", "*/*"):
            chosen = "json"
        elif kind == JSON_LD:
            chosen = "ld+json"
        elif kind == GEO_JSON and geo:
            chosen = "geo+json"
        if chosen is not None and quality > 0:
            candidate = (quality, -_PREFERENCE[chosen], chosen)
            if best is None or candidate > best:
                best = candidate
    if best is None:
        offered = f"{JSON}, {JSON_LD}" + (f" or {GEO_JSON}" if geo else "")
        raise NotAcceptable(f"cannot answer with {accept!r}; this resource offers {offered}")
    return best[2]


@dataclass(frozen=True)
class ContextLink:
    """What a response says about its @context: the value to embed and the URL to link."""

    value: Any
    url: str


def context_link(context_value: Any) -> ContextLink:
    """The @context to echo in a response for a request made with ``context_value``."""
    if context_value is None:
        return ContextLink(CORE_CONTEXT_URL, CORE_CONTEXT_URL)
    if isinstance(context_value, str):
        return ContextLink(context_value, context_value)
    return ContextLink(context_value, CORE_CONTEXT_URL)


def link_header(url: str) -> str:
    """A ``Link`` header value naming a JSON-LD context."""
    return f'<{url}>; rel="{JSONLD_CONTEXT_REL}"; type="{JSON_LD}"'


class OrjsonResponse(Response):
    """A JSON response serialised with orjson."""

    media_type = JSON

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def ngsi_response(
    payload: Any,
    kind: ResponseKind,
    context: ContextLink,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Answer with ``payload`` in the negotiated form, with @context embedded or linked."""
    extra = dict(headers or {})
    if kind == "ld+json":
        if isinstance(payload, list):
            payload = [dict(item, **{"@context": context.value}) for item in payload]
        elif isinstance(payload, dict):
            payload = dict(payload, **{"@context": context.value})
        response = OrjsonResponse(payload, status_code=status_code, headers=extra)
        response.headers["content-type"] = JSON_LD
        return response
    if kind == "geo+json":
        response = OrjsonResponse(payload, status_code=status_code, headers=extra)
        response.headers["content-type"] = GEO_JSON
        response.headers["link"] = link_header(context.url)
        return response
    extra["link"] = link_header(context.url)
    return OrjsonResponse(payload, status_code=status_code, headers=extra)
