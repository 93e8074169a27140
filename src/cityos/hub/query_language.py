"""The NGSI-LD query language ``q``: literals, AST, parser and renderer.

NGSI-LD query language (ETSI GS CIM 009 §4.9). The grammar is parsed by hand, by recursive
descent, into a small tree of frozen dataclasses that is independent of any storage backend:
:mod:`cityos.hub.query_sql` compiles it to SQLite and :mod:`cityos.hub.query_eval` evaluates it
in memory. :func:`to_text` renders a tree back to ``q`` text that parses to the same tree.

Beyond the ABNF of §4.9 the parser accepts what brokers commonly accept: ``!attr`` (the attribute
does not exist), the ``[*]`` wildcard member (§4.9, LanguageProperty queries), nested brackets
``attr[a][b]`` (same as ``attr[a.b]``), compact and full IRIs as attribute names, unquoted terms
as values (``gender==Male``, §4.9 example 12) and whitespace between tokens.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from cityos.core.errors import BadRequestData, TooComplexQuery

META_MEMBERS = frozenset({"observedAt", "createdAt", "modifiedAt", "unitCode", "datasetId"})
"""Names that address a member of the attribute instance itself, not a sub-attribute."""

WILDCARD = "*"
DEFAULT_MAX_TERMS = 100
DEFAULT_MAX_DEPTH = 16
NESTING_LIMIT = 64
"""Parentheses nested deeper than this are rejected as malformed whatever ``max_depth`` says."""

_INT64 = 2**63


class Operator(StrEnum):
    """Comparison operators of a Query Term."""

    EQ = "=="
    NE = "!="
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="
    MATCH = "~="
    NOT_MATCH = "!~="


ORDERING = frozenset({Operator.GT, Operator.GE, Operator.LT, Operator.LE})
_OPERATORS = sorted(Operator, key=lambda op: -len(op.value))


@dataclass(frozen=True, slots=True)
class AttrPath:
    """An attribute path: ``attr(.sub)*(.meta)?([member(.member)*])?``.

    ``attr`` and ``sub`` are names as written (to be expanded); ``meta`` is one of
    :data:`META_MEMBERS`; ``members`` is the trailing compound path, never expanded, whose last
    element may be :data:`WILDCARD`.
    """

    attr: str
    sub: tuple[str, ...] = ()
    meta: str | None = None
    members: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = ".".join((self.attr, *self.sub))
        if self.meta is not None:
            text += "." + self.meta
        if self.members:
            text += "[" + ".".join(self.members) + "]"
        return text


@dataclass(frozen=True, slots=True)
class NumberValue:
    value: int | float

    def __str__(self) -> str:
        return repr(self.value)


@dataclass(frozen=True, slots=True)
class StringValue:
    value: str

    def __str__(self) -> str:
        return json.dumps(self.value, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class BooleanValue:
    value: bool

    def __str__(self) -> str:
        return "true" if self.value else "false"


@dataclass(frozen=True, slots=True)
class DateTimeValue:
    """An unquoted DateTime, held in canonical form (see :func:`canonical_datetime`)."""

    value: str

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class DateValue:
    value: str

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class TimeValue:
    """An unquoted Time, held in canonical form (see :func:`canonical_time`)."""

    value: str

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class UriValue:
    """An unquoted URI, compact IRI or term; it compares as text."""

    value: str

    def __str__(self) -> str:
        return self.value


Scalar = NumberValue | StringValue | BooleanValue | DateTimeValue | DateValue | TimeValue | UriValue
COMPARABLE = (NumberValue, StringValue, DateTimeValue, DateValue, TimeValue)
_TEXTUAL = StringValue | UriValue | DateTimeValue | DateValue | TimeValue


@dataclass(frozen=True, slots=True)
class ValueList:
    """``v1,v2,...``: equal to any of the values (with ``!=``: to none of them)."""

    values: tuple[Scalar, ...]

    def __str__(self) -> str:
        return ",".join(str(value) for value in self.values)


@dataclass(frozen=True, slots=True)
class Range:
    """``low..high``, both ends included."""

    low: Scalar
    high: Scalar

    def __str__(self) -> str:
        return f"{self.low}..{self.high}"


@dataclass(frozen=True, slots=True)
class RegexPattern:
    """The regular expression of ``~=`` / ``!~=`` (Python :mod:`re` syntax, unanchored)."""

    source: str

    def __str__(self) -> str:
        return json.dumps(self.source, ensure_ascii=False)


Operand = Scalar | ValueList | Range | RegexPattern


@dataclass(frozen=True, slots=True)
class Exists:
    path: AttrPath

    def __str__(self) -> str:
        return str(self.path)


@dataclass(frozen=True, slots=True)
class NotExists:
    path: AttrPath

    def __str__(self) -> str:
        return "!" + str(self.path)


@dataclass(frozen=True, slots=True)
class Comparison:
    path: AttrPath
    op: Operator
    operand: Operand

    def __str__(self) -> str:
        return f"{self.path}{self.op.value}{self.operand}"


@dataclass(frozen=True, slots=True)
class And:
    terms: tuple[Query, ...]

    def __str__(self) -> str:
        return ";".join(f"({t})" if isinstance(t, And | Or) else str(t) for t in self.terms)


@dataclass(frozen=True, slots=True)
class Or:
    terms: tuple[Query, ...]

    def __str__(self) -> str:
        return "|".join(f"({t})" if isinstance(t, Or) else str(t) for t in self.terms)


Query = Exists | NotExists | Comparison | And | Or


def to_text(query: Query) -> str:
    """Render ``query`` as ``q`` text; :func:`parse_q` of the result gives back ``query``."""
    return str(query)


# -- literals --------------------------------------------------------------------------------

_DATETIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2})"
    r"(?::([0-9]{2})(?:[.,]([0-9]+))?)?(Z|z|[+-][0-9]{2}:?[0-9]{2})?"
)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = re.compile(r"([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]+))?)?(Z|z)?")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s\x00-\x1f\x7f\"<>\\^`{|}]+")
_TERM = re.compile(r"[^\W\d][\w-]*")
_SCHEME_SLASHES = re.compile(r"[A-Za-z][A-Za-z0-9+\-]*://")


def _micros(fraction: str | None) -> int:
    return int((fraction or "0")[:6].ljust(6, "0"))


def canonical_datetime(text: object) -> str | None:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC) for an ISO 8601 DateTime, else ``None``.

    A missing offset means UTC; digits beyond microseconds are dropped. Both the SQL compiler
    (through a registered function) and the evaluator compare DateTimes in this form, which
    orders temporally (§4.9: "the order relation considered shall be a temporal one").
    """
    if not isinstance(text, str) or (match := _DATETIME.fullmatch(text)) is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
            _micros(fraction), tzinfo=UTC,
        )  # fmt: skip
        if zone and zone not in "Zz":
            digits = zone[1:].replace(":", "")
            if int(digits[:2]) > 23 or int(digits[2:]) > 59:
                return None
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            moment = moment - offset if zone[0] == "+" else moment + offset
    except (ValueError, OverflowError):
        return None
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
        f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond:06d}Z"
    )


