"""Rendering entities for clients: normalized, concise and keyValues (ETSI GS CIM 009 §4.5).

The inverse of :mod:`cityos.hub.model`: internal instances keep their principal content under
``"value"``; here it goes back under the key its attribute type uses, and every IRI is compacted
against the request's @context.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Literal

from cityos.hub.model import PRINCIPAL_KEY, Entity

Format = Literal["normalized", "concise", "keyValues"]
Compact = Callable[[str], str]
_META_OUT = ("observedAt", "unitCode", "datasetId", "lang")


@dataclass(frozen=True)
class RenderOptions:
    """How to render an entity.

    Attributes
    ----------
    format
        ``normalized`` (default), ``concise`` or ``keyValues`` (alias ``simplified``).
    sys_attrs
        Include ``createdAt``/``modifiedAt`` on entity and attributes (``options=sysAttrs``).
    attrs
        Expanded attribute IRIs to keep (``attrs``/``pick``); None keeps all.
    omit
        Expanded attribute IRIs to drop (``omit``).
    pick_id, pick_type
        Whether ``id``/``type`` are rendered (``pick``/``omit`` can remove them, §4.21).
    lang
        Preferred language for LanguageProperties (``lang`` parameter, §4.15); None keeps maps.
    dataset_ids
        Only the instances with one of these datasetIds are rendered (``datasetId`` parameter,
        §4.5.5); ``@none`` names the default instance. None renders every instance.
    """

    format: Format = "normalized"
    sys_attrs: bool = False
    attrs: frozenset[str] | None = None
    omit: frozenset[str] = frozenset()
    pick_id: bool = True
    pick_type: bool = True
    lang: str | None = None
    dataset_ids: frozenset[str] | None = None


def render_entity(entity: Entity, compact: Compact, opts: RenderOptions) -> dict[str, Any]:
    """Render an entity as a JSON-ready dict (without @context; the caller adds it)."""
    out: dict[str, Any] = {}
    if opts.pick_id:
        out["id"] = entity.id
    if opts.pick_type:
        types = [compact(t) for t in entity.types]
        out["type"] = types[0] if len(types) == 1 else types
    if entity.scope and opts.format != "keyValues":
        out["scope"] = entity.scope[0] if len(entity.scope) == 1 else entity.scope
    for iri, instances in entity.attrs.items():
        if (opts.attrs is not None and iri not in opts.attrs) or iri in opts.omit:
            continue
        if opts.dataset_ids is not None:
            instances = [i for i in instances if i.get("datasetId", "@none") in opts.dataset_ids]
        if not instances:
            continue
        name = compact(iri)
        if opts.format == "keyValues":
            out[name] = _key_value(instances, compact, opts)
        else:
            rendered = [render_instance(i, compact, opts) for i in instances]
            out[name] = rendered[0] if len(rendered) == 1 else rendered
    if opts.sys_attrs and opts.format != "keyValues":
        out["createdAt"] = entity.created_at
        out["modifiedAt"] = entity.modified_at
    return out


def principal_out(instance: dict[str, Any], compact: Compact) -> Any:
    """The instance's principal content as a client sees it (vocab terms compacted)."""
    value = instance["value"]
    if instance["type"] == "VocabProperty":
        return [compact(v) for v in value] if isinstance(value, list) else compact(value)
    return value


def render_instance(
    instance: dict[str, Any], compact: Compact, opts: RenderOptions, *, sub: bool = False
) -> Any:
    """Render one attribute (or sub-attribute) instance in normalized or concise form."""
    kind = instance["type"]
    value = principal_out(instance, compact)
    lang_chosen: str | None = None
    if kind == "LanguageProperty" and opts.lang is not None:
        lang_chosen, value = _pick_language(value, opts.lang)
        kind = "Property"
    out: dict[str, Any] = {}
    concise = opts.format == "concise"
    if not concise:  # concise drops every type: the principal key implies it (§4.5.7)
        out["type"] = kind
    out[PRINCIPAL_KEY[kind]] = value
    if lang_chosen is not None:
        out["lang"] = lang_chosen
    for key in _META_OUT:
        if key in instance:
            out[key] = instance[key]
    if opts.sys_attrs:
        for key in ("createdAt", "modifiedAt"):
            if key in instance:
                out[key] = instance[key]
    for key, member in instance.items():
        if isinstance(member, dict) and "type" in member and key not in ("value",):
            out[compact(key)] = render_instance(member, compact, opts, sub=True)
    if concise and list(out) == ["value"] and not _ambiguous_bare(value):
        return value
    return out


def _ambiguous_bare(value: Any) -> bool:
    """A bare concise value must not be mistaken for a normalized or concise attribute."""
    if isinstance(value, dict):
        return True
    return isinstance(value, list) and any(isinstance(v, dict) for v in value)


def _key_value(instances: list[dict[str, Any]], compact: Compact, opts: RenderOptions) -> Any:
    instance = next((i for i in instances if "datasetId" not in i), instances[0])
    value = principal_out(instance, compact)
    if instance["type"] == "LanguageProperty" and opts.lang is not None:
        return _pick_language(value, opts.lang)[1]
    if instance["type"] == "LanguageProperty":
        return {"languageMap": value}
    return value


def _pick_language(language_map: dict[str, Any], wanted: str) -> tuple[str, Any]:
    """Choose the best text for ``lang`` (§4.15).

    ``lang`` is a list of language ranges with optional quality values (as in HTTP
    ``Accept-Language``): ranges are tried by decreasing quality (list order breaks ties), tags
    compare case-insensitively, and a range matches a tag equal to it or starting with it
    (``en`` matches ``en-US``), or one it starts with (``nl-BE`` falls back to ``nl``). ``*``
    matches any language. Without a match, ``@none`` is used if present, else any language.
    """
    tags = [tag for tag in language_map if tag != "@none"]
    for language_range in _language_ranges(wanted):
        if language_range == "*":
            if tags:
                return tags[0], language_map[tags[0]]
            continue
        for tag in tags:
            if tag.lower() == language_range:
                return tag, language_map[tag]
        for tag in tags:
            if tag.lower().startswith(language_range + "-"):
                return tag, language_map[tag]
        prefix = language_range
        while "-" in prefix:
            prefix = prefix.rsplit("-", 1)[0]
            for tag in tags:
                if tag.lower() == prefix:
                    return tag, language_map[tag]
    if "@none" in language_map:
        return "@none", language_map["@none"]
    first = next(iter(language_map))
    return first, language_map[first]


def _language_ranges(wanted: str) -> list[str]:
    """The ranges of a ``lang`` value, best first (quality 0 excluded)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(wanted.split(",")):
        pieces = [piece.strip() for piece in part.split(";")]
        if not pieces[0]:
            continue
        quality = 1.0
        for param in pieces[1:]:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, index, pieces[0].lower()))
    return [language_range for _, _, language_range in sorted(ranked)]


def select_attrs(
    names: Collection[str] | None, expand: Callable[[str], str]
) -> frozenset[str] | None:
    """Expand an ``attrs``/``pick`` list of attribute names; None means all."""
    if names is None:
        return None
    return frozenset(expand(n) for n in names if n not in ("id", "type"))
