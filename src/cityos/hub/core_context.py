"""The NGSI-LD core @context, served from a vendored copy (ETSI GS CIM 009 §5.5.7, Annex B).

The broker never fetches the core context over the network: the v1.8 document ships with
the package (``contexts/ngsi-ld-core-context-v1.8.jsonld``, Copyright ETSI, BSD 3-Clause) and
every URL a client may use to name a core context (the unversioned alias and v1.3 to v1.8)
resolves to it. Older core contexts are subsets of v1.8 for the terms the broker relies on,
so mapping them to the newest document keeps clients that name them working offline.
"""

from __future__ import annotations

import copy
from functools import cache
from importlib.resources import files
from typing import Any

import orjson

CORE_CONTEXT_URL = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
"""The URL of the core @context this broker implements (v1.8)."""

CORE_CONTEXT_ALIASES: frozenset[str] = frozenset(
    {
        CORE_CONTEXT_URL,
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
        *(
            f"https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.{minor}.jsonld"
            for minor in range(3, 8)
        ),
    }
)
"""Every URL answered with the vendored core document, never fetched."""

DEFAULT_VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
"""The core context's ``@vocab``: where terms defined nowhere else expand to."""

_RESOURCE = "ngsi-ld-core-context-v1.8.jsonld"


def is_core_context_url(url: object) -> bool:
    """Whether ``url`` names the NGSI-LD core @context (any supported version or alias)."""
    return isinstance(url, str) and url in CORE_CONTEXT_ALIASES


@cache
def core_context_bytes() -> bytes:
    """The vendored core @context document, exactly as stored in the package."""
    return files("cityos.hub").joinpath("contexts", _RESOURCE).read_bytes()


@cache
def _core_document() -> dict[str, Any]:
    document = orjson.loads(core_context_bytes())
    if not isinstance(document, dict) or not isinstance(document.get("@context"), dict):
        raise RuntimeError(f"the vendored {_RESOURCE} is not a JSON-LD context document")
    return document


def core_context_document() -> dict[str, Any]:
    """A fresh copy of the core @context document (``{"@context": {...}}``).

    A copy is returned because JSON-LD processors may rewrite documents in place.
    """
    return copy.deepcopy(_core_document())


def unprotected_core_context_document() -> dict[str, Any]:
    """The core @context document without ``@protected``.

    Used while a user @context is processed on its own: a user context that includes the
    core context and then redefines one of its terms must not fail there, because the
    protected core context is applied again on top afterwards and wins (§5.5.7).
    """
    document = core_context_document()
    document["@context"].pop("@protected", None)
    return document
