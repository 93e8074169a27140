"""Parser of the NGSI-LD query language ``q`` (ETSI GS CIM 009 §4.9)."""

from __future__ import annotations

import re
from datetime import datetime, time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cityos.core.errors import BadRequestData, TooComplexQuery
from cityos.hub.query_language import (
    COMPARABLE,
    META_MEMBERS,
    NESTING_LIMIT,
    And,
    AttrPath,
    BooleanValue,
    Comparison,
    DateTimeValue,
    DateValue,
    Exists,
    NotExists,
    NumberValue,
    Operator,
    Or,
    Query,
    Range,
    RegexPattern,
    StringValue,
    TimeValue,
    UriValue,
    ValueList,
    canonical_date,
    canonical_datetime,
    canonical_time,
    expands_language_maps,
    parse_q,
    regex_search,
    resolve_path,
    to_text,
)

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def cmp(path: str | AttrPath, op: str, operand: object) -> Comparison:
    attr = path if isinstance(path, AttrPath) else AttrPath(path)
    return Comparison(attr, Operator(op), operand)  # type: ignore[arg-type]


def exists(name: str) -> Exists:
    return Exists(AttrPath(name))


# -- constructs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # §4.9 examples 0-7
        ("temperature", exists("temperature")),
        ("temperature==20", cmp("temperature", "==", NumberValue(20))),
        ('brandName!="Mercedes"', cmp("brandName", "!=", StringValue("Mercedes"))),
        (
            'isParked=="urn:ngsi-ld:OffStreetParking:Downtown1"',
            cmp("isParked", "==", StringValue("urn:ngsi-ld:OffStreetParking:Downtown1")),
        ),
        (
            'speed>50;brandName!="Mercedes"',
            And(
                (
                    cmp("speed", ">", NumberValue(50)),
                    cmp("brandName", "!=", StringValue("Mercedes")),
                )
            ),
        ),
        (
            '((speed>50|rpm>3000);brandName=="Mercedes")',
            And(
                (
                    Or((cmp("speed", ">", NumberValue(50)), cmp("rpm", ">", NumberValue(3000)))),
                    cmp("brandName", "==", StringValue("Mercedes")),
                )
            ),
        ),
        (
            "(temperature>=20;temperature<=25)|capacity<=10",
            Or(
                (
                    And(
                        (
                            cmp("temperature", ">=", NumberValue(20)),
                            cmp("temperature", "<=", NumberValue(25)),
                        )
                    ),
                    cmp("capacity", "<=", NumberValue(10)),
                )
            ),
        ),
        # §4.9 examples 8-12
        (
            "temperature.observedAt>=2017-12-24T12:00:00Z",
            cmp(
                AttrPath("temperature", meta="observedAt"),
                ">=",
                DateTimeValue("2017-12-24T12:00:00.000000Z"),
            ),
        ),
        (
            'address[city]=="Berlin"',
            cmp(AttrPath("address", members=("city",)), "==", StringValue("Berlin")),
        ),
        (
            "sensor.rawdata[airquality.particulate]==40",
            cmp(
                AttrPath("sensor", ("rawdata",), members=("airquality", "particulate")),
                "==",
                NumberValue(40),
            ),
        ),
        ("gender==Male", cmp("gender", "==", UriValue("Male"))),
        # operators
        ("a!=1", cmp("a", "!=", NumberValue(1))),
        ("a>1", cmp("a", ">", NumberValue(1))),
        ("a>=1", cmp("a", ">=", NumberValue(1))),
        ("a<1", cmp("a", "<", NumberValue(1))),
        ("a<=1", cmp("a", "<=", NumberValue(1))),
        ("a~=^x", cmp("a", "~=", RegexPattern("^x"))),
        ("a!~=^x", cmp("a", "!~=", RegexPattern("^x"))),
        ("!a", NotExists(AttrPath("a"))),
        ("!a.b[c]", NotExists(AttrPath("a", ("b",), members=("c",)))),
        ("! a", NotExists(AttrPath("a"))),
        # numbers
        ("a==0", cmp("a", "==", NumberValue(0))),
        ("a==-5", cmp("a", "==", NumberValue(-5))),
        ("a==-0", cmp("a", "==", NumberValue(0))),
        ("a==1.5", cmp("a", "==", NumberValue(1.5))),
        ("a>-2.5E-2", cmp("a", ">", NumberValue(-0.025))),
        ("a<1e3", cmp("a", "<", NumberValue(1000.0))),
        ("a==9223372036854775807", cmp("a", "==", NumberValue(2**63 - 1))),
        # strings
        ('a=="x\\"y"', cmp("a", "==", StringValue('x"y'))),
        ('a=="\\u00e9t\\u00e9"', cmp("a", "==", StringValue("été"))),
        ('a=="été;|()"', cmp("a", "==", StringValue("été;|()"))),
        ('a=="tab\\tnew\\nline\\\\"', cmp("a", "==", StringValue("tab\tnew\nline\\"))),
        ('a=="\\ud83d\\ude00"', cmp("a", "==", StringValue("\U0001f600"))),
        ('a==""', cmp("a", "==", StringValue(""))),
        # booleans
        ("a==true", cmp("a", "==", BooleanValue(True))),
        ("a!=false", cmp("a", "!=", BooleanValue(False))),
        # dates and times
        (
            "a<2024-01-01T01:30:00+01:30",
            cmp("a", "<", DateTimeValue("2024-01-01T00:00:00.000000Z")),
        ),
        (
            "a<2024-01-01T00:00:00.123456789-02:00",
            cmp("a", "<", DateTimeValue("2024-01-01T02:00:00.123456Z")),
        ),
        ("a<2024-01-01T00:00", cmp("a", "<", DateTimeValue("2024-01-01T00:00:00.000000Z"))),
        ("a==2024-02-29", cmp("a", "==", DateValue("2024-02-29"))),
        ("a>12:30", cmp("a", ">", TimeValue("12:30:00.000000"))),
        ("a>12:30:15.5Z", cmp("a", ">", TimeValue("12:30:15.500000"))),
        # URIs
        (
            "isParked==urn:ngsi-ld:OffStreetParking:Downtown1",
            cmp("isParked", "==", UriValue("urn:ngsi-ld:OffStreetParking:Downtown1")),
        ),
        (
            "a==https://example.org/x?y=1&z=2#f",
            cmp("a", "==", UriValue("https://example.org/x?y=1&z=2#f")),
        ),
        ("a!=ex:Cat", cmp("a", "!=", UriValue("ex:Cat"))),
        # lists
        ("a==1,2,3", cmp("a", "==", ValueList((NumberValue(1), NumberValue(2), NumberValue(3))))),
        ('a!="x","y"', cmp("a", "!=", ValueList((StringValue("x"), StringValue("y"))))),
        (
            'a==1,"x",true,urn:a:b,2024-01-01',
            cmp(
                "a",
                "==",
                ValueList(
                    (
                        NumberValue(1),
                        StringValue("x"),
                        BooleanValue(True),
                        UriValue("urn:a:b"),
                        DateValue("2024-01-01"),
                    )
                ),
            ),
        ),
        # ranges
        ("a==1..5", cmp("a", "==", Range(NumberValue(1), NumberValue(5)))),
        ("a!=-5..-1.5", cmp("a", "!=", Range(NumberValue(-5), NumberValue(-1.5)))),
        ("a==3..3", cmp("a", "==", Range(NumberValue(3), NumberValue(3)))),
        ('a=="a".."m"', cmp("a", "==", Range(StringValue("a"), StringValue("m")))),
        (
            "a==2024-01-01..2024-12-31",
            cmp("a", "==", Range(DateValue("2024-01-01"), DateValue("2024-12-31"))),
        ),
        (
            "a==2024-01-01T00:00:00.5Z..2024-01-02T00:00:00Z",
            cmp(
                "a",
                "==",
                Range(
                    DateTimeValue("2024-01-01T00:00:00.500000Z"),
                    DateTimeValue("2024-01-02T00:00:00.000000Z"),
                ),
            ),
        ),
        (
            "a==08:00..17:00",
            cmp("a", "==", Range(TimeValue("08:00:00.000000"), TimeValue("17:00:00.000000"))),
        ),
        # regular expressions
        ("a~=(?i)^sm(a|b).*", cmp("a", "~=", RegexPattern("(?i)^sm(a|b).*"))),
        ('a~="x\\\\d+"', cmp("a", "~=", RegexPattern("x\\d+"))),
        ("a~=x\\d+", cmp("a", "~=", RegexPattern("x\\d+"))),
        (
            "a~=[;|)]x;b",
            And((cmp("a", "~=", RegexPattern("[;|)]x")), exists("b"))),
        ),
        ("(a~=x|b)", Or((cmp("a", "~=", RegexPattern("x")), exists("b")))),
        ("a~=\\);b", And((cmp("a", "~=", RegexPattern("\\)")), exists("b")))),
        # attribute paths
        ("a.b", Exists(AttrPath("a", ("b",)))),
        ("a.b.c", Exists(AttrPath("a", ("b", "c")))),
        ("a.unitCode", Exists(AttrPath("a", meta="unitCode"))),
        ("a.b.modifiedAt", Exists(AttrPath("a", ("b",), meta="modifiedAt"))),
        ("a.datasetId==urn:x:1", cmp(AttrPath("a", meta="datasetId"), "==", UriValue("urn:x:1"))),
        ("observedAt", exists("observedAt")),
        ("a[b][c]", Exists(AttrPath("a", members=("b", "c")))),
        ("a[b.c][d]", Exists(AttrPath("a", members=("b", "c", "d")))),
        ("a[ b c ]", Exists(AttrPath("a", members=(" b c ",)))),
        ("a[x;y|z(1)]", Exists(AttrPath("a", members=("x;y|z(1)",)))),
        ('name[*]=="red"', cmp(AttrPath("name", members=("*",)), "==", StringValue("red"))),
        ('name[en]=="red"', cmp(AttrPath("name", members=("en",)), "==", StringValue("red"))),
        ("ex:temp>1", cmp("ex:temp", ">", NumberValue(1))),
        ("ex:a.ex:b", Exists(AttrPath("ex:a", ("ex:b",)))),
        ("température==1", cmp("température", "==", NumberValue(1))),
        ("_a-b", exists("_a-b")),
        (
            "https://smartdatamodels.org/dataModel.Environment/temperature==1",
            cmp(
                "https://smartdatamodels.org/dataModel.Environment/temperature",
                "==",
                NumberValue(1),
            ),
        ),
        (
            "http://example.org/ns#temp.observedAt",
            Exists(AttrPath("http://example.org/ns#temp", meta="observedAt")),
        ),
        (
            'http://ex.org/a.http://ex.org/b.unitCode=="CEL"',
            cmp(
                AttrPath("http://ex.org/a", ("http://ex.org/b",), "unitCode"),
                "==",
                StringValue("CEL"),
            ),
        ),
        ("http://ex.org/a.b[c]", Exists(AttrPath("http://ex.org/a", ("b",), members=("c",)))),
        # precedence, grouping, flattening, whitespace
        ("a;b|c", Or((And((exists("a"), exists("b"))), exists("c")))),
        ("a|b;c", Or((exists("a"), And((exists("b"), exists("c")))))),
        ("(a|b);c", And((Or((exists("a"), exists("b"))), exists("c")))),
        ("(a;b);c", And((exists("a"), exists("b"), exists("c")))),
        ("a|(b|c)", Or((exists("a"), exists("b"), exists("c")))),
        ("((a))", exists("a")),
        (
            " a == 1 ; b | ( c ) ",
            Or((And((cmp("a", "==", NumberValue(1)), exists("b"))), exists("c"))),
        ),
    ],
)
def test_parse(text: str, expected: Query) -> None:
    ast = parse_q(text)
    assert ast == expected
    assert parse_q(to_text(ast)) == ast


