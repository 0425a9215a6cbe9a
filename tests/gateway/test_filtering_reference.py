"""Hookdeck's and Convoy's own examples, from their documentation and their engines' tests, and
where hookgate departs from them on purpose."""

from __future__ import annotations

import json

import pytest

from gateway.config.filtering import FilterError, compile_filter
from tests.gateway.filter_checks import body_matches, check

# -- Hookdeck's documentation ----------------------------------------------------------------------------
# https://hookdeck.com/docs/filters ("Filters syntax": the events each filter lets through).


@pytest.mark.parametrize(
    ("event", "spec"),
    [
        pytest.param(False, False, id="single value match"),
        pytest.param(
            {"type": "order/created", "order": {"id": 123}},
            {"type": "order/created"},
            id="simple primitive match",
        ),
        pytest.param(
            {"product": {"title": "A product", "inventory": 0}},
            {"product": {"inventory": 0}},
            id="nested object match",
        ),
        pytest.param(
            {"order": {"id": 123, "items": [{"id": 456, "title": "My product"}]}},
            {"order": {"items": {"id": 456}}},
            id="nested object match, also valid",
        ),
        pytest.param(
            {"product": {"title": "Gift Card", "tags": ["gift", "something"]}},
            {"product": {"tags": "gift"}},
            id="array contains match",
        ),
        pytest.param(
            {"product": {"title": "Gift Card", "tags": ["gift", "something", "another"]}},
            {"product": {"tags": ["gift", "something"]}},
            id="array contains (multiple) match",
        ),
    ],
)
def test_hookdeck_documentation_examples(event: object, spec: object) -> None:
    assert body_matches(spec, event)


def test_hookdeck_documentation_non_object_match_on_the_path() -> None:
    # https://hookdeck.com/docs/filters: "to set a filter on a path, simply consider the string to be
    # at the root of your filter"
    assert check({"path": "/test"}, {}, path="/test").matched
    assert not check({"path": "/test"}, {}, path="/test2").matched


# Hookdeck's filter engine ("designed to be used within hookdeck.com filtering engine") and its README:
# https://github.com/hookdeck/simple-json-match#readme; the $lte example is also in Hookdeck's earlier docs,
# https://github.com/hookdeck/product-docs/blob/main/docs/connection-filters.md ("Operators").
def test_hookdeck_engine_readme_examples() -> None:
    product = {"product": {"title": "A product", "inventory": 5}}
    assert body_matches({"product": {"inventory": {"$lte": 10}}}, product)
    assert body_matches({"product": {"inventory": {"$or": [1, 5]}}}, product)
    assert not body_matches({"$or": [{"hello": "johny"}, {"hello": "mark"}]}, {"hello": "world"})
    assert body_matches({"old_inventory": {"$exist": False}}, {"inventory": 0})
    assert body_matches({"$not": {"inventory": 1}}, {"inventory": 0})
    assert body_matches({"id": 123}, {"id": 123, "title": "A product"})
    assert body_matches(True, True) and not body_matches(False, True)
    assert not body_matches({"test": False}, {"test": True})


