"""Evaluate the NGSI-LD query language against an entity held in memory.

NGSI-LD query language (ETSI GS CIM 009 §4.9). The entity is given as its attributes: expanded
attribute IRI -> list of instances (the default instance and the dataset instances together),
each shaped as stored (principal content under ``"value"``, sub-attributes under their expanded
IRIs). The semantics are exactly those of :mod:`cityos.hub.query_sql`, of which this module is
the reference: it filters notifications for subscriptions and serves as the oracle of the SQL
compiler's tests.

- A Query Term matches when any instance of the attribute matches.
- Candidates of a target value: the value and, for an array, its elements; for a ``[*]``
  wildcard, or for a LanguageProperty addressed without members and compared with a textual
  value, each member value of the object (or element of the array) and the elements of those
  that are arrays.
- ``==``, ``>``, ``>=``, ``<``, ``<=`` and ``~=`` hold when a candidate of the same data type
  satisfies them (numbers with numbers; strings and URIs with strings; booleans with booleans;
  DateTimes, Dates and Times with strings of that form, compared temporally).
- ``!=`` holds when the target exists and no candidate is equal (to any value of a list, or in
  the range); ``!~=`` holds when some candidate is a string and no string candidate matches.
- Only ``==`` and ``!=`` apply to the value of a Relationship or ListRelationship.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
    TimeValue,
    ValueList,
    canonical_date,
    canonical_datetime,
    canonical_time,
    compile_pattern,
    expands_language_maps,
    resolve_path,
)

Attrs = Mapping[str, Sequence[Mapping[str, Any]]]
Predicate = Callable[[Attrs], bool]
Test = Callable[[object], bool]

_MISSING = object()
_RELATIONSHIPS = ("Relationship", "ListRelationship")
_PY_OPERATORS = {
    Operator.EQ: operator.eq,
    Operator.GT: operator.gt,
    Operator.GE: operator.ge,
    Operator.LT: operator.lt,
    Operator.LE: operator.le,
}


def matches(ast: Query, attrs: Attrs, expand: Callable[[str], str]) -> bool:
    """Whether an entity with attributes ``attrs`` satisfies the query ``ast``.

    Parameters
    ----------
    ast
        The query, from :func:`cityos.hub.query_language.parse_q`.
    attrs
        Expanded attribute IRI -> list of instances (default and dataset instances).
    expand
        Maps an attribute or sub-attribute name as written to its expanded IRI.
    """
    return compile_predicate(ast, expand)(attrs)


def compile_predicate(ast: Query, expand: Callable[[str], str]) -> Predicate:
    """Prepare ``ast`` once (names expanded, patterns compiled) for many entities."""
    if isinstance(ast, And):
        parts = [compile_predicate(term, expand) for term in ast.terms]
        return lambda attrs: all(part(attrs) for part in parts)
    if isinstance(ast, Or):
        parts = [compile_predicate(term, expand) for term in ast.terms]
        return lambda attrs: any(part(attrs) for part in parts)
    path = resolve_path(ast.path, expand)
    if isinstance(ast, Exists):
        return _any_instance(path, lambda node: _exists(node, path))
    if isinstance(ast, NotExists):
        found = _any_instance(path, lambda node: _exists(node, path))
        return lambda attrs: not found(attrs)
    return _any_instance(path, _comparison(path, ast))


def _any_instance(path: ResolvedPath, test: Callable[[Mapping[str, Any]], bool]) -> Predicate:
    def predicate(attrs: Attrs) -> bool:
        instances = attrs.get(path.attr) or ()
        if isinstance(instances, Mapping):
            instances = (instances,)
        for instance in instances:
            node = _addressed(instance, path)
            if node is not None and test(node):
                return True
        return False

    return predicate


def _addressed(instance: object, path: ResolvedPath) -> Mapping[str, Any] | None:
    """The (sub-)attribute instance the path addresses, if it is an object."""
    node = instance
    for name in path.sub:
        node = node.get(name) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) else None


def _target(node: Mapping[str, Any], path: ResolvedPath) -> object:
    if path.meta is not None:
        return node.get(path.meta, _MISSING)
    value = node.get("value", _MISSING)
    for name in path.members:
        if not isinstance(value, Mapping):
            return _MISSING
        value = value.get(name, _MISSING)
    return value


def _exists(node: Mapping[str, Any], path: ResolvedPath) -> bool:
    if path.wildcard:
        return isinstance(_target(node, path), Mapping | list)
    if path.meta is not None or path.members:
        return _target(node, path) not in (_MISSING, None)
    return True


def _candidates(node: Mapping[str, Any], path: ResolvedPath, language: bool) -> Iterator[object]:
    target = _target(node, path)
    if target is _MISSING:
        return
    if not path.wildcard:
        yield target
        if isinstance(target, list):
            yield from target
    if (path.wildcard and isinstance(target, Mapping | list)) or (
        language and node.get("type") == "LanguageProperty" and isinstance(target, Mapping)
    ):
        for member in target.values() if isinstance(target, Mapping) else target:
            yield member
            if isinstance(member, list):
                yield from member


def _comparison(path: ResolvedPath, term: Comparison) -> Callable[[Mapping[str, Any]], bool]:
    op = term.op
    language = expands_language_maps(path, term.operand)
    if op is Operator.NE:
        equal = _comparator(Operator.EQ, term.operand)

        def test(node: Mapping[str, Any]) -> bool:
            candidates = _candidates(node, path, language)
            return _exists(node, path) and not any(map(equal, candidates))

    elif op is Operator.NOT_MATCH:
        match = _comparator(Operator.MATCH, term.operand)

        def test(node: Mapping[str, Any]) -> bool:
            strings = [c for c in _candidates(node, path, language) if isinstance(c, str)]
            return bool(strings) and not any(map(match, strings))

    else:
        compare = _comparator(op, term.operand)

        def test(node: Mapping[str, Any]) -> bool:
            return any(map(compare, _candidates(node, path, language)))

    numeric = isinstance(term.operand, NumberValue) or (
        isinstance(term.operand, Range) and isinstance(term.operand.low, NumberValue)
    )
    # As in the SQL compilers: a Relationship's object is a URI, which a numeric test never
    # matches, so only non-numeric ordering and pattern tests need the explicit guard.
    if (
        path.meta is None
        and not numeric
        and (op in ORDERING or op in (Operator.MATCH, Operator.NOT_MATCH))
    ):
        return lambda node: node.get("type") not in _RELATIONSHIPS and test(node)
    return test


def _comparator(op: Operator, operand: Operand) -> Test:
    """The test of one candidate against ``operand`` (type-safe, §4.9)."""
    if isinstance(operand, RegexPattern):
        pattern = compile_pattern(operand.source)
        return lambda c: isinstance(c, str) and pattern.search(c) is not None
    if isinstance(operand, Range):
        low, high = operand.low.value, operand.high.value
        normalise = _normaliser(operand.low)
        return lambda c: (x := normalise(c)) is not None and low <= x <= high  # type: ignore[operator]
    if isinstance(operand, ValueList):
        tests = [_comparator(Operator.EQ, value) for value in operand.values]
        return lambda c: any(test(c) for test in tests)
    if isinstance(operand, BooleanValue):
        expected = operand.value
        return lambda c: c is expected
    compare, expected_value = _PY_OPERATORS[op], operand.value
    normalise = _normaliser(operand)
    return lambda c: (x := normalise(c)) is not None and compare(x, expected_value)


def _normaliser(value: Scalar) -> Callable[[object], Any]:
    """The candidate in the comparable form of ``value``'s type, or ``None`` if of another type."""
    if isinstance(value, NumberValue):
        return lambda c: c if type(c) in (int, float) else None
    if isinstance(value, DateTimeValue):
        return canonical_datetime
    if isinstance(value, DateValue):
        return canonical_date
    if isinstance(value, TimeValue):
        return canonical_time
    return lambda c: c if isinstance(c, str) else None


