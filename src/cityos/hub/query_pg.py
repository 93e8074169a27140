"""Compile the NGSI-LD query language to a PostgreSQL ``WHERE`` fragment.

NGSI-LD query language (ETSI GS CIM 009 §4.9), with exactly the semantics of
:mod:`cityos.hub.query_sql` (SQLite) and :mod:`cityos.hub.query_eval` (Python). The fragment runs
against the entity table aliased ``e`` of :mod:`cityos.hub.storage.postgres_schema`:

- ``e.attrs``: ``jsonb`` object, expanded attribute IRI -> default instance (no ``datasetId``);
- ``e.datasets``: ``jsonb`` object (or NULL), expanded attribute IRI -> array of dataset instances.

How the SQLite forms map:

- paths are chains of ``->`` with ``text`` keys, which (unlike ``#>``) never index into an array,
  just as SQLite's ``$."key"`` labels never do; ``json_type`` becomes ``jsonb_typeof``;
- every cast sits in a ``CASE`` on ``jsonb_typeof`` (PostgreSQL does not promise to evaluate the
  operands of ``AND`` in order);
- strings compare in code point order (``COLLATE "C"``, as SQLite's ``BINARY``);
- numbers compare as ``numeric``: the stored JSON text against the shortest decimal that reads
  back as the query's number (:func:`repr`), which orders and equates exactly as binary64 does
  between numbers of the same kind (integers, or floats); an integer beyond 2**53 compared with
  a float is compared by its decimal value;
- DateTimes, Dates and Times go through ``ngsi_datetime``/``ngsi_date``/``ngsi_time``, SQL twins
  of the canonical forms of :mod:`cityos.hub.query_language`;
- ``~=`` patterns that :func:`cityos.hub.regex_are.to_are` translates run as ``~``. Any other
  pattern makes the fragment *inexact*: the term is replaced by a weaker test that every
  matching entity passes (its target has a string candidate), and the caller must check each
  row with :func:`cityos.hub.query_eval.compile_predicate`. A query has no negation above its
  terms, so weakening a term weakens the whole condition.

Values travel as ``%s`` parameters (psycopg); attribute IRIs and member names are inlined as
string literals, with ``%`` doubled for psycopg.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import orjson

from cityos.hub.query_language import (
    ORDERING,
    And,
    BooleanValue,
    Comparison,
    DateTimeValue,
    DateValue,
    Exists,
    NotExists,
    NumberValue,
    Operand,
    Operator,
    Or,
    Query,
    Range,
    RegexPattern,
    ResolvedPath,
    Scalar,
    StringValue,
    TimeValue,
    UriValue,
    ValueList,
    expands_language_maps,
    resolve_path,
)
from cityos.hub.regex_are import to_are

_SQL_OPERATORS = {
    Operator.EQ: "=",
    Operator.GT: ">",
    Operator.GE: ">=",
    Operator.LT: "<",
    Operator.LE: "<=",
}
_NORMALISERS = {DateTimeValue: "ngsi_datetime", DateValue: "ngsi_date", TimeValue: "ngsi_time"}
_RELATIONSHIPS = "('Relationship', 'ListRelationship')"

Comparator = Callable[[str], str]
"""Builds the SQL test of one candidate, given its ``jsonb`` expression."""


@dataclass(frozen=True)
class PgCondition:
    """A compiled condition on the entity row ``e``.

    Attributes
    ----------
    sql
        A boolean expression that is never NULL, with ``%s`` placeholders.
    params
        The placeholder values, in order.
    exact
        False when some term was weakened: the condition then selects a superset of the
        matching rows, and each must be checked in Python.
    prefilter
        None, or a weaker condition implied by ``sql`` that the GIN (``jsonb_path_ops``) indexes
        of ``attrs`` and ``datasets`` can answer: JSON containment for the equality terms among
        the query's top-level conjuncts. ANDed beside ``sql``, it lets PostgreSQL use them.
    prefilter_params
        The placeholder values of ``prefilter``.
    """

    sql: str
    params: list[object]
    exact: bool
    prefilter: str | None = None
    prefilter_params: list[object] = field(default_factory=list)


def compile_q(
    ast: Query, expand: Callable[[str], str], *, translate_regex: bool = True
) -> PgCondition:
    """Compile a parsed ``q`` to a PostgreSQL condition on the entity row ``e``.

    Parameters
    ----------
    ast
        The query, from :func:`cityos.hub.query_language.parse_q`.
    expand
        Maps an attribute or sub-attribute name as written to its expanded IRI.
    translate_regex
        Run translatable ``~=`` patterns in SQL (else every pattern makes the condition inexact).
    """
    compiler = _PgCompiler(expand, translate_regex)
    sql = compiler.query(ast)
    terms = ast.terms if isinstance(ast, And) else (ast,)
    containments: list[str] = []
    params: list[object] = []
    for term in terms:
        found = _containment(term, expand)
        if found is not None:
            containments.append(found[0])
            params.extend(found[1])
    return PgCondition(
        f"COALESCE({sql}, false)",
        compiler.params,
        compiler.exact,
        " AND ".join(containments) if containments else None,
        params,
    )


_CONTAINABLE = (NumberValue, StringValue, UriValue, BooleanValue)


def _containment(term: Query, expand: Callable[[str], str]) -> tuple[str, list[object]] | None:
    """JSON containment implied by an equality term, or None for other terms.

    ``attr.sub[m]==v`` holds only if the default instance contains ``{"attr": {"sub": {"value":
    {"m": v}}}}`` (or ``[v]`` in place of ``v``, for an array), or a dataset instance does the same
    under ``{"attr": [...]}``; for a LanguageProperty, whose map values are candidates too, only
    its ``type`` can be required.
    """
    if not isinstance(term, Comparison) or term.op is not Operator.EQ:
        return None
    operand = term.operand
    values = operand.values if isinstance(operand, ValueList) else (operand,)
    if not all(isinstance(v, _CONTAINABLE) for v in values):
        return None
    path = resolve_path(term.path, expand)
    if path.wildcard:
        return None
    inner = [*path.sub, *((path.meta,) if path.meta is not None else ("value", *path.members))]
    shapes: list[dict[str, object]] = []
    for value in values:
        leaf = value.value  # type: ignore[union-attr]
        shapes += [_nest(inner, leaf), _nest(inner, [leaf])]
    if expands_language_maps(path, operand):
        shapes.append(_nest([*path.sub, "type"], "LanguageProperty"))
    tests, params = [], []
    for shape in shapes:
        tests += ["e.attrs @> %s::jsonb", "e.datasets @> %s::jsonb"]
        params += [
            orjson.dumps({path.attr: shape}).decode(),
            orjson.dumps({path.attr: [shape]}).decode(),
        ]
    return "(" + " OR ".join(tests) + ")", params


def _nest(keys: list[str], leaf: object) -> dict[str, object]:
    shape: object = leaf
    for key in reversed(keys):
        shape = {key: shape}
    assert isinstance(shape, dict)
    return shape


def literal(text: str) -> str:
    """An SQL string literal of ``text`` for a psycopg query (``'`` doubled, ``%`` doubled)."""
    return "'" + text.replace("'", "''").replace("%", "%%") + "'"


def number_param(value: int | float) -> Decimal:
    """A query number as an exact ``numeric`` parameter (floats by their shortest decimal)."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _key(name: str) -> str:
    return f" -> {literal(name)}::text"


def _is_number(value: Scalar) -> bool:
    return isinstance(value, NumberValue)


class _PgCompiler:
    def __init__(self, expand: Callable[[str], str], translate_regex: bool) -> None:
        self.expand = expand
        self.translate_regex = translate_regex
        self.params: list[object] = []
        self.exact = True
        self.aliases = 0

    def param(self, value: object) -> str:
        self.params.append(value)
        return "%s"

    def alias(self) -> str:
        self.aliases += 1
        return f"q{self.aliases}"

    def query(self, node: Query) -> str:
        if isinstance(node, And | Or):
            joiner = " AND " if isinstance(node, And) else " OR "
            return "(" + joiner.join(self.query(term) for term in node.terms) + ")"
        path = resolve_path(node.path, self.expand)
        if isinstance(node, Exists):
            return self.attribute(path, lambda inst: self.exists(inst, path))
        if isinstance(node, NotExists):
            found = self.attribute(path, lambda inst: self.exists(inst, path))
            return f"(NOT COALESCE({found}, false))"
        return self.attribute(path, lambda inst: self.compare(inst, path, node))

    def attribute(self, path: ResolvedPath, test: Callable[[str], str]) -> str:
        """``test`` on the default instance, or on any object instance in ``e.datasets``."""
        default = test("(e.attrs" + _key(path.attr) + ")")
        row = self.alias()
        dataset = test(f"{row}.v")
        return (
            f"({default} OR (e.datasets IS NOT NULL AND EXISTS (SELECT 1 FROM ngsi_elements("
            f"e.datasets{_key(path.attr)}) AS {row}(v) WHERE jsonb_typeof({row}.v) = 'object' "
            f"AND {dataset})))"
        )

    @staticmethod
    def target(inst: str, path: ResolvedPath) -> tuple[str, str]:
        """Expressions of the addressed (sub-)attribute instance and of its target value."""
        node = inst + "".join(_key(name) for name in path.sub)
        if path.meta is not None:
            return node, f"({node}{_key(path.meta)})"
        return node, f"({node}{_key('value')}" + "".join(_key(m) for m in path.members) + ")"

    def exists(self, inst: str, path: ResolvedPath) -> str:
        node, target = self.target(inst, path)
        if path.wildcard:
            return f"(jsonb_typeof({target}) IN ('object', 'array'))"
        if path.meta is not None or path.members:
            return f"(jsonb_typeof({target}) <> 'null')"
        return f"(jsonb_typeof({node}) = 'object')"

    def compare(self, inst: str, path: ResolvedPath, term: Comparison) -> str:
        op, operand = term.op, term.operand
        language = expands_language_maps(path, operand)

        def any_candidate(test: Comparator) -> str:
            return self.any_candidate(inst, path, language, test)

        if op is Operator.NE:
            found = self.exists(inst, path)
            equal = any_candidate(self.comparator(Operator.EQ, operand))
            sql = f"({found} AND NOT COALESCE({equal}, false))"
        elif op is Operator.NOT_MATCH:
            text = any_candidate(_is_string)
            match = self.regex(operand)  # type: ignore[arg-type]
            if match is None:
                sql = text
            else:
                sql = f"({text} AND NOT COALESCE({any_candidate(match)}, false))"
        elif op is Operator.MATCH:
            match = self.regex(operand)  # type: ignore[arg-type]
            sql = any_candidate(match if match is not None else _is_string)
        else:
            sql = any_candidate(self.comparator(op, operand))
        numeric = isinstance(operand, NumberValue) or (
            isinstance(operand, Range) and isinstance(operand.low, NumberValue)
        )
        # A Relationship's object is a URI (text), which a numeric test never matches anyway.
        if (
            path.meta is None
            and not numeric
            and (op in ORDERING or op in (Operator.MATCH, Operator.NOT_MATCH))
        ):
            node, _ = self.target(inst, path)
            sql = f"(COALESCE({node} ->> 'type', '') NOT IN {_RELATIONSHIPS} AND {sql})"
        return sql

    def any_candidate(self, inst: str, path: ResolvedPath, language: bool, test: Comparator) -> str:
        """Whether ``test`` holds for any candidate of the target value.

        Candidates: the value itself and, for an array, its elements; for a ``[*]`` wildcard, or
        for a LanguageProperty when ``language`` (see ``expands_language_maps``), each member
        value of the object (or element of the array) and the elements of those that are arrays.
        """
        node, target = self.target(inst, path)
        parts: list[str] = []
        if not path.wildcard:
            parts.append(test(target))
            row = self.alias()
            parts.append(
                f"EXISTS (SELECT 1 FROM ngsi_elements({target}) AS {row}(v) "
                f"WHERE {test(f'{row}.v')})"
            )
        if path.wildcard or language:
            if path.wildcard:
                container = f"jsonb_typeof({target}) IN ('object', 'array')"
            else:
                container = (
                    f"{node} ->> 'type' = 'LanguageProperty' AND jsonb_typeof({target}) = 'object'"
                )
            member, item = self.alias(), self.alias()
            parts.append(
                f"({container} AND EXISTS (SELECT 1 FROM ngsi_members({target}) AS {member}(v) "
                f"WHERE {test(f'{member}.v')} OR EXISTS (SELECT 1 FROM "
                f"ngsi_elements({member}.v) AS {item}(v) WHERE {test(f'{item}.v')})))"
            )
        return "(" + " OR ".join(parts) + ")"

    def regex(self, operand: RegexPattern) -> Comparator | None:
        """The SQL test of a ``~=`` pattern, or None (and the condition inexact) if it has none."""
        are = to_are(operand.source) if self.translate_regex else None
        if are is None:
            self.exact = False
            return None
        return lambda c: (
            f"(CASE WHEN jsonb_typeof({c}) = 'string' THEN ({c} #>> '{{}}') ~ "
            f"{self.param(are)} ELSE false END)"
        )

    def comparator(self, op: Operator, operand: Operand) -> Comparator:
        """The SQL test of one candidate against ``operand`` (type-safe, §4.9)."""
        if isinstance(operand, Range):
            low, high = operand.low, operand.high
            return lambda c: self.guarded(
                low,
                c,
                lambda x: f"{x} BETWEEN {self.value(low)} AND {self.value(high)}",
            )
        if isinstance(operand, ValueList):
            return self.list_comparator(operand)
        if isinstance(operand, BooleanValue):
            return lambda c: f"({c} = {literal('true' if operand.value else 'false')}::jsonb)"
        assert not isinstance(operand, RegexPattern)
        sql_op = _SQL_OPERATORS[op]
        return lambda c: self.guarded(operand, c, lambda x: f"{x} {sql_op} {self.value(operand)}")

    def list_comparator(self, operand: ValueList) -> Comparator:
        groups: dict[type, list[Scalar]] = {}
        for value in operand.values:
            kind = StringValue if isinstance(value, UriValue) else type(value)
            groups.setdefault(kind, []).append(value)

        def test(c: str) -> str:
            parts = []
            for kind, values in groups.items():
                if kind is BooleanValue:
                    names = sorted({"true" if b.value else "false" for b in values})  # type: ignore[union-attr]
                    parts.append(f"{c} IN (" + ", ".join(f"'{n}'::jsonb" for n in names) + ")")
                    continue
                first = values[0]
                if _is_number(first):
                    array = self.param([number_param(v.value) for v in values])  # type: ignore[arg-type]
                    cast = "numeric[]"
                else:
                    array = self.param([v.value for v in values])
                    cast = "text[]"
                listed = f"ANY({array}::{cast})"
                parts.append(self.guarded(first, c, lambda x, listed=listed: f"{x} = {listed}"))
            return "(" + " OR ".join(parts) + ")"

        return test

    def value(self, value: Scalar) -> str:
        if _is_number(value):
            return f"{self.param(number_param(value.value))}::numeric"  # type: ignore[arg-type]
        return f'({self.param(value.value)}::text COLLATE "C")'

    @staticmethod
    def guarded(value: Scalar, candidate: str, test: Callable[[str], str]) -> str:
        """``test`` on the candidate read as ``value``'s type; false for other JSON types."""
        if _is_number(value):
            return (
                f"(CASE WHEN jsonb_typeof({candidate}) = 'number' THEN "
                f"{test(f'({candidate})::numeric')} ELSE false END)"
            )
        text = f"({candidate} #>> '{{}}')"
        function = _NORMALISERS.get(type(value))
        scalar = f'({function}({text}) COLLATE "C")' if function else f'({text} COLLATE "C")'
        return (
            f"(CASE WHEN jsonb_typeof({candidate}) = 'string' THEN "
            f"COALESCE({test(scalar)}, false) ELSE false END)"
        )


def _is_string(candidate: str) -> str:
    return f"(jsonb_typeof({candidate}) = 'string')"