# Hookdeck's engine's own test table, every case without $ref (hookdeck/simple-json-match,
# src/tests/index.test.ts): https://github.com/hookdeck/simple-json-match/blob/main/src/tests/index.test.ts
# Three cases are left out here and asserted below, where hookgate decides otherwise on purpose.
# As JSON, one [event, filter, matched] per case, the way the engine's table reads.
HOOKDECK_ENGINE_CASES = json.loads(
    """
[
    [{"type": "created"}, {"type": "created"}, true],
    [{}, {"type": "created"}, false],
    [{"type": "updated"}, {"type": "created"}, false],
    [{"type": 1}, {"type": "created"}, false],
    [{"type": 1}, {"type": 1}, true],
    [{"count": 1, "type": "created"}, {"count": 1}, true],
    [{"count": 1, "type": "created"}, {"count": 1, "type": "created"}, true],
    [{"count": 1}, {"count": 1, "type": "created"}, false],
    [{"count": 0}, {"count": {"$lt": 1}}, true],
    [{"count": 2}, {"count": {"$lt": 1}}, false],
    [{"count": 2}, {"count": {"$eq": 2}}, true],
    [{"count": 2}, {"count": {"$neq": 2}}, false],
    [{"count": 2}, {"count": {"$gt": 1, "$lt": 3}}, true],
    [{"count": 4}, {"count": {"$gt": 1, "$lt": 3}}, false],
    [{"title": "a"}, {"title": {"$gt": "b"}}, false],
    [{"title": "c"}, {"title": {"$gt": "b"}}, true],
    [{"type": "created"}, {"type": {"$neq": "created"}}, false],
    [{"type": "created"}, {"type": {"$eq": "created"}}, true],
    [{"type": {"something": "created"}}, {"type": {"something": "created"}}, true],
    [{"type": {"something": "created"}}, {"type": {"something": "updated"}}, false],
    [{"type": {"something": "created"}}, {"type": 1}, false],
    [{"tags": ["test", "other"]}, {"tags": "test"}, true],
    [{"tags": ["test", "other"]}, {"tags": "nope"}, false],
    [{"items": [{"sku": "test"}]}, {"items": {"sku": "test"}}, true],
    [{"items": [{"sku": "test"}]}, {"items": {"sku": "1"}}, false],
    [{"items": [{"inventory": 9}, {"inventory": 11}]}, {"items": {"inventory": {"$lte": 10}}}, true],
    [{"items": [{"inventory": 12}, {"inventory": 11}]}, {"items": {"inventory": {"$lte": 10}}}, false],
    [{"tags": ["test", "other", "more"]}, {"tags": ["test", "other"]}, true],
    [{"tags": ["test", "other", "more"]}, {"tags": ["test", "whatever"]}, false],
    [{"tags": ["test", "other"]}, {"tags": {"$eq": ["test", "other"]}}, true],
    [{"tags": ["test", "other", "more"]}, {"tags": {"$eq": ["test", "other"]}}, false],
    [[1, 2, 3], 3, true],
    [[1, 2, 3], 4, false],
    [[1, 2, 3], [{"$eq": 3}], true],
    [[1, 2, 3], [{"$eq": 4}], false],
    [{"exist": true}, {"exist": true}, true],
    [{"exist": true}, {"exist": false}, false],
    [{"exist": null}, {"exist": null}, true],
    [{"exist": null}, {"exist": false}, false],
    [{"exist": null}, {"exist": {"$eq": null}}, true],
    [{"exist": null}, {"exist": {"$neq": null}}, false],
    ["created", "created", true],
    [1, 2, false],
    [10, {"$gte": 5}, true],
    [{"test": true}, true, false],
    [{"test": "some-text"}, {"test": {"$startsWith": "some"}}, true],
    [{"test": "some-text"}, {"test": {"$endsWith": "some"}}, false],
    [{"test": "some-text"}, {"test": {"$endsWith": "text"}}, true],
    [{"test": "some-text"}, {"test": {"something": "text"}}, false],
    [{"test": {"more": true}}, {"test": {"$startsWith": "text"}}, false],
    [{"test": "some-text"}, {"test": {"$startsWith": ["some", "else"]}}, true],
    [{"test": "some-text"}, {"test": {"$startsWith": ["something", "else"]}}, false],
    [{"test": "some-text"}, {"test": {"$endsWith": ["some", "else"]}}, false],
    [{"test": "some-text"}, {"test": {"$endsWith": ["text", "else"]}}, true],
    [{"test": "some-text", "id": 123}, {"test": {"$in": "text"}, "id": {"$in": [123, 456]}}, true],
    [{"test": "some-text", "id": 123}, {"test": {"$in": ["some-text", "other-text"]}, "id": {"$in": [123,
      456]}}, true],
    [{"test": "some-text", "id": 123}, {"test": {"$in": ["some", "text"]}, "id": {"$nin": [123, 456]}},
      false],
    [{"test": "some-text"}, {"test": {"$in": "text"}}, true],
    [{"test": "some-text"}, {"test": {"$nin": "some"}}, false],
    [{"tags": ["test", "something"]}, {"tags": {"$nin": "test"}}, false],
    [{"test": true}, {"$or": [{"test": true}]}, true],
    [{"test": true}, {"$or": [{"test": false}]}, false],
    [{"test": {"something": "else"}}, {"test": {"$or": [{"something": true},
      {"something": {"$in": "else"}}]}}, true],
    [{"test": {"something": "else"}}, {"test": {"$or": [{"something": true},
      {"something": {"$in": "no"}}]}}, false],
    [1, {"$or": [1, 2]}, true],
    [1, {"$or": [2, 3]}, false],
    [{"test": true}, {"$and": [{"test": true}]}, true],
    [{"test": true}, {"$or": [{"test": false}]}, false],
    [{"test": {"something": "else"}}, {"test": {"$and": [{"something": {"$neq": null}},
      {"something": {"$in": "else"}}]}}, true],
    [{"test": {"something": null}}, {"test": {"$and": [{"something": {"$neq": null}},
      {"something": {"$in": "else"}}]}}, false],
    [1, {"$and": [1, 2]}, false],
    [{"test": "else"}, {"test": {"$exist": true}}, true],
    [{"test": "else"}, {"test": {"$exist": false}}, false],
    [{"test1": "else"}, {"test": {"$exist": true}}, false],
    [{"test1": "else"}, {"test": {"$exist": false}}, true],
    ["/test", "/test", true],
    ["/test", "/test2", false],
    [1, 1, true],
    [1, 2, false],
    [{"test": {"test1": "else"}}, {"test": {"test1": {"$exist": true, "$or": ["else", "not"]}}}, true],
    [{"test": {"test1": "else1"}}, {"test": {"test1": {"$exist": true, "$or": ["else", "not"]}}}, false],
    [{"test": {"test1": "else"}}, {"test": {"test1": {"$exist": true, "$in": "el"}}}, true],
    [{"test": {"test1": "else"}}, {"test": {"test1": {"$exist": true, "$in": "no"}}}, false],
    [{"test": {"test1": "else", "test2": "not"}}, {"test": {"test1": {"$exist": true, "$or": ["else",
      "not"]}, "$and": [{"test1": "else"}, {"test2": "not"}]}}, true],
    [{"test": {"test1": "else", "test2": "not"}}, {"test": {"test1": {"$exist": true, "$or": ["else1",
      "not1"]}, "$and": [{"test1": "else1"}, {"test2": "not1"}]}}, false],
    [{"test": {"test1": {"test2": "else"}}}, {"test": {"test1": {"test2": {"$exist": true}}}}, true],
    [{"test": {"test1": {"test2": "else"}}}, {"test": {"test1": {"test2": {"$exist": false}}}}, false],
    [{"test": {"test1": {"test3": "else"}}}, {"test": {"test1": {"test2": {"$exist": false}}}}, true],
    [{"test": {"test1": {"test3": "else"}}}, {"test": {"test1": {"test2": {"$exist": true}}}}, false],
    [{"test": {"test1": "else"}}, {"$or": [{"test": {"test1": {"$exist": true}}},
      {"test": {"test1": "else1"}}]}, true],
    [{"test": {"test1": "else"}}, {"$or": [{"test": {"test1": {"$exist": false}}},
      {"test": {"test1": "else"}}]}, true],
    [{"test": {"test2": "else"}}, {"$or": [{"test": {"test1": {"$exist": true}}},
      {"test": {"test2": "else"}}]}, true],
    [{"test": {"test2": "else"}}, {"$or": [{"test": {"test1": {"$exist": true}}},
      {"test": {"test2": "else1"}}]}, false],
    [{"test": {"test1": "else", "test2": "not"}}, {"$or": [{"test": {"test1": {"$exist": true}}},
      {"test": {"test2": "else1"}}]}, true],
    [{"test": {"test1": "else", "test2": "not"}}, {"$and": [{"test": {"test1": {"$exist": true}}},
      {"test": {"test2": "not"}}]}, true],
    [{"test": {"test1": "else", "test2": "not"}}, {"$and": [{"test": {"test1": {"$exist": true}}},
      {"test": {"test2": "not1"}}]}, false],
    [{"test": {"test1": "else", "test2": "not"}}, {"$and": [{"test": {"test1": {"$exist": true}}},
      {"test": {"test1": "else"}}]}, true],
    [{"test": {"test1": "else", "test2": "not"}}, {"$and": [{"test": {"test1": {"$exist": true}}},
      {"test": {"test1": "else1"}}]}, false],
    [{"test": {"test1": "else", "test2": "not"}}, {"$and": [{"test": {"test1": {"$exist": true,
      "$eq": "else"}}}]}, true],
    [{"test": {"test2": "not"}}, {"$and": [{"test": {"test1": {"$exist": true, "$eq": "not"}}}]}, false],
    [{"test": {"test1": "else", "test2": "not"}}, {"$and": [{"test": {"test1": {"$exist": true}}},
      {"test": {"test2": {"$exist": true}}}]}, true],
    [{"test": {"test1": "else", "test2": "not"}}, {"$and": [{"test": {"test1": {"$exist": true}}},
      {"test": {"test2": {"$exist": false}}}]}, false],
    [{"test": {"test1": "else"}}, {"$and": [{"test": {"test1": {"$exist": true}}},
      {"test": {"test2": {"$exist": false}}}]}, true],
    [{"test": {"test1": "else"}}, {"$or": [{"test": {"test1": {"$exist": true}}},
      {"test": {"test2": {"$exist": false}}}]}, true],
    [{"test": {"test3": "else"}}, {"$or": [{"test": {"test1": {"$exist": true}}},
      {"test": {"test2": {"$exist": false}}}]}, true]
]
"""
)
HOOKDECK_ENGINE_NOT_CASES = json.loads(
    """
[
    [{"test": {"test1": "else", "test2": "not"}}, {"$not": {"test": {"test1": "else2"}},
      "$and": [{"test": {"test1": "else"}}, {"test": {"test2": "not"}}]}, true],
    [{"test": {"test1": "else", "test2": "not"}}, {"$not": {"test": {"test1": "else"}},
      "$and": [{"test": {"test1": "else"}}, {"test": {"test2": "not"}}]}, false],
    [{"test": {"test1": "else", "test2": "not"}}, {"$not": {"test": {"test1": {"$exist": true}}},
      "$and": [{"test": {"test1": "else"}}, {"test": {"test2": "not"}}]}, false],
    [{"test": {"test1": "else", "test2": "not"}}, {"$not": {"test": {"test1": {"$exist": false}}},
      "$and": [{"test": {"test1": "else"}}, {"test": {"test2": "not"}}]}, true],
    [{"test": {"test1": "else", "test2": "not"}}, {"$not": {"test": {"test1": {"$exist": false}}},
      "$and": [{"test": {"test3": {"$exist": false}}}, {"test": {"test2": "not"}}]}, true],
    [{"test": {"test1": "else", "test2": "not"}}, {"$not": {"test": {"test1": {"$exist": false}}},
      "$and": [{"test": {"test3": {"$exist": true}}}, {"test": {"test2": "not"}}]}, false],
    [{"test": {"test1": "else", "test2": "not"}}, {"$not": {"test": {"test1": "else2"}},
      "$or": [{"test": {"test3": {"$exist": true}}}, {"test": {"test2": "not"}}]}, true],
    [{"test": {"test1": "else", "test2": "not"}}, {"$not": {"test": {"test1": "else"}},
      "$or": [{"test": {"test3": {"$exist": true}}}, {"test": {"test2": "not"}}]}, false],
    [{"test": {"test1": "else", "test2": "not"}}, {"$not": {"test": {"test1": "else"}},
      "$or": [{"test": {"test3": {"$exist": false}}}, {"test": {"test2": "not"}}]}, false],
    [{"test": {"test1": "else", "test2": "not"}}, {"$not": {"test": {"test1": "else"}},
      "$or": [{"test": {"test3": {"$exist": false}}}, {"test": {"test2": "not2"}}]}, false],
    [{"test": {"test1": "else", "test2": "not"}}, {"$not": {"test": {"test1": "else2"}},
      "$or": [{"test": {"test3": {"$exist": true}}}, {"test": {"test2": "not2"}}]}, false],
    [{"test": {"test1": "else", "test2": "not"}}, {"$not": {"test": {"test1": "else2"}},
      "$or": [{"test": {"test3": {"$exist": false}}}, {"test": {"test2": "not"}}]}, true]
]
"""
)


