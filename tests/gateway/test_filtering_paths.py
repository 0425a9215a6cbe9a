"""Filters on the body: equality with JSON's types kept apart, partial objects, dotted paths and
array indexes, arrays on either side, and fields the event does not have."""

from __future__ import annotations

import pytest

from gateway.config.filtering import compile_filter
from tests.gateway.filter_checks import body_matches, check, reason

# -- equality, objects and paths -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wanted", "seen", "matched"),
    [
        ("refs/heads/main", "refs/heads/main", True),
        ("1", 1, False),
        (1, "1", False),
        (1, 1.0, True),
        (2.5, 2.5, True),
        (True, 1, False),
        (1, True, False),
        (False, 0, False),
        (None, None, True),
        (None, False, False),
        ("", None, False),
    ],
)
def test_a_value_is_equality_with_strict_json_types(wanted: object, seen: object, matched: bool) -> None:
    assert body_matches({"x": wanted}, {"x": seen}) is matched


def test_an_object_is_a_partial_match_at_any_depth() -> None:
    event = {"type": "invoice.paid", "data": {"object": {"amount_paid": 120000, "currency": "usd"}}}
    assert body_matches({"data": {"object": {"currency": "usd"}}}, event)
    assert not body_matches({"data": {"object": {"currency": "eur"}}}, event)
    assert not body_matches({"data": {"object": {"currency": "usd", "livemode": True}}}, event)


def test_dotted_keys_are_paths_as_convoy_flattens_them() -> None:
    event = {"data": {"object": {"amount": 150}}}
    assert body_matches({"data.object.amount": {"$gte": 100}}, event)
    assert body_matches({"data.object": {"amount": 150}}, event)
    assert not body_matches({"data.object.amount": {"$gte": 200}}, event)
    assert not body_matches({"data.object.nothing": {"$gte": 1}}, event)


def test_a_key_with_dots_the_event_has_literally_is_tried_first() -> None:
    assert body_matches({"a.b": 1}, {"a.b": 1, "a": {"b": 2}})
    assert body_matches({"a.b": 2}, {"a": {"b": 2}})


def test_a_numeric_segment_indexes_an_array_and_dollar_is_any_element() -> None:
    event = {"items": [{"sku": "a"}, {"sku": "b"}], "0": {"sku": "key"}}
    assert body_matches({"items.1.sku": "b"}, event)
    assert not body_matches({"items.0.sku": "b"}, event)
    assert not body_matches({"items.5.sku": "b"}, event)
    assert body_matches({"0.sku": "key"}, event)  # an object's key "0"
    assert body_matches({"items.$.sku": "b"}, event)
    assert not body_matches({"items.$.sku": "c"}, event)
    assert not body_matches({"0.$.sku": "key"}, event)  # $ wants an array


def test_eq_compares_whole_objects_and_arrays() -> None:
    assert body_matches({"a": {"$eq": {"b": 1}}}, {"a": {"b": 1}})
    assert not body_matches({"a": {"$eq": {"b": 1}}}, {"a": {"b": 1, "c": 2}})
    assert body_matches({"tags": {"$eq": ["x", "y"]}}, {"tags": ["x", "y"]})
    assert not body_matches({"tags": {"$eq": ["x", "y"]}}, {"tags": ["x", "y", "z"]})
    assert not body_matches({"tags": {"$eq": ["x", "y"]}}, {"tags": ["y", "x"]})
    assert not body_matches({"a": {"$eq": [1]}}, {"a": [True]})


def test_an_empty_object_matches_any_object_and_an_empty_section_everything() -> None:
    assert body_matches({"a": {}}, {"a": {"b": 1}})
    assert not body_matches({"a": {}}, {"a": 1})
    assert check({"body": {}, "headers": {}, "query": {}}, b"not json").matched
    assert not compile_filter({"body": {}}).uses_body


# -- arrays ----------------------------------------------------------------------------------------------