@pytest.mark.parametrize(
    ("text", "rendered"),
    [
        ("(a|b);c", "(a|b);c"),
        ("a;b|c", "a;b|c"),
        ("a[b][c]==1", "a[b.c]==1"),
        ("a~=x\\d", 'a~="x\\\\d"'),
        ("a==1e3", "a==1000.0"),
        ("a>2017-12-24T12:00:00Z", "a>2017-12-24T12:00:00.000000Z"),
        ('a=="é\\n"', 'a=="é\\n"'),
        ("!ex:a.b", "!ex:a.b"),
    ],
)
def test_to_text(text: str, rendered: str) -> None:
    assert to_text(parse_q(text)) == rendered
    assert str(parse_q(text)) == rendered


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("", 0, "empty"),
        ("   ", 0, "empty"),
        ("(a", 0, "'(' is never closed"),
        ("(a;(b)", 0, "'(' is never closed"),
        ("a)", 1, "unexpected ')'"),
        ("(a b)", 3, "expected an operator, ';', '|' or ')'"),
        ("(a==1 b)", 6, "expected ')'"),
        ("()", 1, "unexpected ')'"),
        ("a==", 3, "missing value after operator '=='"),
        ("a>=;b", 3, "missing value"),
        ("a~=", 3, "missing value"),
        ("a==1;", 5, "reached the end"),
        ("a==1|", 5, "reached the end"),
        (";a", 0, "before ';'"),
        ("a;;b", 2, "before ';'"),
        ("a||b", 2, "before '|'"),
        ("==1", 0, "missing attribute path"),
        ("!=1", 0, "missing attribute path"),
        ("a=1", 1, "use '=='"),
        ("a=>1", 1, "use '=='"),
        ("a b", 2, "expected an operator"),
        ("a==1)", 4, "unexpected ')'"),
        ("a==1 2", 5, "expected ';', '|' or end"),
        ("a==12abc", 3, "invalid number '12abc'"),
        ("a==1.2.3", 3, "invalid number"),
        ("a==-", 3, "invalid number"),
        ("a==+1", 3, "invalid number"),
        ("a==.5", 3, "invalid number"),
        ("a==01", 3, "invalid number"),
        ("a==1e999", 3, "out of range"),
        ("a==9223372036854775808", 3, "out of range"),
        ('a=="abc', 3, "unterminated string"),
        ('a=="abc\\"', 3, "unterminated string"),
        ('a=="\\x"', 4, "invalid string"),
        ('a=="\\ud800"', 3, "unpaired surrogate"),
        ('a=="a\tb"', 5, "invalid string"),
        ("a==x y", 5, "expected ';', '|' or end"),
        ('a==x"y"', 4, "expected ';', '|' or end"),
        ("a==hello world", 9, "expected ';', '|' or end"),
        ("a==@x", 3, "invalid value '@x'"),
        ("a==2024-13-01", 3, "invalid Date"),
        ("a==2024-02-30", 3, "invalid Date"),
        ("a==2024-01-01T25:00:00Z", 3, "invalid DateTime"),
        ("a==2024-01-01T00:00:00+01:00x", 3, "invalid DateTime"),
        ("a==24:00", 3, "invalid Time"),
        ("a==2024-01-01T00:00:00 01:00", 22, "percent-encode"),
        ("a~=(", 3, "invalid regular expression"),
        ("a~=x)", 4, "unexpected ')'"),
        ("a~=[a", 3, "invalid regular expression"),
        ('a~="("', 3, "invalid regular expression"),
        ("a~=a{2,1}", 5, "invalid regular expression"),
        ("a==5..1", 4, "lower bound is greater"),
        ('a=="b".."a"', 6, "lower bound is greater"),
        ('a==1.."b"', 4, "same kind"),
        ("a==true..false", 7, "same kind"),
        ("a==urn:a..urn:b", 8, "same kind"),
        ("a==1..", 6, "missing upper bound"),
        ("a==1..;b", 6, "missing upper bound"),
        ("a==1..2,3", 7, "range cannot be part of a value list"),
        ("a==1,2..3", 6, "range cannot be part of a value list"),
        ("a==1,", 5, "missing value after ','"),
        ("a==1,,2", 5, "missing value after ','"),
        ("a>true", 2, "operator '>' takes a single"),
        ("a<=1,2", 3, "operator '<=' takes a single"),
        ("a>1..2", 2, "operator '>' takes a single"),
        ("a<urn:x:y", 2, "operator '<' takes a single"),
        ("a>foo", 2, "strings must be double-quoted"),
        ("a[b", 1, "unterminated '['"),
        ("a[b.c", 1, "unterminated '['"),
        ("a[]", 2, "expected a member name"),
        ("a[b.]", 4, "expected a member name"),
        ("a[b]c", 4, "expected an operator"),
        ("a[b].c", 4, "unexpected '.'"),
        ('a[b"]', 3, "not allowed in a member name"),
        ("a[*.b]==1", 6, "wildcard"),
        ("a..b", 2, "expected a sub-attribute name"),
        ("a.", 2, "expected a sub-attribute name"),
        (".a", 0, "expected an attribute name"),
        ("1a", 0, "expected an attribute name"),
        ("a.observedAt.x", 12, "'observedAt' must end the attribute path"),
        ("a.unitCode[x]", 10, "'unitCode' cannot be followed"),
        ("!a==1", 2, "'!' (not exists) cannot be combined"),
        ("!(a)", 1, "expected an attribute name"),
        ("!", 1, "expected an attribute name"),
        ("a==1\x00", 4, "NUL"),
        ("a\ud800", 1, "surrogate"),
        ("a{b}==1", 1, "expected an operator"),
        ("(" * (NESTING_LIMIT + 1) + "a" + ")" * (NESTING_LIMIT + 1), NESTING_LIMIT, "deeper than"),
    ],
)
def test_syntax_errors_name_the_position(text: str, position: int, message: str) -> None:
    with pytest.raises(BadRequestData) as caught:
        parse_q(text, max_depth=None)
    detail = caught.value.detail
    assert detail.endswith(f"at position {position}"), detail
    assert message in detail
    assert caught.value.status == 400