@pytest.mark.parametrize(("event", "spec", "matched"), HOOKDECK_ENGINE_CASES)
def test_hookdeck_engine_cases(event: object, spec: object, matched: bool) -> None:
    assert body_matches(spec, event) is matched
    if isinstance(spec, dict):  # the engine's tests also check every case under $not
        assert body_matches({"$not": spec}, event) is not matched


@pytest.mark.parametrize(("event", "spec", "matched"), HOOKDECK_ENGINE_NOT_CASES)
def test_hookdeck_engine_not_cases(event: object, spec: object, matched: bool) -> None:
    assert body_matches(spec, event) is matched


def test_where_hookgate_departs_from_hookdecks_engine() -> None:
    # An operator on an array tests its elements (the engine tests the whole array: false).
    assert body_matches({"$eq": 3}, [1, 2, 3])
    # A wrong operand stops the config loading (the engine declines every event instead).
    with pytest.raises(FilterError, match=r"body.test.\$gt: expected a number or a string, got a list"):
        compile_filter({"body": {"test": {"$gt": [1, 2, 3]}}})
    # An empty body section is no condition, as in Convoy (the engine wants an object: 1 declines).
    assert body_matches({}, 1)


# -- Convoy's documentation and tests --------------------------------------------------------------------
# https://docs.getconvoy.io/product-manual/filters (the filters; the events are ours, one each way).

