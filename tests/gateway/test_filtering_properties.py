"""Properties over random JSON, specs and requests: checking never raises, ``$not`` inverts, a
document matches itself, ``$neq $nin`` negate ``$eq $in``, the order operators split the numbers, and
header names and query values are read as sent."""

from __future__ import annotations

import json
import re
import string
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.config.filtering import FilterError, Request, compile_filter
from tests.gateway.filter_checks import body_matches, check

KEYS = st.sampled_from(["a", "b", "type", "data", "0", "1", "x.y"])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.sampled_from(["a", "b", "created", "refs/heads/main", "1", "2.5", ""]),
)
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(KEYS | st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=10,
)
ORDERABLE = st.one_of(st.integers(-5, 5), st.floats(-5, 5, allow_nan=False), st.sampled_from(["a", "b", "1"]))
OPERATOR_CLAUSES = st.one_of(
    SCALARS,
    st.builds(lambda op, v: {op: v}, st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), ORDERABLE),
    st.builds(lambda op, v: {op: v}, st.sampled_from(["$eq", "$neq"]), JSON),
    st.builds(
        lambda op, v: {op: v},
        st.sampled_from(["$in", "$nin"]),
        st.lists(SCALARS, max_size=3) | st.text(max_size=2),
    ),
    st.builds(
        lambda op, v: {op: v}, st.sampled_from(["$startsWith", "$endsWith"]), st.sampled_from(["", "a", "re"])
    ),
    st.builds(lambda v: {"$contains": v}, st.sampled_from(["a", 1, None, True])),
    st.builds(lambda v: {"$regex": v}, st.sampled_from(["^a", "b$", "[0-9]+", "."])),
    st.builds(lambda v: {"$exist": v}, st.booleans()),
)
FILTERS: st.SearchStrategy[Any] = st.recursive(
    OPERATOR_CLAUSES,
    lambda children: st.one_of(
        st.dictionaries(KEYS, children, min_size=1, max_size=3),
        st.lists(children, max_size=2),
        st.builds(
            lambda op, items: {op: items},
            st.sampled_from(["$and", "$or"]),
            st.lists(children, min_size=1, max_size=3),
        ),
        st.builds(lambda inner: {"$not": inner}, st.dictionaries(KEYS, children, min_size=1, max_size=2)),
    ),
    max_leaves=6,
)
OBJECT_FILTERS = st.dictionaries(KEYS, FILTERS, min_size=1, max_size=3)
HEADER_NAMES = st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=1, max_size=12)


@settings(max_examples=100, derandomize=True, deadline=None)
@given(spec=OBJECT_FILTERS, event=JSON)
def test_check_never_raises_and_not_inverts(spec: dict[str, Any], event: object) -> None:
    raw = json.dumps(event).encode()
    verdict = check({"body": spec}, raw)
    negated = check({"body": {"$not": spec}}, raw)
    assert verdict.matched is not negated.matched
    for declined in (verdict, negated):
        if not declined.matched:
            assert declined.reason and declined.reason.startswith("body")
            assert "could not be evaluated" not in declined.reason


@settings(max_examples=60, derandomize=True, deadline=None)
@given(
    raw=st.one_of(st.binary(max_size=64), JSON.map(lambda v: json.dumps(v).encode())),
    headers=st.lists(st.tuples(HEADER_NAMES, st.text(max_size=8)), max_size=4),
    query=st.text(max_size=20),
    path=st.text(max_size=10),
)
def test_check_never_raises_on_any_request(
    raw: bytes, headers: list[tuple[str, str]], query: str, path: str
) -> None:
    request = Request(raw, headers, query, path)
    for compiled in EVERY_OPERATOR:
        verdict = compiled.check(request)
        assert verdict.matched or (verdict.reason and "could not be evaluated" not in verdict.reason)


EVERY_OPERATOR = [
    compile_filter(spec)
    for spec in [
        {"body": {"a": 1, "b.c": {"$gte": 1}, "data.$.x": {"$regex": "a"}, "0": {"$exist": True}}},
        {"body": {"$or": [{"a": {"$in": [1, "a"]}}, {"a": {"$nin": "b"}}], "$not": {"b": ["x"]}}},
        {"body": {"a": {"$startsWith": ["a", "b"], "$endsWith": "z"}, "b": {"$contains": "x"}, "c": {}}},
        {"body": {"a": {"$neq": {"k": [1]}}, "b": {"$lt": "m"}, "c": {"$and": [{"$gt": 0}, 5]}}},
        {"body": [1, {"a": None}]},
        {
            "headers": {"x-a": {"$gte": 3}, "$or": [{"b": "1"}, {"c": ["x", "y"]}]},
            "query": {"q": {"$in": [1, "a"]}},
        },
        {"query": {"a": {"$regex": "^[0-9]+$"}, "b": {"$exist": False}}, "path": {"$startsWith": "/"}},
        {"path": {"path": {"$not": {"$eq": "/x"}}}},
    ]
]