def test_too_many_terms() -> None:
    parse_q(";".join(["a"] * 100))
    with pytest.raises(TooComplexQuery) as caught:
        parse_q(";".join(["a"] * 101))
    assert caught.value.status == 403
    with pytest.raises(TooComplexQuery):
        parse_q("a|b|!c", max_terms=2)
    parse_q(";".join(["a"] * 1000), max_terms=None)


def test_too_deep_nesting() -> None:
    parse_q("(" * 16 + "a" + ")" * 16)
    with pytest.raises(TooComplexQuery):
        parse_q("(" * 17 + "a" + ")" * 17)
    with pytest.raises(TooComplexQuery):
        parse_q("(a;(b|(c)))", max_depth=2)
    assert parse_q("(" * NESTING_LIMIT + "a" + ")" * NESTING_LIMIT, max_depth=None) == exists("a")


def test_non_string_input_is_rejected() -> None:
    with pytest.raises(BadRequestData):
        parse_q(None)  # type: ignore[arg-type]


# -- literals and helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000000Z"),
        ("2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00.000000Z"),
        ("2024-01-01T00:00:00", "2024-01-01T00:00:00.000000Z"),
        ("2024-01-01T00:00Z", "2024-01-01T00:00:00.000000Z"),
        ("2024-01-01T01:00:00+01:00", "2024-01-01T00:00:00.000000Z"),
        ("2024-01-01T01:00:00+0100", "2024-01-01T00:00:00.000000Z"),
        ("2023-12-31T23:00:00-01:00", "2024-01-01T00:00:00.000000Z"),
        ("2024-01-01T00:00:00,25z", "2024-01-01T00:00:00.250000Z"),
        ("0005-01-01T00:00:00Z", "0005-01-01T00:00:00.000000Z"),
        ("2024-02-30T00:00:00Z", None),
        ("2024-01-01T00:00:00+24:00", None),
        ("2024-01-01T00:00:00+01:60", None),
        ("0001-01-01T00:00:00+01:00", None),
        ("2024-01-01", None),
        ("2024-01-01T00:00:60Z", None),
        ("\uff12\uff10\uff12\uff14-01-01T00:00:00Z", None),
        (20240101, None),
        (None, None),
    ],
)
def test_canonical_datetime(text: object, canonical: str | None) -> None:
    assert canonical_datetime(text) == canonical