# -- numeric thresholds: a necessary condition cheap to index ---------------------------------


@dataclass(frozen=True, slots=True)
class Threshold:
    """``attr op bound``: a number candidate of the attribute must compare so for the query
    to hold (one ordering term of the query's top-level conjunction)."""

    attr: str
    op: Operator
    bound: int | float


def threshold_of(ast: Query, expand: Callable[[str], str]) -> Threshold | None:
    """The first top-level term of ``ast`` that compares a plain attribute value with a number
    by ``<``, ``<=``, ``>`` or ``>=``; None when there is none."""
    for term in ast.terms if isinstance(ast, And) else (ast,):
        if (
            isinstance(term, Comparison)
            and term.op in ORDERING
            and isinstance(term.operand, NumberValue)
        ):
            path = resolve_path(term.path, expand)
            if not (path.sub or path.meta or path.members or path.wildcard):
                return Threshold(path.attr, term.op, term.operand.value)
    return None


def numeric_extent(instances: object) -> tuple[int | float, int | float] | None:
    """Smallest and largest number candidate of an attribute's instances, None if none.

    The candidates are those an ordering term with a number compares: each instance's value, and
    the elements of a value that is an array (booleans and NaN never compare, so they are left
    out). A :class:`Threshold` holds exactly when the extent reaches its bound.
    """
    if isinstance(instances, Mapping):
        instances = (instances,)
    low = high = None
    for instance in instances or ():  # type: ignore[attr-defined]
        if not isinstance(instance, Mapping):
            continue
        value = instance.get("value")
        for c in value if isinstance(value, list) else (value,):
            if type(c) in (int, float) and c == c:
                if low is None or c < low:
                    low = c
                if high is None or c > high:
                    high = c
    return None if low is None else (low, high)  # type: ignore[return-value]