def canonical_date(text: object) -> str | None:
    """``text`` if it is a valid ``YYYY-MM-DD`` Date, else ``None``."""
    if not isinstance(text, str) or _DATE.fullmatch(text) is None:
        return None
    try:
        date.fromisoformat(text)
    except ValueError:
        return None
    return text


def canonical_time(text: object) -> str | None:
    """``HH:MM:SS.ffffff`` for a Time (seconds, fraction and ``Z`` optional), else ``None``."""
    if not isinstance(text, str) or (match := _TIME.fullmatch(text)) is None:
        return None
    hour, minute, second, fraction, _zone = match.groups()
    if int(hour) > 23 or int(minute) > 59 or int(second or 0) > 59:
        return None
    return f"{hour}:{minute}:{second or '00'}.{_micros(fraction):06d}"


@lru_cache(maxsize=512)
def compile_pattern(source: str) -> re.Pattern[str]:
    """The compiled regular expression of a ``~=`` term (cached; raises :class:`re.error`)."""
    return re.compile(source)


def regex_search(source: object, value: object) -> bool:
    """Whether the regular expression ``source`` matches somewhere in the string ``value``."""
    if not isinstance(source, str) or not isinstance(value, str):
        return False
    try:
        return compile_pattern(source).search(value) is not None
    except (re.error, RecursionError, OverflowError, ValueError):
        return False


