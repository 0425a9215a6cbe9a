"""Each operator on the values it compares and on those it does not, and the reason a declined
request is given."""

from __future__ import annotations

from typing import Any

import pytest

from tests.gateway.filter_checks import body_matches, reason

# -- operators -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "operand", "seen", "matched"),
    [
        ("$gt", 5, 6, True),
        ("$gt", 5, 5, False),
        ("$gte", 5, 5, True),
        ("$gte", 5, 4.99, False),
        ("$lt", 5, 4, True),
        ("$lt", 5, 5, False),
        ("$lte", 5, 5, True),
        ("$lte", 5, 5.01, False),
        ("$gte", 100000, 10**30, True),
        ("$gt", "b", "c", True),  # strings compare as strings (ISO dates do)
        ("$gt", "b", "a", False),
        ("$lt", "2024-06-01T00:00:00Z", "2024-05-31T23:59:59Z", True),
    ],
)
def test_order_operators(op: str, operand: object, seen: object, matched: bool) -> None:
    assert body_matches({"x": {op: operand}}, {"x": seen}) is matched


@pytest.mark.parametrize("seen", ["6", True, None, [], {}, {"a": 6}])
@pytest.mark.parametrize("op", ["$gt", "$gte", "$lt", "$lte"])
def test_types_that_do_not_compare_decline(op: str, seen: object) -> None:
    assert not body_matches({"x": {op: 5}}, {"x": seen})
    assert not body_matches({"x": {op: "5"}}, {"x": 6})


def test_a_reason_says_when_types_do_not_compare() -> None:
    assert reason({"body": {"x": {"$gt": 5}}}, {"x": "6"}) == 'body.x: "6" does not compare with 5 (>)'
    assert reason({"body": {"x": {"$gte": "a"}}}, {"x": 1}) == 'body.x: 1 does not compare with "a" (>=)'


def test_booleans_are_not_numbers() -> None:
    assert not body_matches({"x": {"$gte": 0}}, {"x": True})
    assert not body_matches({"x": {"$in": [1, 0]}}, {"x": True})
    assert not body_matches({"x": {"$in": [True]}}, {"x": 1})
    assert body_matches({"x": {"$in": [True]}}, {"x": True})
    assert not body_matches({"x": 0}, {"x": False})


def test_in_and_nin() -> None:
    assert body_matches(
        {"type": {"$in": ["invoice.paid", "invoice.payment_failed"]}}, {"type": "invoice.paid"}
    )
    assert not body_matches({"type": {"$in": ["invoice.paid"]}}, {"type": "invoice.created"})
    assert body_matches({"id": {"$in": [123, 456.0]}}, {"id": 456})
    assert body_matches({"v": {"$in": [None, {"a": 1}, [1]]}}, {"v": {"a": 1}})
    assert body_matches({"v": {"$in": [None]}}, {"v": None})
    assert body_matches({"type": {"$nin": ["a", "b"]}}, {"type": "c"})
    assert not body_matches({"type": {"$nin": ["a", "b"]}}, {"type": "a"})
    assert not body_matches({"type": {"$in": []}}, {"type": "a"})
    assert body_matches({"type": {"$nin": []}}, {"type": "a"})


def test_in_with_a_string_is_hookdecks_contains() -> None:
    assert body_matches({"test": {"$in": "text"}}, {"test": "some-text"})
    assert not body_matches({"test": {"$nin": "some"}}, {"test": "some-text"})
    assert not body_matches({"tags": {"$nin": "test"}}, {"tags": ["test", "something"]})
    assert body_matches({"tags": {"$in": "test"}}, {"tags": ["test", "something"]})


def test_starts_and_ends_with_take_a_string_or_any_of_a_list() -> None:
    assert body_matches({"ref": {"$startsWith": "refs/heads/"}}, {"ref": "refs/heads/main"})
    assert not body_matches({"ref": {"$startsWith": "refs/tags/"}}, {"ref": "refs/heads/main"})
    assert body_matches({"ref": {"$startsWith": ["refs/tags/", "refs/heads/"]}}, {"ref": "refs/heads/main"})
    assert body_matches({"email": {"$endsWith": "@example.com"}}, {"email": "octo@example.com"})
    assert not body_matches({"email": {"$endsWith": ["@a.com", "@b.com"]}}, {"email": "octo@example.com"})
    assert not body_matches({"n": {"$startsWith": "1"}}, {"n": 12})


def test_contains_is_a_substring_or_an_element() -> None:
    assert body_matches({"title": {"$contains": "urgent"}}, {"title": "an urgent fix"})
    assert not body_matches({"title": {"$contains": "Urgent"}}, {"title": "an urgent fix"})
    assert body_matches({"labels": {"$contains": "bug"}}, {"labels": ["bug", "p1"]})
    assert body_matches({"ids": {"$contains": 7}}, {"ids": [1, 7]})
    assert not body_matches({"ids": {"$contains": 7}}, {"ids": [1, 7.5, True]})
    assert not body_matches({"n": {"$contains": 7}}, {"n": 7})  # a number contains nothing