CONVOY_DOCUMENTED = [
    pytest.param(
        {"event_type": "created"}, {"event_type": "created"}, {"event_type": "deleted"}, id="direct"
    ),
    pytest.param(
        {"event": {"type": "created"}},
        {"event": {"type": "created", "id": 1}},
        {"event": {"type": "x"}},
        id="nested",
    ),
    pytest.param(
        {"dish": {"ingredients": "rice"}},
        {"dish": {"ingredients": ["beans", "rice"]}},
        {"dish": {"ingredients": ["beans"]}},
        id="array contains",
    ),
    pytest.param({"event": {"$neq": "created"}}, {"event": "deleted"}, {"event": "created"}, id="$neq"),
    pytest.param(
        {"$or": [{"cities": "london"}, {"type": "weekly"}]},
        {"cities": ["paris"], "type": "weekly"},
        {"cities": ["paris"], "type": "daily"},
        id="$or",
    ),
    pytest.param(
        {"$and": [{"age": {"$gte": 10}}, {"$or": [{"type": "weekly"}, {"cities": "lagos"}]}]},
        {"age": 10, "type": "daily", "cities": ["lagos"]},
        {"age": 9, "type": "weekly", "cities": ["lagos"]},
        id="$and",
    ),
    pytest.param(
        {"operation": {"$in": ["created", "deleted"]}},
        {"operation": "deleted"},
        {"operation": "updated"},
        id="$in",
    ),
    pytest.param(
        {"operation": {"$nin": ["updated", "truncated"]}},
        {"operation": "created"},
        {"operation": "truncated"},
        id="$nin",
    ),
    pytest.param({"age": {"$gt": 1}}, {"age": 2}, {"age": 1}, id="numeric"),
    pytest.param(
        {"$.venues.$.lagos": "lekki"},
        [{"event": "meetup"}, {"venues": [{"lagos": ["ikeja", "lekki"]}, {"ibadan": ["bodija"]}]}],
        [{"event": "meetup"}, {"venues": [{"lagos": ["ikeja"]}, {"ibadan": ["lekki"]}]}],
        id="array positional",
    ),
    pytest.param(
        {"event_type": {"$regex": "^es_[a-zA-Z]+$"}},
        {"event_type": "es_qwerty"},
        {"event_type": "es_1"},
        id="regex",
    ),
]