# -- path resolution shared by the backends ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResolvedPath:
    """An :class:`AttrPath` with attribute and sub-attribute names expanded to IRIs."""

    attr: str
    sub: tuple[str, ...]
    meta: str | None
    members: tuple[str, ...]
    wildcard: bool


def expands_language_maps(path: ResolvedPath, operand: Operand) -> bool:
    """Whether the candidates include the strings of a LanguageProperty's languageMap.

    They do when the path ends at the attribute value (no member, no well-known member) and the
    operand is textual: a languageMap holds only strings, so numbers and booleans skip it.
    """
    if path.meta is not None or path.members or path.wildcard:
        return False
    if isinstance(operand, ValueList):
        return any(isinstance(value, _TEXTUAL) for value in operand.values)
    if isinstance(operand, Range):
        return isinstance(operand.low, _TEXTUAL)
    return isinstance(operand, _TEXTUAL | RegexPattern)


def _checked_iri(name: str, expand: Callable[[str], str]) -> str:
    iri = expand(name)
    if not isinstance(iri, str) or not iri or any(c in '"\\' or c < " " for c in iri):
        raise BadRequestData(f"Invalid NGSI-LD query (q): '{name}' expands to an invalid IRI")
    return iri


def resolve_path(path: AttrPath, expand: Callable[[str], str]) -> ResolvedPath:
    """Expand the names of ``path``; members and well-known member names are kept as written."""
    wildcard = bool(path.members) and path.members[-1] == WILDCARD
    return ResolvedPath(
        attr=_checked_iri(path.attr, expand),
        sub=tuple(_checked_iri(name, expand) for name in path.sub),
        meta=path.meta,
        members=path.members[:-1] if wildcard else path.members,
        wildcard=wildcard,
    )


# -- parser ------------------------------------------------------------------------------------

_SPACE = " \t\r\n"
_NAME_EXTRA = "_-:/#@%"
_VALUE_END = ';|(),"' + _SPACE
_MEMBER_FORBIDDEN = '.[]"\\'


def parse_q(
    text: str,
    *,
    max_terms: int | None = DEFAULT_MAX_TERMS,
    max_depth: int | None = DEFAULT_MAX_DEPTH,
) -> Query:
    """Parse an NGSI-LD ``q`` expression (ETSI GS CIM 009 §4.9).

    ``;`` (AND) binds tighter than ``|`` (OR); parentheses group. Nested groups of the same
    operator are flattened and redundant parentheses dropped.

    Parameters
    ----------
    text
        The ``q`` parameter, already percent-decoded.
    max_terms
        Most Query Terms allowed (``None``: no limit).
    max_depth
        Deepest parenthesis nesting allowed (``None``: up to :data:`NESTING_LIMIT`).

    Raises
    ------
    BadRequestData
        If ``text`` is not a valid query; the detail names the character position (0-based).
    TooComplexQuery
        If the query has more than ``max_terms`` terms or nests deeper than ``max_depth``.
    """
    return _Parser(text, max_terms, max_depth).parse()


