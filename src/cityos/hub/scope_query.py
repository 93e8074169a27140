"""The NGSI-LD Scope Query Language (ETSI GS CIM 009 §4.19).

A scope query combines scope patterns with ``;`` (and) and ``,`` (or), ``;`` binding tighter, and
parentheses for grouping. A pattern is a scope path (``/Madrid/Gardens/ParqueNorte``) in which a
``+`` level matches any one level and a final ``#`` matches any number of further levels
(``/CompanyA/#``; ``/#`` matches every non-empty scope). An entity matches a pattern when one of
its scopes does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from cityos.core.errors import BadRequestData

ScopePredicate = Callable[[Sequence[str]], bool]

_LEVEL_RE = re.compile(r"^[^/;,()#+\s]+$|^\+$|^#$")
_MAX_LENGTH = 4096


def parse_scope_query(text: str) -> ScopePredicate:
    """Parse ``scopeQ`` into a predicate over an entity's scopes.

    Raises
    ------
    BadRequestData
        On an empty or malformed query.
    """
    if not text or not text.strip():
        raise BadRequestData("'scopeQ' is empty")
    if len(text) > _MAX_LENGTH:
        raise BadRequestData("'scopeQ' is too long")
    tokens = re.findall(r"[;,()]|[^;,()]+", text.replace(" ", ""))
    parser = _Parser(tokens, text)
    predicate = parser.disjunction()
    if parser.index != len(tokens):
        raise BadRequestData(f"unexpected {tokens[parser.index]!r} in scopeQ {text!r}")
    return predicate


def scope_matches(pattern: str, scope: str) -> bool:
    """Whether one scope matches one pattern (``+`` one level, final ``#`` any further ones)."""
    wanted = pattern.split("/")[1:]
    levels = scope.split("/")[1:]
    for index, level in enumerate(wanted):
        if level == "#":
            return len(levels) >= max(index, 1)
        if index >= len(levels) or (level != "+" and level != levels[index]):
            return False
    return len(levels) == len(wanted)


class _Parser:
    def __init__(self, tokens: list[str], text: str) -> None:
        self.tokens = tokens
        self.text = text
        self.index = 0

    def _peek(self) -> str | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def disjunction(self) -> ScopePredicate:
        terms = [self.conjunction()]
        while self._peek() == ",":
            self.index += 1
            terms.append(self.conjunction())
        if len(terms) == 1:
            return terms[0]
        return lambda scopes: any(term(scopes) for term in terms)

    def conjunction(self) -> ScopePredicate:
        terms = [self.term()]
        while self._peek() == ";":
            self.index += 1
            terms.append(self.term())
        if len(terms) == 1:
            return terms[0]
        return lambda scopes: all(term(scopes) for term in terms)

    def term(self) -> ScopePredicate:
        token = self._peek()
        if token is None:
            raise BadRequestData(f"scopeQ {self.text!r} ends unexpectedly")
        self.index += 1
        if token == "(":
            inner = self.disjunction()
            if self._peek() != ")":
                raise BadRequestData(f"unbalanced parentheses in scopeQ {self.text!r}")
            self.index += 1
            return inner
        if token in (")", ";", ","):
            raise BadRequestData(f"unexpected {token!r} in scopeQ {self.text!r}")
        pattern = _check_pattern(token, self.text)
        return lambda scopes: any(scope_matches(pattern, scope) for scope in scopes)


def _check_pattern(pattern: str, text: str) -> str:
    levels = pattern.split("/")
    if levels[0] != "" or len(levels) < 2:
        raise BadRequestData(f"invalid scope {pattern!r} in scopeQ {text!r}: must start with '/'")
    for index, level in enumerate(levels[1:], start=1):
        if not _LEVEL_RE.match(level) or (level == "#" and index != len(levels) - 1):
            raise BadRequestData(f"invalid scope {pattern!r} in scopeQ {text!r}")
    return pattern