ANY_SPEC = st.dictionaries(
    st.sampled_from(["body", "headers", "query", "path", "nope"]),
    st.recursive(
        SCALARS | st.lists(SCALARS, max_size=2),
        lambda children: st.dictionaries(
            st.sampled_from(
                ["$eq", "$in", "$gt", "$or", "$not", "$exist", "$regex", "$foo", "a", "a.b", "$", ""]
            ),
            children | st.lists(children, max_size=2),
            max_size=3,
        ),
        max_leaves=5,
    ),
    max_size=3,
)


@settings(max_examples=80, derandomize=True, deadline=None)
@given(spec=ANY_SPEC, event=JSON)
def test_compiling_any_spec_gives_a_filter_or_a_filter_error(spec: dict[str, Any], event: object) -> None:
    try:
        compiled = compile_filter(spec)
    except FilterError as error:
        assert re.match(r"^[^:]+: ", str(error))
        return
    verdict = compiled.check(Request(json.dumps(event).encode(), [("A", "1")], "a=1", "/a"))
    assert verdict.matched or verdict.reason


PLAIN_KEYS = st.text(alphabet=string.ascii_letters + "_-", min_size=1, max_size=5)
PLAIN_JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(PLAIN_KEYS, children, max_size=3),
    max_leaves=12,
)


@settings(max_examples=100, derandomize=True, deadline=None)
@given(event=PLAIN_JSON)
def test_a_document_matches_itself_as_a_filter(event: object) -> None:
    assert body_matches(event, event)


@settings(max_examples=100, derandomize=True, deadline=None)
@given(seen=SCALARS, wanted=SCALARS)
def test_neq_and_nin_are_eq_and_in_negated_on_present_fields(seen: object, wanted: object) -> None:
    event = {"x": seen}
    assert body_matches({"x": {"$neq": wanted}}, event) is not body_matches({"x": {"$eq": wanted}}, event)
    assert body_matches({"x": {"$nin": [wanted]}}, event) is not body_matches({"x": {"$in": [wanted]}}, event)
    assert body_matches({"x": {"$eq": wanted}}, event) is body_matches({"x": wanted}, event)


NUMBERS = st.one_of(st.integers(-(10**20), 10**20), st.floats(allow_nan=False, allow_infinity=False))


@settings(max_examples=100, derandomize=True, deadline=None)
@given(seen=st.one_of(NUMBERS, st.booleans(), st.none(), st.text(max_size=3)), bound=NUMBERS)
def test_gt_and_lte_split_the_numbers_and_nothing_else(seen: object, bound: int | float) -> None:
    event = {"x": seen}
    above, not_above = body_matches({"x": {"$gt": bound}}, event), body_matches({"x": {"$lte": bound}}, event)
    below, not_below = body_matches({"x": {"$lt": bound}}, event), body_matches({"x": {"$gte": bound}}, event)
    numeric = type(seen) in (int, float)
    assert (above != not_above) is numeric and (below != not_below) is numeric
    if not numeric:
        assert not (above or not_above or below or not_below)


@settings(max_examples=50, derandomize=True, deadline=None)
@given(name=HEADER_NAMES, value=st.text(max_size=10), data=st.data())
def test_header_names_match_whatever_their_case(name: str, value: str, data: st.DataObject) -> None:
    sent = "".join(data.draw(st.sampled_from([c.lower(), c.upper()])) for c in name)
    written = "".join(data.draw(st.sampled_from([c.lower(), c.upper()])) for c in name)
    assert check({"headers": {written: value}}, {}, headers=[(sent, value)]).matched
    if value != value.swapcase():
        assert not check({"headers": {written: value.swapcase()}}, {}, headers=[(sent, value)]).matched


@settings(max_examples=50, derandomize=True, deadline=None)
@given(params=st.dictionaries(PLAIN_KEYS, st.lists(st.text(max_size=6), min_size=1, max_size=3), min_size=1))
def test_query_values_are_what_was_sent(params: dict[str, list[str]]) -> None:
    query = urlencode(params, doseq=True, quote_via=quote)
    for name, values in params.items():
        wanted = values[0] if len(values) == 1 else {"$eq": values}
        assert check({"query": {name: wanted}}, {}, query=query).matched
