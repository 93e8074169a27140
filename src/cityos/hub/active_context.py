"""Term expansion and IRI compaction against one processed @context (ETSI GS CIM 009 §5.5.7).

NGSI-LD attribute names and entity types are JSON-LD terms: they are stored as IRIs
(expanded with the request's @context) and returned as short names (compacted with the
response's @context). Those two look-ups run for every attribute of every entity, so an
:class:`ActiveContext` flattens the JSON-LD active context computed once by pyld into plain
dictionaries and memoises each answer; it never runs a JSON-LD algorithm per entity.

Semantics, per JSON-LD 1.1 (IRI Expansion with ``vocab = true``; IRI Compaction):

* expansion: a keyword stays as it is; a defined term gives its IRI; ``prefix:suffix``
  gives the prefix's IRI plus the suffix when ``prefix`` is a term usable as a prefix;
  any other absolute IRI (``scheme:...``) or blank node stays as it is; everything else is
  appended to ``@vocab`` (the core context's ``https://uri.etsi.org/ngsi-ld/default-context/``).
  A term mapped to ``null`` by the user context is treated as undefined (it falls back to
  ``@vocab``) rather than dropped, so no attribute is ever silently lost.
* compaction: the term mapped to the IRI (shortest, then lexicographically least, when
  several are); else the suffix relative to ``@vocab`` if that suffix is not itself a term;
  else the shortest compact IRI ``prefix:suffix``; else the IRI unchanged. Unlike full
  JSON-LD compaction, the term is chosen whatever the attribute's value looks like, as
  NGSI-LD brokers do: a term with type coercion (``"@type": "DateTime"``) or a container
  (``"@container": "@list"``) still compacts its IRI.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

ContextValue = str | dict[str, Any] | list[Any] | None
"""A JSON-LD @context value as found in a body or a ``Link`` header."""

_JSONLD_KEYWORDS = frozenset(
    {
        "@base", "@container", "@context", "@default", "@direction", "@embed", "@explicit",
        "@first", "@graph", "@id", "@import", "@included", "@index", "@json", "@language",
        "@list", "@nest", "@none", "@omitDefault", "@propagate", "@protected", "@preserve",
        "@requireAll", "@reverse", "@set", "@type", "@value", "@version", "@vocab",
    }
)  # fmt: skip
_KEYWORD_LIKE = re.compile(r"^@[a-zA-Z]+$")
_ABSOLUTE_IRI = re.compile(r"^([A-Za-z][A-Za-z0-9+\-.]*|_):\S*$")
_MEMO_LIMIT = 100_000
_UNDEFINED = object()


class _TermTables:
    """Plain-dictionary view of a pyld active context, with memoised answers."""

    __slots__ = ("compacted", "expanded", "prefixes", "reverse", "terms", "vocab")

    def __init__(self, processed: Mapping[str, Any]) -> None:
        self.vocab: str | None = processed.get("@vocab")
        self.terms: dict[str, str | None] = {}
        self.prefixes: dict[str, str] = {}
        self.reverse: dict[str, str] = {}
        for term, definition in processed.get("mappings", {}).items():
            iri = definition.get("@id") if definition else None
            self.terms[term] = iri
            if iri is None:
                continue
            if definition.get("_prefix") and ":" not in term:
                self.prefixes[term] = iri
            if definition.get("reverse"):
                continue
            current = self.reverse.get(iri)
            if current is None or (len(term), term) < (len(current), current):
                self.reverse[iri] = term
        self.expanded: dict[str, str] = {}
        self.compacted: dict[str, str] = {}

    def expand(self, term: str) -> str:
        if len(self.expanded) >= _MEMO_LIMIT:
            self.expanded.clear()
        result = self._expand(term)
        self.expanded[term] = result
        return result

    def _expand(self, term: str) -> str:
        if term in _JSONLD_KEYWORDS or _KEYWORD_LIKE.match(term):
            return term
        iri = self.terms.get(term, _UNDEFINED)
        if isinstance(iri, str):
            return iri
        prefix, colon, suffix = term.partition(":")
        if colon and prefix:
            if prefix == "_" or suffix.startswith("//"):
                return term
            base = self.prefixes.get(prefix)
            if base is not None:
                return base + suffix
            if _ABSOLUTE_IRI.match(term):
                return term
        if self.vocab is not None:
            return self.vocab + term
        return term

    def compact(self, iri: str) -> str:
        if len(self.compacted) >= _MEMO_LIMIT:
            self.compacted.clear()
        result = self._compact(iri)
        self.compacted[iri] = result
        return result

    def _compact(self, iri: str) -> str:
        term = self.reverse.get(iri)
        if term is not None:
            return term
        vocab = self.vocab
        if vocab and iri != vocab and iri.startswith(vocab):
            suffix = iri[len(vocab) :]
            if suffix not in self.terms:
                return suffix
        best: str | None = None
        for prefix, base in self.prefixes.items():
            if iri != base and iri.startswith(base):
                curie = f"{prefix}:{iri[len(base) :]}"
                if curie not in self.terms and (
                    best is None or (len(curie), curie) < (len(best), best)
                ):
                    best = curie
        return best if best is not None else iri


class ActiveContext:
    """A processed @context: the user context with the core context applied on top.

    Instances are built by :class:`~cityos.hub.jsonld_context.ContextResolver`, which
    caches one per distinct @context value; they are immutable and thread-safe.

    Attributes
    ----------
    source
        The @context value as the client gave it (a URL, an object, or an array of those),
        or the core context URL when the client gave none; echo it back in responses.
    dependencies
        Store keys of the stored @contexts (Cached, Hosted...) this context was built from.
    shadowed_terms
        Terms the user context defined differently from the core context; the core
        definitions apply to them (§5.5.7: core terms cannot be overridden).
    expires_at
        ``time.monotonic()`` instant after which a remote dependency may be stale and the
        context should be rebuilt (``inf`` when nothing remote is involved).
    """

    __slots__ = ("_tables", "dependencies", "expires_at", "shadowed_terms", "source")

    def __init__(
        self,
        source: ContextValue,
        processed: Mapping[str, Any] | _TermTables,
        *,
        dependencies: frozenset[str] = frozenset(),
        shadowed_terms: frozenset[str] = frozenset(),
        expires_at: float = math.inf,
    ) -> None:
        self.source = source
        self._tables = processed if isinstance(processed, _TermTables) else _TermTables(processed)
        self.dependencies = dependencies
        self.shadowed_terms = shadowed_terms
        self.expires_at = expires_at

    def with_source(self, source: ContextValue) -> ActiveContext:
        """The same processed context (sharing its memos) under another ``source``."""
        return ActiveContext(
            source,
            self._tables,
            dependencies=self.dependencies,
            shadowed_terms=self.shadowed_terms,
            expires_at=self.expires_at,
        )

    @property
    def vocab(self) -> str | None:
        """The effective ``@vocab`` (normally the NGSI-LD default context)."""
        return self._tables.vocab

    def expand_term(self, term: str) -> str:
        """Expand an attribute name or entity type to its IRI (§5.5.7, JSON-LD IRI Expansion).

        Parameters
        ----------
        term
            A short name (``"temperature"``), a compact IRI (``"schema:name"``) or an IRI.

        Returns
        -------
        str
            The IRI; keywords (``"@id"``) and keyword aliases expand to the keyword.
        """
        try:
            return self._tables.expanded[term]
        except KeyError:
            return self._tables.expand(term)

    def compact_iri(self, iri: str) -> str:
        """Compact an attribute or entity-type IRI to the shortest name this context allows.

        Parameters
        ----------
        iri
            An expanded IRI, as stored by the broker.

        Returns
        -------
        str
            A term, a ``@vocab``-relative name, a compact IRI, or ``iri`` itself.
        """
        try:
            return self._tables.compacted[iri]
        except KeyError:
            return self._tables.compact(iri)

    def __repr__(self) -> str:
        return f"ActiveContext(source={self.source!r}, terms={len(self._tables.terms)})"