def test_an_array_in_the_event_matches_when_any_element_does() -> None:
    event = {"tags": ["gift", "card"], "amounts": [5, 500], "refs": ["refs/heads/dev", "refs/tags/v1"]}
    assert body_matches({"tags": "gift"}, event)
    assert not body_matches({"tags": "nope"}, event)
    assert body_matches({"amounts": {"$gte": 100}}, event)
    assert not body_matches({"amounts": {"$gt": 500}}, event)
    assert body_matches({"refs": {"$startsWith": "refs/tags/"}}, event)
    assert body_matches({"tags": {"$in": ["card", "x"]}}, event)
    assert body_matches({"tags": {"$regex": "^ca"}}, event)


def test_an_object_clause_holds_for_one_element_as_a_whole() -> None:
    event = {"items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]}
    assert body_matches({"items": {"sku": "b", "qty": 2}}, event)
    assert not body_matches({"items": {"sku": "a", "qty": 2}}, event)
    assert body_matches({"items.sku": "a", "items.qty": 2}, event)  # two paths: each on its own


def test_an_array_in_the_filter_means_the_event_contains_all_of_it() -> None:
    event = {"tags": ["gift", "something", "another"], "items": [{"id": 1}, {"id": 2}]}
    assert body_matches({"tags": ["gift", "another"]}, event)
    assert not body_matches({"tags": ["gift", "nope"]}, event)
    assert body_matches({"tags": []}, event)
    assert not body_matches({"tags": ["gift"]}, {"tags": "gift"})  # not an array
    assert body_matches({"items": [{"id": 2}, {"id": 1}]}, event)
    assert body_matches({"amounts": [{"$gt": 10}, {"$lt": 0}]}, {"amounts": [-1, 20]})


def test_neq_and_nin_on_an_array_mean_no_element() -> None:
    event = {"tags": ["a", "b"]}
    assert not body_matches({"tags": {"$neq": "a"}}, event)
    assert body_matches({"tags": {"$neq": "c"}}, event)
    assert not body_matches({"tags": {"$nin": ["a", "z"]}}, event)
    assert body_matches({"tags": {"$nin": ["y", "z"]}}, event)


def test_an_empty_array_has_no_field_and_no_element() -> None:
    assert body_matches({"items": {"sku": {"$exist": False}}}, {"items": []})
    assert not body_matches({"items": {"sku": "a"}}, {"items": []})
    assert not body_matches({"items": "a"}, {"items": []})


# -- missing fields --------------------------------------------------------------------------------------

OPERATORS_ON_MISSING = [
    ("a", False),
    (None, False),
    ({"$eq": None}, False),
    ({"$neq": "a"}, False),  # Hookdeck: a missing field declines $neq
    ({"$gt": 0}, False),
    ({"$lte": "z"}, False),
    ({"$in": ["a"]}, False),
    ({"$nin": ["a"]}, False),  # likewise $nin
    ({"$startsWith": "a"}, False),
    ({"$endsWith": "a"}, False),
    ({"$contains": "a"}, False),
    ({"$regex": ".*"}, False),
    ({"$exist": True}, False),
    ({"$exist": False}, True),
    ({"$not": {"$eq": "a"}}, True),
    ({"b": 1}, False),
    ({"b": {"$exist": False}}, True),  # a path through a missing value is missing
    ({}, False),
    (["a"], False),
]


@pytest.mark.parametrize(("spec", "matched"), OPERATORS_ON_MISSING)
def test_a_missing_field_declines_all_but_exist_false_and_not(spec: object, matched: bool) -> None:
    assert body_matches({"field": spec}, {"other": 1}) is matched
    if not matched:
        assert reason({"body": {"field": spec}}, {"other": 1}).startswith("body.field")


def test_a_path_through_a_scalar_or_null_is_missing() -> None:
    assert not body_matches({"a.b": 1}, {"a": 1})
    assert not body_matches({"a": {"b": 1}}, {"a": None})
    assert body_matches({"a.b": {"$exist": False}}, {"a": "text"})
    assert reason({"body": {"a.b": 1}}, {"a": 1}) == "body.a.b: missing"