def test_canonical_datetime_orders_temporally() -> None:
    later = canonical_datetime("2024-01-01T00:00:00.5Z")
    earlier = canonical_datetime("2024-01-01T01:00:00+01:00")
    assert earlier is not None and later is not None and earlier < later


def test_canonical_date_and_time() -> None:
    assert canonical_date("2024-02-29") == "2024-02-29"
    assert canonical_date("2023-02-29") is None
    assert canonical_date("2024-1-01") is None
    assert canonical_date(5) is None
    assert canonical_time("08:30") == "08:30:00.000000"
    assert canonical_time("08:30:05.1Z") == "08:30:05.100000"
    assert canonical_time("23:59:59") == "23:59:59.000000"
    assert canonical_time("24:00:00") is None
    assert canonical_time("08:60") is None
    assert canonical_time("08:30+01:00") is None
    assert canonical_time(None) is None


def test_regex_search_is_none_safe() -> None:
    assert regex_search("^a", "abc")
    assert regex_search("b", "abc")
    assert regex_search("(?i)ABC", "xabcx")
    assert not regex_search("^b", "abc")
    assert not regex_search("a", None)
    assert not regex_search(None, "a")
    assert not regex_search("a", 1)
    assert not regex_search("(", "(")


def test_resolve_path_expands_names_but_not_members() -> None:
    def expand(name: str) -> str:
        return "https://example.org/" + name

    path = resolve_path(AttrPath("a", ("b",), None, ("m", "*")), expand)
    assert path.attr == "https://example.org/a"
    assert path.sub == ("https://example.org/b",)
    assert path.members == ("m",)
    assert path.wildcard
    meta = resolve_path(AttrPath("a", meta="observedAt"), expand)
    assert meta.meta == "observedAt" and not meta.wildcard


