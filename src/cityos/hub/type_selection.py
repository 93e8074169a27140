"""Entity type selection expressions (ETSI GS CIM 009 §4.17).

``type=Building`` selects one type; ``,`` and ``|`` mean "or", ``;`` means "and" (an entity with
several types), and parentheses group: ``(Building;Landmark)|Parking``. The parsed form is a
disjunction of conjunctions of expanded type IRIs, which every backend can turn into SQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from cityos.core.errors import BadRequestData
from cityos.hub.model import check_name

#: A disjunction (outer tuple) of conjunctions (inner frozensets) of expanded type IRIs.
TypeSelection = tuple[frozenset[str], ...]

_TOKEN_RE = re.compile(r"\s*(?:(?P<op>[(),;|])|(?P<name>[^(),;|\s]+))")
_MAX_TERMS = 100


def parse_type_selection(text: str, expand: Callable[[str], str]) -> TypeSelection:
    """Parse a type selection into disjunctive normal form.

    Raises
    ------
    BadRequestData
        On an empty or unbalanced expression, or an invalid type name.
    """
    if not text or not text.strip():
        raise BadRequestData("the 'type' parameter is empty")
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None or match.end() == pos:
            if text[pos:].strip() == "":
                break
            raise BadRequestData(f"invalid type selection at position {pos}: {text!r}")
        kind = "op" if match.group("op") else "name"
        tokens.append((kind, match.group(kind), match.start(kind)))
        pos = match.end()
    if len(tokens) > 2 * _MAX_TERMS:
        raise BadRequestData("the type selection has too many terms")
    parser = _Parser(tokens, expand, text)
    result = parser.disjunction()
    if parser.index != len(tokens):
        _, token, at = tokens[parser.index]
        raise BadRequestData(f"unexpected {token!r} at position {at} in type selection {text!r}")
    return result


class _Parser:
    def __init__(
        self, tokens: list[tuple[str, str, int]], expand: Callable[[str], str], text: str
    ) -> None:
        self.tokens = tokens
        self.index = 0
        self.expand = expand
        self.text = text

    def _peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def disjunction(self) -> TypeSelection:
        terms = list(self.conjunction())
        while (tok := self._peek()) is not None and tok[1] in (",", "|"):
            self.index += 1
            terms.extend(self.conjunction())
        return tuple(dict.fromkeys(terms))

    def conjunction(self) -> TypeSelection:
        result = self.primary()
        while (tok := self._peek()) is not None and tok[1] == ";":
            self.index += 1
            right = self.primary()
            result = tuple(a | b for a in result for b in right)
            if len(result) > _MAX_TERMS:
                raise BadRequestData("the type selection expands to too many alternatives")
        return result

    def primary(self) -> TypeSelection:
        tok = self._peek()
        if tok is None:
            raise BadRequestData(f"type selection ends unexpectedly: {self.text!r}")
        kind, value, at = tok
        if kind == "name":
            self.index += 1
            return (frozenset({self.expand(check_name(value, what="entity type"))}),)
        if value == "(":
            self.index += 1
            inner = self.disjunction()
            close = self._peek()
            if close is None or close[1] != ")":
                raise BadRequestData(f"unbalanced '(' at position {at} in {self.text!r}")
            self.index += 1
            return inner
        raise BadRequestData(f"unexpected {value!r} at position {at} in type selection")
