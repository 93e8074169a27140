"""Fetching remote JSON-LD @context documents over HTTP(S) (ETSI GS CIM 009 §5.5.7, §6.3.5).

A remote @context is dereferenced with ``Accept: application/ld+json, application/json``,
following at most five redirects, within a deadline, and with the body size limited while it
streams in, so a slow or huge server can neither stall a request nor exhaust memory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from cityos.core.errors import InvalidLdContext, LdContextNotAvailable, LdContextTimeout

ACCEPT = "application/ld+json, application/json"
MAX_REDIRECTS = 5
_SCHEMES = frozenset({"http", "https"})


def is_fetchable_url(url: str) -> bool:
    """Whether ``url`` is an absolute ``http``/``https`` URL the fetcher may dereference."""
    parts = urlsplit(url)
    return parts.scheme.lower() in _SCHEMES and bool(parts.netloc)


@dataclass(frozen=True, slots=True)
class FetchedContext:
    """A remote @context document, parsed and checked.

    Attributes
    ----------
    url
        The URL that was asked for.
    document_url
        The URL the document was finally served from (after redirects).
    document
        The parsed JSON document; a JSON object with an ``@context`` member.
    content_length
        Size of the (decoded) body [bytes].
    content_type
        The ``Content-Type`` the server declared, if any.
    """

    url: str
    document_url: str
    document: dict[str, Any]
    content_length: int
    content_type: str | None


class ContextFetcher:
    """Dereference @context URLs with a timeout, a size limit and a redirect limit.

    Parameters
    ----------
    timeout_s
        Deadline for one fetch, connection to last byte [s].
    max_bytes
        Largest accepted body [bytes]; the download is aborted as soon as it is exceeded.
    http_client
        Client to use; when omitted one is created (and closed by :meth:`close`). A given
        client keeps its own ``max_redirects`` and transport settings.
    """

    def __init__(
        self, *, timeout_s: float, max_bytes: int, http_client: httpx.Client | None = None
    ) -> None:
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self._owns_client = http_client is None
        self._client = http_client or httpx.Client(
            max_redirects=MAX_REDIRECTS, timeout=httpx.Timeout(timeout_s)
        )

    def close(self) -> None:
        """Close the HTTP client if this fetcher created it."""
        if self._owns_client:
            self._client.close()

    def fetch(self, url: str) -> FetchedContext:
        """Fetch and parse the @context document at ``url``.

        Raises
        ------
        LdContextTimeout
            The server did not deliver the document within :attr:`timeout_s` (504).
        LdContextNotAvailable
            Unsupported scheme, connection failure, HTTP status other than 2xx, too many
            redirects, or a body larger than :attr:`max_bytes` (503).
        InvalidLdContext
            The body is not JSON, not an object, or has no ``@context`` member (503).
        """
        if not is_fetchable_url(url):
            raise LdContextNotAvailable(
                f"@context {url!r} cannot be fetched: only http and https URLs are supported"
            )
        deadline = time.monotonic() + self.timeout_s
        try:
            with self._client.stream(
                "GET",
                url,
                headers={"Accept": ACCEPT},
                timeout=httpx.Timeout(self.timeout_s),
                follow_redirects=True,
            ) as response:
                self._check_response(url, response)
                body = self._read_limited(url, response, deadline)
                document_url = str(response.url)
                content_type = response.headers.get("content-type")
        except httpx.TimeoutException as exc:
            raise self._timeout(url) from exc
        except httpx.TooManyRedirects as exc:
            raise LdContextNotAvailable(
                f"@context {url} not available: more than {MAX_REDIRECTS} redirects"
            ) from exc
        except httpx.UnsupportedProtocol as exc:
            raise LdContextNotAvailable(
                f"@context {url} not available: redirected to an unsupported URL scheme"
            ) from exc
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise LdContextNotAvailable(f"@context {url} not available: {reason}") from exc
        document = _parse_document(url, body, content_type)
        return FetchedContext(url, document_url, document, len(body), content_type)

    def _check_response(self, url: str, response: httpx.Response) -> None:
        if not 200 <= response.status_code < 300:
            raise LdContextNotAvailable(
                f"@context {url} not available: HTTP status {response.status_code}"
            )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise LdContextNotAvailable(
                f"@context {url} not available: it is {int(declared)} bytes, "
                f"more than the limit of {self.max_bytes} bytes"
            )

    def _read_limited(self, url: str, response: httpx.Response, deadline: float) -> bytes:
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > self.max_bytes:
                raise LdContextNotAvailable(
                    f"@context {url} not available: larger than the limit of {self.max_bytes} "
                    f"bytes (download aborted after {len(body)} bytes)"
                )
            if time.monotonic() > deadline:
                raise self._timeout(url)
        return bytes(body)

    def _timeout(self, url: str) -> LdContextTimeout:
        return LdContextTimeout(
            f"@context {url} not available: no complete answer within {self.timeout_s:g} s"
        )


def _parse_document(url: str, body: bytes, content_type: str | None) -> dict[str, Any]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        served_as = f" (served as {content_type})" if content_type else ""
        raise InvalidLdContext(f"@context {url} is not valid JSON{served_as}: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidLdContext(f"@context {url} is not a JSON object")
    if "@context" not in document:
        raise InvalidLdContext(f"@context {url} has no @context member")
    value = document["@context"]
    if value is not None and not isinstance(value, str | dict | list):
        raise InvalidLdContext(
            f"@context {url} has an @context member that is neither an object, "
            "an array nor a string"
        )
    return document