@pytest.mark.parametrize(("spec", "matching", "declined"), CONVOY_DOCUMENTED)
def test_convoy_documentation_examples(spec: object, matching: object, declined: object) -> None:
    assert body_matches(spec, matching)
    assert not body_matches(spec, declined)


def test_convoy_documentation_filter_scopes() -> None:
    # https://docs.getconvoy.io/product-manual/filters, "Filter scopes"
    spec = {
        "body": {"event_type": "order.created"},
        "headers": {"x-source": "billing"},
        "query": {"region": "eu"},
        "path": {"path": "/v2/orders"},
    }
    request = {"headers": [("X-Source", "billing")], "query": "region=eu", "path": "/v2/orders"}
    assert check(spec, {"event_type": "order.created"}, **request).matched
    assert not check(spec, {"event_type": "order.created"}, **{**request, "query": "region=us"}).matched


# Convoy's matcher tests: https://github.com/frain-dev/convoy/blob/main/pkg/compare/compare_test.go
CONVOY_WEEKLY = {
    "cities": ["lagos", "ibadan", "agodi"],
    "type": "weekly",
    "temperatures": [30, 12, 39.9, 10],
    "person": {"age": 12},
}
CONVOY_MEETUP = {
    "data": [
        {"event": "meetup"},
        {"venue": "test"},
        {"speakers": [{"name": "raymond"}, {"name": "subomi"}]},
    ],
    "swag": "hoodies",
}
CONVOY_VENUES = [
    {"event": "meetup"},
    {"venues": [{"lagos": ["ikeja", "lekki", "ifako"]}, {"ibadan": ["bodija", "dugbe"]}]},
    {"speakers": [{"name": "raymond"}, {"name": "subomi"}]},
]
URL_PATTERN = (
    r"^(?P<scheme>[^:\/?#]+):(?:\/\/)?(?:(?:(?P<login>[^:]+)(?::(?P<password>[^@]+)?)?@)?(?P<host>[^@\/?#:]*)"
    r"(?::(?P<port>\d+)?)?)?(?P<path>[^?#]*)(?:\?(?P<query>[^#]*))?(?:#(?P<fragment>.*))?"
)


