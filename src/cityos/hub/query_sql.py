"""Compile the NGSI-LD query language to an SQLite ``WHERE`` fragment.

NGSI-LD query language (ETSI GS CIM 009 §4.9). The fragment runs against the entity table
aliased ``e``:

- ``e.attrs``: JSON object, expanded attribute IRI -> default instance (no ``datasetId``);
- ``e.datasets``: JSON object (or NULL), expanded attribute IRI -> array of dataset instances.

Each instance holds its principal content under ``"value"`` (Property value, Relationship object,
LanguageProperty languageMap, ListProperty valueList, VocabProperty vocab, JsonProperty json),
its ``"type"``, its own members (``observedAt``, ``unitCode``, ...) and its sub-attributes under
their expanded IRIs. A Query Term matches when any instance of the attribute matches; the
dataset branch is guarded by ``e.datasets IS NOT NULL`` so entities without datasets pay only
for the default instance.

Values travel as ``?`` parameters; JSON paths are inlined as SQL string literals (so expression
indexes can match them). Stored JSON must keep keys unescaped (``orjson`` does), since SQLite
matches path labels against the raw key text. :func:`register_sqlite_functions` must have been
called on the connection. :mod:`cityos.hub.query_eval` implements the same semantics in Python.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

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
    canonical_date,
    canonical_datetime,
    canonical_time,
    expands_language_maps,
    regex_search,
    resolve_path,
)

_SQL_OPERATORS = {
    Operator.EQ: "=",
    Operator.GT: ">",
    Operator.GE: ">=",
    Operator.LT: "<",
    Operator.LE: "<=",
}
_NORMALISERS = {DateTimeValue: "ngsi_datetime", DateValue: "ngsi_date", TimeValue: "ngsi_time"}
_RELATIONSHIPS = "('Relationship', 'ListRelationship')"

Comparator = Callable[[str, str], str]
"""Builds the SQL test of one candidate, given its value and its ``json_type`` expressions."""


def register_sqlite_functions(conn: sqlite3.Connection) -> None:
    """Register the functions the compiled fragments call.

    ``REGEXP(pattern, value)`` (also behind the ``value REGEXP pattern`` operator) searches with a
    cached compiled pattern and is false for NULL or non-text arguments; ``ngsi_datetime``,
    ``ngsi_date`` and ``ngsi_time`` normalise temporal text for comparison (NULL when invalid).
    """
    conn.create_function("REGEXP", 2, _regexp, deterministic=True)
    conn.create_function("ngsi_datetime", 1, canonical_datetime, deterministic=True)
    conn.create_function("ngsi_date", 1, canonical_date, deterministic=True)
    conn.create_function("ngsi_time", 1, canonical_time, deterministic=True)


def _regexp(pattern: object, value: object) -> int:
    return int(regex_search(pattern, value))


def compile_q(ast: Query, expand: Callable[[str], str]) -> tuple[str, list[object]]:
    """Compile a parsed ``q`` to an SQLite condition on the entity row ``e``.

    Parameters
    ----------
    ast
        The query, from :func:`cityos.hub.query_language.parse_q`.
    expand
        Maps an attribute or sub-attribute name as written to its expanded IRI.

    Returns
    -------
    tuple[str, list[object]]
        A parenthesised condition with ``?`` placeholders, and their values in order. The
        condition is true for matching rows and false or NULL for the others.
    """
    compiler = _SqliteCompiler(expand)
    return compiler.query(ast), compiler.params


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _key(name: str) -> str:
    return '."' + name + '"'


class _SqliteCompiler:
    def __init__(self, expand: Callable[[str], str]) -> None:
        self.expand = expand
        self.params: list[object] = []
        self.aliases = 0

    def param(self, value: object) -> str:
        self.params.append(value)
        return "?"

    def alias(self) -> str:
        self.aliases += 1
        return f"q{self.aliases}"

    def query(self, node: Query) -> str:
        if isinstance(node, And | Or):
            joiner = " AND " if isinstance(node, And) else " OR "
            return "(" + joiner.join(self.query(term) for term in node.terms) + ")"
        path = resolve_path(node.path, self.expand)
        if isinstance(node, Exists):
            return self.attribute(path, lambda doc, base: self.exists(doc, base, path))
        if isinstance(node, NotExists):
            found = self.attribute(path, lambda doc, base: self.exists(doc, base, path))
            return f"(NOT IFNULL({found}, 0))"
        return self.attribute(path, lambda doc, base: self.compare(doc, base, path, node))

    def attribute(self, path: ResolvedPath, test: Callable[[str, str], str]) -> str:
        """``test`` on the default instance, or on any instance in ``e.datasets``."""
        key = _key(path.attr)
        default = test("e.attrs", "$" + key)
        row = self.alias()
        dataset = test(f"{row}.value", "$")
        return (
            f"({default} OR (e.datasets IS NOT NULL AND EXISTS (SELECT 1 FROM json_each("
            f"e.datasets, {_literal('$' + key)}) AS {row} WHERE {row}.type = 'object' "
            f"AND {dataset})))"
        )

    @staticmethod
    def target(base: str, path: ResolvedPath) -> tuple[str, str]:
        """JSON paths of the addressed (sub-)attribute instance and of its target value."""
        instance = base + "".join(_key(name) for name in path.sub)
        if path.meta is not None:
            return instance, instance + _key(path.meta)
        return instance, instance + ".value" + "".join(_key(name) for name in path.members)

    def exists(self, doc: str, base: str, path: ResolvedPath) -> str:
        instance, target = self.target(base, path)
        if path.wildcard:
            return f"(json_type({doc}, {_literal(target)}) IN ('object', 'array'))"
        if path.meta is not None or path.members:
            return f"(json_type({doc}, {_literal(target)}) <> 'null')"
        return f"(json_type({doc}, {_literal(instance)}) = 'object')"

    def compare(self, doc: str, base: str, path: ResolvedPath, term: Comparison) -> str:
        op, operand = term.op, term.operand
        language = expands_language_maps(path, operand)

        def any_candidate(test: Comparator) -> str:
            return self.any_candidate(doc, base, path, language, test)

        if op is Operator.NE:
            found = self.exists(doc, base, path)
            equal = any_candidate(self.comparator(Operator.EQ, operand))
            sql = f"({found} AND NOT IFNULL({equal}, 0))"
        elif op is Operator.NOT_MATCH:
            text = any_candidate(lambda v, t: f"{t} = 'text'")
            match = any_candidate(self.comparator(Operator.MATCH, operand))
            sql = f"({text} AND NOT IFNULL({match}, 0))"
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
            instance, _ = self.target(base, path)
            kind = f"json_extract({doc}, {_literal(instance + '.type')})"
            sql = f"(IFNULL({kind}, '') NOT IN {_RELATIONSHIPS} AND {sql})"
        return sql

    def any_candidate(
        self, doc: str, base: str, path: ResolvedPath, language: bool, test: Comparator
    ) -> str:
        """Whether ``test`` holds for any candidate of the target value.

        Candidates: the value itself and, for an array, its elements; for a ``[*]`` wildcard, or
        for a LanguageProperty when ``language`` (see ``expands_language_maps``), each member
        value of the object (or element of the array) and the elements of those that are arrays.
        """
        instance, target = self.target(base, path)
        where = _literal(target)
        parts: list[str] = []
        if not path.wildcard:
            parts.append(test(f"json_extract({doc}, {where})", f"json_type({doc}, {where})"))
            row = self.alias()
            each = test(f"{row}.value", f"{row}.type")
            parts.append(
                f"(json_type({doc}, {where}) = 'array' AND EXISTS (SELECT 1 FROM "
                f"json_each({doc}, {where}) AS {row} WHERE {each}))"
            )
        if path.wildcard or language:
            if path.wildcard:
                container = f"json_type({doc}, {where}) IN ('object', 'array')"
            else:
                kind = f"json_extract({doc}, {_literal(instance + '.type')})"
                container = f"{kind} = 'LanguageProperty' AND json_type({doc}, {where}) = 'object'"
            member, item = self.alias(), self.alias()
            direct = test(f"{member}.value", f"{member}.type")
            nested = test(f"{item}.value", f"{item}.type")
            parts.append(
                f"({container} AND EXISTS (SELECT 1 FROM json_each({doc}, {where}) AS {member} "
                f"WHERE {direct} OR ({member}.type = 'array' AND EXISTS (SELECT 1 FROM "
                f"json_each({member}.value) AS {item} WHERE {nested}))))"
            )
        return "(" + " OR ".join(parts) + ")"

    def comparator(self, op: Operator, operand: Operand) -> Comparator:
        """The SQL test of one candidate against ``operand`` (type-safe, §4.9)."""
        if isinstance(operand, RegexPattern):
            source = operand.source
            return lambda v, t: f"({t} = 'text' AND REGEXP({self.param(source)}, {v}))"
        if isinstance(operand, Range):
            low, high = operand.low, operand.high
            return lambda v, t: (
                f"({self.guard(low, t)} AND {self.scalar_expr(low, v)} BETWEEN "
                f"{self.param(low.value)} AND {self.param(high.value)})"
            )
        if isinstance(operand, ValueList):
            return self.list_comparator(operand)
        if isinstance(operand, BooleanValue):
            return lambda v, t: f"({t} = {_literal('true' if operand.value else 'false')})"
        sql_op = _SQL_OPERATORS[op]
        return lambda v, t: (
            f"({self.guard(operand, t)} AND {self.scalar_expr(operand, v)} {sql_op} "
            f"{self.param(operand.value)})"
        )

    def list_comparator(self, operand: ValueList) -> Comparator:
        groups: dict[type, list[Scalar]] = {}
        for value in operand.values:
            kind = StringValue if isinstance(value, UriValue) else type(value)
            groups.setdefault(kind, []).append(value)

        def test(v: str, t: str) -> str:
            parts = []
            for kind, values in groups.items():
                if kind is BooleanValue:
                    names = ", ".join(sorted({_literal(str(b)) for b in values}))
                    parts.append(f"{t} IN ({names})")
                    continue
                marks = ", ".join(self.param(value.value) for value in values)
                guard, scalar = self.guard(values[0], t), self.scalar_expr(values[0], v)
                parts.append(f"({guard} AND {scalar} IN ({marks}))")
            return "(" + " OR ".join(parts) + ")"

        return test

    @staticmethod
    def guard(value: Scalar, json_type: str) -> str:
        if isinstance(value, NumberValue):
            return f"{json_type} IN ('integer', 'real')"
        return f"{json_type} = 'text'"

    @staticmethod
    def scalar_expr(value: Scalar, sql_value: str) -> str:
        function = _NORMALISERS.get(type(value))
        return f"{function}({sql_value})" if function else sql_value