@pytest.mark.parametrize("iri", ['http://x/"a', "http://x/\\a", "", "a\nb"])
def test_resolve_path_rejects_unusable_iris(iri: str) -> None:
    with pytest.raises(BadRequestData, match="invalid IRI"):
        resolve_path(AttrPath("a"), lambda name: iri)


def test_language_maps_expand_for_textual_operands_only() -> None:
    def resolved(path: AttrPath) -> object:
        return resolve_path(path, lambda name: name)

    plain = resolved(AttrPath("name"))
    assert expands_language_maps(plain, StringValue("x"))  # type: ignore[arg-type]
    assert expands_language_maps(plain, RegexPattern("x"))  # type: ignore[arg-type]
    assert expands_language_maps(plain, ValueList((NumberValue(1), UriValue("x"))))  # type: ignore[arg-type]
    assert not expands_language_maps(plain, NumberValue(1))  # type: ignore[arg-type]
    assert not expands_language_maps(plain, BooleanValue(True))  # type: ignore[arg-type]
    member = resolved(AttrPath("name", members=("en",)))
    assert not expands_language_maps(member, StringValue("x"))  # type: ignore[arg-type]


# -- properties -----------------------------------------------------------------------------------

NAME = st.from_regex(r"[A-Za-zé][A-Za-z0-9_é-]{0,5}", fullmatch=True).filter(
    lambda name: name not in META_MEMBERS
)
ATTR_NAME = st.one_of(
    NAME,
    NAME.map(lambda name: "ex:" + name),
    NAME.map(lambda name: "http://example.org/ns#" + name),
    NAME.map(lambda name: "https://example.org/data.model/" + name),
)
MEMBER = st.text(
    alphabet=st.characters(blacklist_characters='.[]"\\', blacklist_categories=("Cs", "Cc")),
    min_size=1,
    max_size=5,
).filter(lambda member: member != "*")