@pytest.mark.parametrize(
    ("event", "spec", "matched"),
    [
        ({"event": "qwerty"}, {"event": {"$regex": "^[a-zA-Z]+$"}}, True),
        ({"event": "cs_qwerty"}, {"event": {"$regex": "^cs_[a-zA-Z]+$"}}, True),
        (
            {"event": "https://admin:admin@registry/eureka/apps?status=UP"},
            {"event": {"$regex": URL_PATTERN}},
            True,
        ),
        ({"person": {"age": 5}}, {"person": {"age": 5}}, True),
        ({"person": {"age": 5}}, {"person": {"age": {"$eq": 5}}}, True),
        ({"person": {"name": "tunde"}}, {"person": {"name": {"$eq": "tunde"}}}, True),
        ({"person": {"age": 5}}, {"person": {"age": {"$neq": 5}}}, False),
        ({"person": {"age": 11}}, {"person": {"age": {"$neq": 5}}}, True),
        ({"person": {"age": 11}}, {"person": {"age": {"$lt": 15}}}, True),
        ({"person": {"age": 11}}, {"person": {"age": {"$lt": 5}}}, False),
        ({"person": {"age": 11}}, {"person": {"age": {"$gt": 5}}}, True),
        ({"person": {"age": 11}}, {"person": {"age": {"$gt": 50}}}, False),
        ({"person": {"name": "raymond"}}, {"person": {"name": {"$in": ["subomi", "daniel"]}}}, False),
        ({"person": {"name": "subomi"}}, {"person": {"name": {"$in": ["subomi", "daniel"]}}}, True),
        ({"person": {"name": "raymond"}}, {"person": {"name": {"$nin": ["subomi", "daniel"]}}}, True),
        ({"person": {"name": "subomi"}}, {"person": {"name": {"$nin": ["subomi", "daniel"]}}}, False),
        ({"person": {"name": ["subomi", "daniel"]}}, {"person": {"name": "subomi"}}, True),
        ({"person": {"name": ["subomi", "daniel"]}}, {"person": {"name": "raymond"}}, False),
        (
            CONVOY_WEEKLY,
            {"$and": [{"person.age": {"$gte": 10}}, {"type": "weekly"}, {"cities": "lagos"}]},
            True,
        ),
        (CONVOY_WEEKLY, {"$or": [{"type": "monthly"}, {"cities": "lagos"}]}, True),
        (
            CONVOY_WEEKLY,
            {"$and": [{"person.age": {"$gte": 10}}, {"$or": [{"type": "weekly"}, {"cities": "x"}]}]},
            True,
        ),
        (CONVOY_WEEKLY, {"person": {"age": {"$exist": True}}}, True),
        ({"data": [{"values": [True]}]}, {"data.$.values": True}, True),
        (CONVOY_VENUES, {"$.venues.$.lagos": "ikeja"}, True),
        (
            {**CONVOY_MEETUP, "data": CONVOY_MEETUP["data"][:2]},
            {"data.$.event": "meetup", "data.$.venue": "test"},
            True,
        ),
        (CONVOY_MEETUP, {"data.$.speakers.$.name": "raymond", "swag": "hoodies"}, True),
        ({}, {}, True),
        ({}, {"key": "value"}, False),
        ([], {"key": "value"}, False),
        (CONVOY_VENUES, {"$or": [{"$.venues.$.lagos": "ifako"}, {"$.venues.$.ibadan": "dugbe"}]}, True),
    ],
)
def test_convoy_matcher_cases(event: object, spec: object, matched: bool) -> None:
    assert body_matches(spec, event) is matched


def test_convoy_rejects_a_trailing_dollar_and_so_do_we() -> None:
    # Convoy: ErrTrailingDollarOpNotAllowed for "data.$.venue.$"
    with pytest.raises(FilterError, match="cannot end with"):
        compile_filter({"body": {"data.$.venue.$": "test"}})