def test_regex_searches_anywhere_unless_anchored() -> None:
    assert body_matches({"event": {"$regex": "^cs_[a-zA-Z]+$"}}, {"event": "cs_qwerty"})
    assert body_matches({"event": {"$regex": "qwe"}}, {"event": "cs_qwerty"})
    assert not body_matches({"event": {"$regex": "^qwe"}}, {"event": "cs_qwerty"})
    assert not body_matches({"event": {"$regex": "1"}}, {"event": 1})


def test_exist() -> None:
    assert body_matches({"a": {"$exist": True}}, {"a": None})
    assert not body_matches({"a": {"$exist": False}}, {"a": None})
    assert body_matches({"a": {"$exist": True, "$in": "el"}}, {"a": "else"})


def test_and_or_not_nest_and_combine_with_fields() -> None:
    event = {"type": "weekly", "cities": ["lagos", "ibadan"], "age": 12}
    assert body_matches({"$or": [{"type": "monthly"}, {"cities": "lagos"}]}, event)
    assert not body_matches({"$or": [{"type": "monthly"}, {"cities": "abuja"}]}, event)
    assert body_matches(
        {"$and": [{"age": {"$gte": 10}}, {"$or": [{"type": "x"}, {"cities": "ibadan"}]}]}, event
    )
    assert not body_matches({"$and": [{"age": {"$gte": 13}}, {"type": "weekly"}]}, event)
    assert body_matches({"$not": {"type": "monthly"}, "age": 12}, event)
    assert not body_matches({"$not": {"type": "weekly"}, "age": 12}, event)
    assert body_matches({"age": {"$or": [11, 12]}}, event)  # under a field, plain values are equality
    assert body_matches({"age": {"$not": {"$gt": 20}}}, event)


# -- reasons ---------------------------------------------------------------------------------------------


def test_the_reason_is_the_first_clause_that_declined_with_the_value_seen() -> None:
    spec = {"body": {"ref": "refs/heads/main", "repository.full_name": "octo/hello"}}
    assert reason(spec, {"ref": "refs/heads/dev", "repository": {"full_name": "x"}}) == (
        'body.ref: "refs/heads/dev" is not "refs/heads/main"'
    )
    assert reason(spec, {"ref": "refs/heads/main", "repository": {"full_name": "x"}}) == (
        'body.repository.full_name: "x" is not "octo/hello"'
    )
    amount = {"body": {"data": {"object": {"amount_paid": {"$gte": 100000}}}}}
    assert reason(amount, {"data": {"object": {"amount_paid": 500}}}) == (
        "body.data.object.amount_paid: 500 is not >= 100000"
    )


@pytest.mark.parametrize(
    ("spec", "event", "expected"),
    [
        ({"a": {"$neq": "x"}}, {"a": "x"}, 'body.a: "x" is "x" ($neq)'),
        ({"a": {"$in": ["x", "y"]}}, {"a": "z"}, 'body.a: "z" is not in ["x","y"]'),
        ({"a": {"$nin": ["x"]}}, {"a": ["x"]}, 'body.a: an element of ["x"] is in ["x"] ($nin)'),
        ({"a": {"$startsWith": "x"}}, {"a": "y"}, 'body.a: "y" does not start with "x"'),
        ({"a": {"$endsWith": ["x", "z"]}}, {"a": ["y"]}, 'body.a: no element of ["y"] ends with ["x","z"]'),
        ({"a": {"$regex": "^x"}}, {"a": "y"}, 'body.a: "y" does not match /^x/'),
        ({"a": {"$gte": 5}}, {"a": [1, 2]}, "body.a: no element of [1,2] is >= 5"),
        ({"a": {"$exist": False}}, {"a": 1}, "body.a: 1 is present ($exist: false)"),
        ({"a": {"$contains": "x"}}, {"a": "y"}, 'body.a: "y" does not contain "x"'),
        ({"a": "x"}, {"a": ["y", "z"]}, 'body.a: no element of ["y","z"] is "x"'),
        ({"a": ["x"]}, {"a": "x"}, 'body.a: "x" is not an array'),
        ({"$not": {"a": 1}}, {"a": 1}, 'body: {"a":1} matches $not {"a":1}'),
        (
            {"$or": [{"a": 1}, {"b": 2}]},
            {"a": 2},
            "body: no $or alternative matched (body.a: 2 is not 1; body.b: missing)",
        ),
        (
            {"items": {"sku": "a", "qty": 2}},
            {"items": [{"sku": "a", "qty": 1}]},
            'body.items: no element of [{"sku":"a","qty":1}] matched (body.items.qty: 1 is not 2)',
        ),
    ],
)
def test_reasons_read_as_sentences(spec: dict[str, Any], event: object, expected: str) -> None:
    assert reason({"body": spec}, event) == expected


def test_a_long_value_is_shortened_in_the_reason() -> None:
    text = reason({"body": {"a": "x"}}, {"a": "y" * 1000}) or ""
    assert len(text) < 120 and text.endswith('... is not "x"')