@st.composite
def attr_paths(draw: st.DrawFn) -> AttrPath:
    attr = draw(ATTR_NAME)
    sub = tuple(draw(st.lists(ATTR_NAME, max_size=2)))
    if draw(st.booleans()):
        return AttrPath(attr, sub, draw(st.sampled_from(sorted(META_MEMBERS))))
    members = draw(st.lists(MEMBER, max_size=3))
    if draw(st.booleans()):
        members.append("*")
    return AttrPath(attr, sub, None, tuple(members))


NUMBERS = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
).map(NumberValue)
STRINGS = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
).map(StringValue)
DATETIMES = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(
    lambda moment: DateTimeValue(moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ").rjust(27, "0"))
)
DATES = st.dates().map(lambda day: DateValue(f"{day.year:04d}-{day.month:02d}-{day.day:02d}"))
TIMES = st.times().map(lambda moment: TimeValue(time.isoformat(moment, "microseconds")))
URIS = st.one_of(
    NAME.filter(lambda name: name not in ("true", "false")).map(UriValue),
    NAME.map(lambda name: UriValue("urn:ngsi-ld:Thing:" + name)),
    NAME.map(lambda name: UriValue("https://example.org/" + name + "?q=1")),
)
COMPARABLE_KINDS = [NUMBERS, STRINGS, DATETIMES, DATES, TIMES]
SCALARS = st.one_of(*COMPARABLE_KINDS, st.booleans().map(BooleanValue), URIS)
PATTERNS = st.sampled_from(["^a", "(?i)abc", "a|b", "[;|)]", "x\\d+", "é.*", "\\)", '"q"']).map(
    RegexPattern
)


@st.composite
def ranges(draw: st.DrawFn) -> Range:
    kind = draw(st.sampled_from(COMPARABLE_KINDS))
    low, high = sorted(draw(st.lists(kind, min_size=2, max_size=2)), key=lambda v: v.value)
    return Range(low, high)


@st.composite
def comparisons(draw: st.DrawFn) -> Comparison:
    path = draw(attr_paths())
    operand = draw(
        st.one_of(
            SCALARS,
            st.lists(SCALARS, min_size=2, max_size=4).map(lambda values: ValueList(tuple(values))),
            ranges(),
            PATTERNS,
        )
    )
    if isinstance(operand, RegexPattern):
        ops = [Operator.MATCH, Operator.NOT_MATCH]
    elif isinstance(operand, COMPARABLE):
        ops = [Operator.EQ, Operator.NE, Operator.GT, Operator.GE, Operator.LT, Operator.LE]
    else:
        ops = [Operator.EQ, Operator.NE]
    return Comparison(path, draw(st.sampled_from(ops)), operand)


def _flatten(kind: type[And] | type[Or], terms: list[Query]) -> Query:
    flat: list[Query] = []
    for term in terms:
        flat.extend(term.terms if isinstance(term, kind) else (term,))
    return kind(tuple(flat))


QUERIES = st.recursive(
    st.one_of(
        comparisons(),
        attr_paths().map(Exists),
        attr_paths().map(NotExists),
    ),
    lambda children: st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda terms: _flatten(And, terms)),
        st.lists(children, min_size=2, max_size=3).map(lambda terms: _flatten(Or, terms)),
    ),
    max_leaves=10,
)


@FAST
@given(QUERIES)
def test_rendered_queries_parse_back_to_the_same_tree(query: Query) -> None:
    text = to_text(query)
    assert parse_q(text) == query
    assert str(query) == text


FUZZ_ALPHABET = [*'abcé:/#._-[]*()!=<>~;|,"\\ 0123456789eETZ+', "true", "..", "urn:x"]


@FAST
@given(
    st.one_of(
        st.lists(st.sampled_from(FUZZ_ALPHABET), max_size=25).map("".join),
        st.text(max_size=30),
        QUERIES.map(to_text).flatmap(
            lambda text: st.integers(0, len(text)).map(lambda cut: text[:cut])
        ),
    )
)
def test_fuzzed_input_raises_only_ngsi_ld_errors(text: str) -> None:
    try:
        query = parse_q(text)
    except BadRequestData as error:
        position = re.search(r"at position (\d+)$", error.detail)
        assert position is not None, error.detail
        assert 0 <= int(position.group(1)) <= len(text)
    except TooComplexQuery:
        pass
    else:
        assert parse_q(to_text(query)) == query
