"""The other sections (headers, query, path: names and text), bodies that are not JSON, and one
parse shared between filters."""

from __future__ import annotations

import pytest

from gateway.config.filtering import NOT_JSON, Request, compile_filter, parse_body
from tests.gateway.filter_checks import body_matches, check, reason

# -- headers, query, path --------------------------------------------------------------------------------


def test_header_names_match_case_insensitively_and_values_case_sensitively() -> None:
    headers = [("X-GitHub-Event", "push"), ("Content-Type", "application/json; charset=utf-8")]
    assert check({"headers": {"x-github-event": "push"}}, {}, headers=headers).matched
    assert check({"headers": {"X-GITHUB-EVENT": "push"}}, {}, headers=headers).matched
    assert not check({"headers": {"x-github-event": "Push"}}, {}, headers=headers).matched
    assert check(
        {"headers": {"content-type": {"$startsWith": "application/json"}}}, {}, headers=headers
    ).matched
    assert reason({"headers": {"X-GitHub-Event": "ping"}}, {}, headers=headers) == (
        'headers.x-github-event: "push" is not "ping"'
    )
    assert reason({"headers": {"x-gitlab-event": "Push Hook"}}, {}, headers=headers) == (
        "headers.x-gitlab-event: missing"
    )


def test_a_repeated_header_is_the_list_of_its_values() -> None:
    headers = [("X-Tag", "a"), ("x-tag", "b"), ("Set-Cookie", "s=1")]
    assert check({"headers": {"x-tag": "b"}}, {}, headers=headers).matched
    assert check({"headers": {"x-tag": ["a", "b"]}}, {}, headers=headers).matched
    assert not check({"headers": {"x-tag": {"$nin": ["b"]}}}, {}, headers=headers).matched


def test_headers_queries_and_paths_are_text_a_number_compares_as_one() -> None:
    headers = [("X-Retry-Count", "3"), ("Content-Length", "4143")]
    assert check({"headers": {"x-retry-count": {"$gte": 2}}}, {}, headers=headers).matched
    assert check(
        {"headers": {"x-retry-count": 3, "content-length": {"$lt": 5000}}}, {}, headers=headers
    ).matched
    assert check({"headers": {"x-retry-count": {"$in": [3, 4]}}}, {}, headers=headers).matched
    assert not check({"headers": {"x-retry-count": {"$gt": "4"}}}, {}, headers=headers).matched  # text
    assert check({"query": {"version": {"$gte": 2}}}, {}, query="version=2.5").matched
    assert not check({"query": {"version": {"$gte": 2}}}, {}, query="version=two").matched
    assert not check({"query": {"debug": True}}, {}, query="debug=true").matched  # only numbers


def test_query_one_value_is_a_string_several_a_list() -> None:
    query = "topic=orders%2Fcreate&shop=a.myshopify.com&tag=a&tag=b&empty="
    assert check({"query": {"topic": "orders/create"}}, {}, query=query).matched
    assert check({"query": {"tag": "a"}}, {}, query=query).matched
    assert check({"query": {"tag": ["b", "a"]}}, {}, query=query).matched
    assert check({"query": {"tag": {"$eq": ["a", "b"]}}}, {}, query=query).matched
    assert check({"query": {"empty": ""}}, {}, query=query).matched
    assert check({"query": {"shop.name": {"$exist": False}}}, {}, query=query).matched  # names, not paths
    assert check({"query": {"a.b": "1"}}, {}, query="a.b=1").matched
    assert reason({"query": {"topic": "x"}}, {}, query="") == "query.topic: missing"


def test_path_is_a_string_an_operator_object_or_convoys_form() -> None:
    assert check({"path": "/webhooks/github"}, {}, path="/webhooks/github").matched
    assert not check({"path": "/webhooks/github"}, {}, path="/webhooks/gitlab").matched
    assert check({"path": {"$startsWith": "/webhooks/"}}, {}, path="/webhooks/github").matched
    assert check({"path": {"$regex": "/(github|gitlab)$"}}, {}, path="/webhooks/gitlab").matched
    assert check({"path": {"path": "/v2/orders"}}, {}, path="/v2/orders").matched
    assert check({"path": {"path": {"$endsWith": "/orders"}}}, {}, path="/v2/orders").matched
    assert reason({"path": "/a"}, {}, path="/b") == 'path: "/b" is not "/a"'


def test_every_section_must_match() -> None:
    spec = {"body": {"ref": "refs/heads/main"}, "headers": {"x-github-event": "push"}, "path": "/p"}
    headers = [("X-GitHub-Event", "push")]
    assert check(spec, {"ref": "refs/heads/main"}, headers=headers, path="/p").matched
    assert not check(spec, {"ref": "refs/heads/main"}, headers=headers, path="/q").matched
    assert not check(spec, {"ref": "refs/heads/main"}, headers=[], path="/p").matched


# -- bodies that are not JSON, and one parse shared ------------------------------------------------------


@pytest.mark.parametrize(
    "raw", [b"", b"a=1&b=2", b"<xml/>", b"{", b"\xff\xfe", b"1e400", b"[" * 5000 + b"]" * 5000]
)
def test_a_body_that_is_not_json_matches_only_filters_that_do_not_look_into_it(raw: bytes) -> None:
    assert parse_body(raw) is NOT_JSON
    assert reason({"body": {"a": 1}}, raw) == "body: not JSON"
    assert reason({"body": {"$not": {"a": 1}}}, raw) == "body: not JSON"
    assert check({"headers": {"x": "1"}}, raw, headers=[("X", "1")]).matched
    assert check({}, raw).matched


def test_a_json_body_that_is_not_an_object_is_still_json() -> None:
    assert body_matches(False, False)
    assert body_matches("created", "created")
    assert body_matches({"$gte": 5}, 10)
    assert not body_matches({"a": 1}, [1, 2])
    assert body_matches({"a": 1}, [{"a": 2}, {"a": 1}])


def test_uses_body_and_a_shared_parse() -> None:
    with_body = compile_filter({"body": {"a": 1}, "headers": {"x": "1"}})
    without = compile_filter({"headers": {"x": "1"}, "query": {"q": "1"}})
    assert with_body.uses_body and not without.uses_body
    request = Request(b'{"a": 2}', [("X", "1")])
    assert not with_body.check(request).matched
    assert with_body.check(request, {"a": 1}).matched  # the parse the caller passed wins
    assert with_body.check(request, parse_body(b'{"a": 1}')).matched
    assert with_body.check(request, NOT_JSON).reason == "body: not JSON"
    assert request.parsed_body is request.parsed_body  # parsed once, then kept


def test_odd_python_values_handed_over_as_the_body_decline_without_raising() -> None:
    compiled = compile_filter({"body": {"a": {"$gte": 1}, "b": {"$eq": [1]}, "c": {"$regex": "x"}}})
    request = Request(b"", [])
    for odd in [
        {"a": {1, 2}},
        {"a": 2, "b": (1,)},
        {"a": 2, "b": [1], "c": b"x"},
        object(),
        {"a": float("nan")},
    ]:
        verdict = compiled.check(request, odd)
        assert not verdict.matched and verdict.reason


def test_spec_keeps_the_original_mapping() -> None:
    spec = {"body": {"data.object.amount": {"$gte": 100}}, "path": "/p"}
    assert compile_filter(spec).spec is spec
