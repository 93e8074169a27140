"""Entity filters of the PostgreSQL backend: SQL conditions, geo-queries and exact rechecks.

:func:`build_filter` turns an :class:`~cityos.hub.storage.base.EntityFilter` into a condition on
the entity row ``e`` (see :mod:`cityos.hub.storage.postgres_schema`) with the semantics of the
SQLite backend:

- ids, types (``types @>`` each conjunction of the selection, GIN-indexed), ``attrs=`` (top-level
  keys of ``attrs``/``datasets``) and ``q`` (:mod:`cityos.hub.query_pg`);
- ``idPattern`` and ``~=`` use Python :mod:`re` semantics: patterns that
  :func:`cityos.hub.regex_are.to_are` translates run as ``~``; for the others the condition is
  weakened and :attr:`Filter.recheck` tests each candidate row in Python;
- geo-queries (ETSI GS CIM 009 §4.10) join the GeoProperty instances of ``entity_geo``, reading
  the relation with the entity geometry first, as :meth:`cityos.hub.geo.GeoQuery.matches` does:
  ``within`` is ``ST_Within(entity, query)``, ``contains`` is ``ST_Contains(entity, query)``, and
  likewise ``intersects``, ``disjoint``, ``equals`` and ``overlaps``, on ``geometry`` in the
  longitude/latitude plane; ``near`` is ``ST_DWithin`` (maxDistance) or ``ST_Distance >=``
  (minDistance) on ``geography``, i.e. geodesic metres on the WGS84 spheroid, and sorts by the
  distance of the nearest matching instance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from cityos.hub.geo import GeoQuery
from cityos.hub.query_eval import compile_predicate
from cityos.hub.query_language import regex_search
from cityos.hub.query_pg import compile_q
from cityos.hub.regex_are import to_are
from cityos.hub.storage.base import EntityFilter, EntitySelector
from cityos.hub.type_selection import TypeSelection

#: A stored row as rechecked in Python: id, types, ``attrs`` and ``datasets`` (decoded JSON).
Row = tuple[str, list[str], dict[str, Any], dict[str, Any] | None]
Recheck = Callable[[Row], bool]

#: Topological georels: the PostGIS predicate, entity geometry first (§4.10).
_TOPOLOGY = {
    "within": "ST_Within",
    "contains": "ST_Contains",
    "intersects": "ST_Intersects",
    "disjoint": "ST_Disjoint",
    "equals": "ST_Equals",
    "overlaps": "ST_Overlaps",
}
_QUERY_GEOMETRY = "ST_Force2D(ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326))"


@dataclass
class Filter:
    """A compiled filter: ``from_sql`` joins, ``where`` conditions, and how to order.

    Attributes
    ----------
    from_sql
        The ``FROM`` clause (the entity table ``e``, joined to the geo hits ``h`` for near).
    where
        Conditions ANDed in the ``WHERE`` clause, with ``%s`` placeholders.
    params
        Placeholder values of ``from_sql`` then ``where``, in order.
    order
        The ``ORDER BY`` expression: insertion order, or distance then insertion order.
    recheck
        None when the SQL is exact; else a test every candidate row must also pass.
    """

    from_sql: str = "entities e"
    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    order: str = "e.rid"
    recheck: Recheck | None = None

    def add_recheck(self, test: Recheck) -> None:
        previous = self.recheck
        self.recheck = test if previous is None else lambda row: previous(row) and test(row)


def build_filter(tenant: str, flt: EntityFilter, *, translate_regex: bool = True) -> Filter:
    """Compile ``flt`` for ``tenant``; see the module documentation."""
    out = Filter()
    if flt.geo is not None:
        assert flt.geoproperty is not None
        _geo(out, tenant, flt.geo, flt.geoproperty)
    out.where.append("e.tenant = %s")
    out.params.append(tenant)
    if flt.ids is not None:
        out.where.append("e.id = ANY(%s::text[])")
        out.params.append(list(flt.ids))
    if flt.id_pattern is not None:
        are = to_are(flt.id_pattern) if translate_regex else None
        if are is None:
            pattern = flt.id_pattern
            out.add_recheck(lambda row: regex_search(pattern, row[0]))
        else:
            out.where.append("e.id ~ %s")
            out.params.append(are)
    if flt.types is not None:
        out.where.append(_types_sql(flt.types, out.params))
    if flt.selectors is not None:
        _selectors(out, flt.selectors, translate_regex)
    if flt.attrs_any is not None:
        names = sorted(flt.attrs_any)
        out.where.append("(e.attrs ?| %s::text[] OR COALESCE(e.datasets ?| %s::text[], false))")
        out.params += [names, names]
    if flt.q is not None:
        assert flt.expand is not None
        condition = compile_q(flt.q, flt.expand, translate_regex=translate_regex)
        if condition.prefilter is not None:
            out.where.append(condition.prefilter)
            out.params.extend(condition.prefilter_params)
        out.where.append(condition.sql)
        out.params.extend(condition.params)
        if not condition.exact:
            predicate = compile_predicate(flt.q, flt.expand)
            out.add_recheck(lambda row: predicate(_instances(row[2], row[3])))
    return out


def _types_sql(types: TypeSelection, params: list[Any]) -> str:
    """A type selection in disjunctive normal form: each conjunction is array containment."""
    alternatives = []
    for conjunction in types:
        alternatives.append("e.types @> %s::text[]")
        params.append(sorted(conjunction))
    return "(" + " OR ".join(alternatives) + ")"


def _selectors(out: Filter, selectors: Sequence[EntitySelector], translate_regex: bool) -> None:
    alternatives = []
    exact = True
    for selector in selectors:
        parts = ["true"]
        if selector.id is not None:
            parts.append("e.id = %s")
            out.params.append(selector.id)
        if selector.id_pattern is not None:
            are = to_are(selector.id_pattern) if translate_regex else None
            if are is None:
                exact = False
            else:
                parts.append("e.id ~ %s")
                out.params.append(are)
        if selector.types is not None:
            parts.append(_types_sql(selector.types, out.params))
        alternatives.append("(" + " AND ".join(parts) + ")")
    out.where.append("(" + " OR ".join(alternatives) + ")")
    if not exact:
        chosen = tuple(selectors)
        out.add_recheck(lambda row: any(_selects(s, row) for s in chosen))


def _selects(selector: EntitySelector, row: Row) -> bool:
    entity_id, types = row[0], row[1]
    if selector.id is not None and entity_id != selector.id:
        return False
    if selector.id_pattern is not None and not regex_search(selector.id_pattern, entity_id):
        return False
    return selector.types is None or any(conj <= set(types) for conj in selector.types)


def _instances(
    attrs: dict[str, Any], datasets: dict[str, Any] | None
) -> Mapping[str, list[dict[str, Any]]]:
    """Stored instances per attribute, as :func:`cityos.hub.query_eval.matches` takes them."""
    merged: dict[str, list[dict[str, Any]]] = {iri: [inst] for iri, inst in attrs.items()}
    for iri, instances in (datasets or {}).items():
        merged.setdefault(iri, []).extend(instances)
    return merged


def _geo(out: Filter, tenant: str, query: GeoQuery, geoproperty: str) -> None:
    """Restrict to entities with a GeoProperty instance of ``geoproperty`` that matches."""
    geometry = orjson.dumps(query.geometry).decode()
    if query.georel == "near":
        assert query.distance_m is not None
        distance = f"ST_Distance(g.geom::geography, {_QUERY_GEOMETRY}::geography)"
        if query.distance_kind == "maxDistance":
            test = f"ST_DWithin(g.geom::geography, {_QUERY_GEOMETRY}::geography, %s)"
        else:
            test = f"ST_Distance(g.geom::geography, {_QUERY_GEOMETRY}::geography) >= %s"
        out.from_sql = (
            f"entities e JOIN (SELECT g.rid, min({distance}) AS distance FROM entity_geo g "
            f"WHERE g.tenant = %s AND g.attr = %s AND {test} GROUP BY g.rid) h ON h.rid = e.rid"
        )
        out.params += [geometry, tenant, geoproperty, geometry, query.distance_m]
        out.order = "h.distance, e.rid"
        return
    predicate = _TOPOLOGY[query.georel]
    out.where.append(
        "e.rid IN (SELECT g.rid FROM entity_geo g WHERE g.tenant = %s AND g.attr = %s "
        f"AND {predicate}(g.geom, {_QUERY_GEOMETRY}))"
    )
    out.params += [tenant, geoproperty, geometry]