class _Parser:
    def __init__(self, text: str, max_terms: int | None, max_depth: int | None) -> None:
        self.text = text
        self.pos = 0
        self.depth = 0
        self.terms = 0
        self.max_terms = max_terms
        self.max_depth = max_depth

    # helpers

    def error(self, message: str, pos: int | None = None) -> BadRequestData:
        at = self.pos if pos is None else pos
        return BadRequestData(f"Invalid NGSI-LD query (q): {message} at position {at}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _SPACE:
            self.pos += 1

    def describe(self) -> str:
        return f"character '{self.peek()}'" if self.peek() else "end of query"

    # grammar

    def parse(self) -> Query:
        if not isinstance(self.text, str) or not self.text.strip(_SPACE):
            raise self.error("the query is empty", 0)
        for index, char in enumerate(self.text):
            if char == "\x00" or "\ud800" <= char <= "\udfff":
                raise self.error("invalid character (NUL or unpaired surrogate)", index)
        query = self.disjunction()
        self.skip_space()
        if self.peek() == ")":
            raise self.error("unbalanced parenthesis: unexpected ')'")
        if self.pos < len(self.text):
            raise self.error(f"expected ';', '|' or end of query but found {self.describe()}")
        return query

    def disjunction(self) -> Query:
        terms = [self.conjunction()]
        while self.peek() == "|":
            self.pos += 1
            terms.append(self.conjunction())
        return _flatten(Or, terms)

    def conjunction(self) -> Query:
        terms = [self.primary()]
        self.skip_space()
        while self.peek() == ";":
            self.pos += 1
            terms.append(self.primary())
            self.skip_space()
        return _flatten(And, terms)

    def primary(self) -> Query:
        self.skip_space()
        char, start = self.peek(), self.pos
        if char == "(":
            self.depth += 1
            if self.depth > NESTING_LIMIT:
                raise self.error(f"parentheses nested deeper than {NESTING_LIMIT} levels")
            if self.max_depth is not None and self.depth > self.max_depth:
                raise TooComplexQuery(
                    f"The query (q) nests parentheses deeper than {self.max_depth} levels"
                )
            self.pos += 1
            query = self.disjunction()
            self.skip_space()
            if self.peek() != ")":
                if self.pos >= len(self.text):
                    raise self.error("unbalanced parenthesis: '(' is never closed", start)
                raise self.error(f"expected ')' but found {self.describe()}")
            self.pos += 1
            self.depth -= 1
            return query
        if char == "!" and not self.text.startswith(("!=", "!~="), self.pos):
            self.pos += 1
            self.skip_space()
            path = self.path()
            self.count_term()
            self.skip_space()
            if self.operator_at() is not None:
                raise self.error("'!' (not exists) cannot be combined with an operator")
            return NotExists(path)
        if not char:
            raise self.error("expected a query term but reached the end of the query")
        if char in ";|":
            raise self.error(f"expected a query term before '{char}'")
        if char == ")":
            raise self.error("unexpected ')'; expected a query term")
        if (op := self.operator_at()) is not None:
            raise self.error(f"missing attribute path before operator '{op.value}'")
        return self.term()

    def count_term(self) -> None:
        self.terms += 1
        if self.max_terms is not None and self.terms > self.max_terms:
            raise TooComplexQuery(f"The query (q) has more than {self.max_terms} query terms")

    def term(self) -> Query:
        path = self.path()
        self.count_term()
        self.skip_space()
        op = self.operator_at()
        if op is None:
            if self.peek() in ("", ";", "|", ")"):
                return Exists(path)
            if self.peek() == "=":
                raise self.error("unknown operator '='; use '==' for equality")
            raise self.error(f"expected an operator, ';', '|' or ')' but found {self.describe()}")
        self.pos += len(op.value)
        self.skip_space()
        if self.peek() in ("", ";", "|", ")"):
            raise self.error(f"missing value after operator '{op.value}'")
        if op in (Operator.MATCH, Operator.NOT_MATCH):
            return Comparison(path, op, self.pattern())
        value_pos = self.pos
        operand = self.operand()
        if op in ORDERING and not isinstance(operand, COMPARABLE):
            raise self.error(
                f"operator '{op.value}' takes a single number, string, DateTime, Date or Time"
                " (strings must be double-quoted)",
                value_pos,
            )
        return Comparison(path, op, operand)

    def operator_at(self) -> Operator | None:
        for op in _OPERATORS:
            if self.text.startswith(op.value, self.pos):
                return op
        return None

    # attribute paths

    def name(self, what: str) -> str:
        text, start = self.text, self.pos
        if not (start < len(text) and (text[start].isalpha() or text[start] == "_")):
            raise self.error(f"expected {what} but found {self.describe()}")
        iri = _SCHEME_SLASHES.match(text, start)
        pos = iri.end() if iri else start + 1
        while pos < len(text):
            char = text[pos]
            inside_iri = char == "." and iri is not None and _dot_inside_iri(text, pos + 1)
            if not (char.isalnum() or char in _NAME_EXTRA or inside_iri):
                break
            pos += 1
        self.pos = pos
        return text[start:pos]

    def path(self) -> AttrPath:
        attr = self.name("an attribute name")
        sub: list[str] = []
        meta: str | None = None
        while self.peek() == ".":
            if meta is not None:
                raise self.error(f"'{meta}' must end the attribute path")
            self.pos += 1
            name = self.name("a sub-attribute name after '.'")
            if name in META_MEMBERS:
                meta = name
            else:
                sub.append(name)
        members: list[str] = []
        while self.peek() == "[":
            if meta is not None:
                raise self.error(f"'{meta}' cannot be followed by a compound member path")
            members.extend(self.members())
        if WILDCARD in members[:-1]:
            raise self.error("the wildcard member '*' must end the attribute path")
        if self.peek() in (".", "["):
            raise self.error(f"unexpected '{self.peek()}' after the compound member path")
        return AttrPath(attr, tuple(sub), meta, tuple(members))

    def members(self) -> list[str]:
        opened = self.pos
        self.pos += 1
        members: list[str] = []
        while True:
            start = self.pos
            while self.pos < len(self.text) and self.text[self.pos] not in _MEMBER_FORBIDDEN:
                if self.text[self.pos] < " ":
                    raise self.error("control character in member name")
                self.pos += 1
            if self.pos == start:
                if self.pos >= len(self.text):
                    raise self.error("unterminated '['", opened)
                raise self.error(f"expected a member name but found {self.describe()}")
            members.append(self.text[start : self.pos])
            char = self.peek()
            if char == "]":
                self.pos += 1
                return members
            if char != ".":
                if not char:
                    raise self.error("unterminated '['", opened)
                raise self.error(f"{self.describe()} is not allowed in a member name")
            self.pos += 1

    # values

    def operand(self) -> Scalar | ValueList | Range:
        first = self.value()
        self.skip_space()
        if self.text.startswith("..", self.pos):
            dots = self.pos
            self.pos += 2
            self.skip_space()
            if self.peek() in ("", ";", "|", ")", ","):
                raise self.error("invalid range: missing upper bound")
            high = self.value()
            self.check_range(first, high, dots)
            self.skip_space()
            if self.peek() == ",":
                raise self.error("a range cannot be part of a value list")
            return Range(first, high)
        if self.peek() != ",":
            return first
        values = [first]
        while self.peek() == ",":
            self.pos += 1
            self.skip_space()
            if self.peek() in ("", ";", "|", ")", ","):
                raise self.error("missing value after ',' in value list")
            values.append(self.value())
            self.skip_space()
            if self.text.startswith("..", self.pos):
                raise self.error("a range cannot be part of a value list")
        return ValueList(tuple(values))

    def check_range(self, low: Scalar, high: Scalar, pos: int) -> None:
        if not isinstance(low, COMPARABLE) or type(low) is not type(high):
            raise self.error(
                "invalid range: both bounds must be numbers, strings, DateTimes, Dates or Times"
                " of the same kind",
                pos,
            )
        if low.value > high.value:
            raise self.error("invalid range: lower bound is greater than upper bound", pos)

    def value(self) -> Scalar:
        if self.peek() == '"':
            return StringValue(self.string())
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _VALUE_END:
            if self.text.startswith("..", self.pos):
                break
            self.pos += 1
        word = self.text[start : self.pos]
        if not word:
            raise self.error(f"expected a value but found {self.describe()}")
        value = self.classify(word, start)
        if isinstance(value, DateTimeValue) and self.text[self.pos : self.pos + 1] == " ":
            rest = self.text[self.pos + 1 : self.pos + 3]
            if rest.isdigit():
                raise self.error("unexpected space in DateTime (percent-encode '+' as %2B)")
        return value

    def classify(self, word: str, start: int) -> Scalar:
        if word in ("true", "false"):
            return BooleanValue(word == "true")
        if (number := _NUMBER.fullmatch(word)) is not None:
            return NumberValue(self.number(word, number, start))
        if word[0].isdigit() or word[0] in "-+.":
            if word[:4].isdigit() and "T" in word:
                if (canonical := canonical_datetime(word)) is None:
                    raise self.error(f"invalid DateTime '{word}'", start)
                return DateTimeValue(canonical)
            if _DATE.fullmatch(word):
                if canonical_date(word) is None:
                    raise self.error(f"invalid Date '{word}'", start)
                return DateValue(word)
            if _TIME.fullmatch(word):
                if (canonical := canonical_time(word)) is None:
                    raise self.error(f"invalid Time '{word}'", start)
                return TimeValue(canonical)
            raise self.error(f"invalid number '{word}'", start)
        if _URI.fullmatch(word) or _TERM.fullmatch(word):
            return UriValue(word)
        raise self.error(
            f"invalid value '{word}' (strings must be double-quoted; URIs need a scheme)", start
        )

    def number(self, word: str, match: re.Match[str], start: int) -> int | float:
        if match.group(1) is None and match.group(2) is None:
            integer = int(word)
            if not -_INT64 <= integer < _INT64:
                raise self.error(f"integer '{word}' is out of range", start)
            return integer
        number = float(word)
        if number in (float("inf"), float("-inf")):
            raise self.error(f"number '{word}' is out of range", start)
        return number

    def string(self) -> str:
        start = self.pos
        end = start + 1
        text = self.text
        while end < len(text) and text[end] != '"':
            end += 2 if text[end] == "\\" else 1
        if end >= len(text):
            raise self.error("unterminated string", start)
        try:
            value = json.loads(text[start : end + 1])
        except json.JSONDecodeError as exc:
            raise self.error(f"invalid string: {exc.msg}", start + exc.pos) from None
        if any(char == "\x00" or "\ud800" <= char <= "\udfff" for char in value):
            raise self.error("invalid string: NUL or unpaired surrogate escape", start)
        self.pos = end + 1
        return value

    def pattern(self) -> RegexPattern:
        start = self.pos
        if self.peek() == '"':
            source = self.string()
        else:
            self.pos = _regex_end(self.text, start)
            source = self.text[start : self.pos].rstrip(_SPACE)
            if not source:
                raise self.error("missing regular expression", start)
        try:
            compile_pattern(source)
        except re.error as exc:
            at = start + (exc.pos or 0) if self.text[start] != '"' else start
            raise self.error(f"invalid regular expression ({exc.msg})", at) from None
        except (RecursionError, OverflowError, ValueError):
            raise self.error("invalid regular expression", start) from None
        return RegexPattern(source)


def _flatten(kind: type[And] | type[Or], terms: list[Query]) -> Query:
    if len(terms) == 1:
        return terms[0]
    flat: list[Query] = []
    for term in terms:
        flat.extend(term.terms if isinstance(term, kind) else (term,))
    return kind(tuple(flat))


def _dot_inside_iri(text: str, pos: int) -> bool:
    """Inside a full IRI, a '.' belongs to it when a '/' or '#' follows before the next '.'.

    So ``http://example.org/ns#temp.observedAt`` is the IRI and ``observedAt``, and a new
    ``scheme://`` after the dot starts a sub-attribute IRI.
    """
    if _SCHEME_SLASHES.match(text, pos):
        return False
    while pos < len(text) and (text[pos].isalnum() or text[pos] in _NAME_EXTRA):
        if text[pos] in "/#":
            return True
        pos += 1
    return False


def _regex_end(text: str, pos: int) -> int:
    """End of an unquoted regular expression: ';', '|' or ')' outside its groups and classes."""
    depth = 0
    in_class = False
    while pos < len(text):
        char = text[pos]
        if char == "\\":
            pos += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if text.startswith("^", pos + 1):
                pos += 1
            if text.startswith("]", pos + 1):
                pos += 1
        elif char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                break
            depth -= 1
        elif char in ";|" and depth == 0:
            break
        pos += 1
    return min(pos, len(text))
