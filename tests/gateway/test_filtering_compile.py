"""Filters are checked when the config loads: each mistake names the clause at fault; the shapes
Python and TOML hand over compile."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config.filtering import FilterError, Request, compile_filter


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"body": {"data": {"object": {"amount_paid": {"$gte": [1]}}}}},
            "body.data.object.amount_paid.$gte: expected a number or a string, got a list",
        ),
        ({"headers": {"$foo": "x"}}, "headers.$foo: unknown operator $foo"),
        (
            {"body": {"a": {"$exists": True}}},
            "body.a.$exists: unknown operator $exists (did you mean $exist?)",
        ),
        ({"body": {"a": {"$ne": 1}}}, "body.a.$ne: unknown operator $ne (did you mean $neq?)"),
        ({"body": {"a": {"$ref": "b"}}}, "body.a.$ref: unknown operator $ref"),
        ({"bdy": {"a": 1}}, "bdy: unknown section (expected body, headers, query or path)"),
        (
            {"body": {"a": {"$in": 5}}},
            "body.a.$in: expected a list of values (or a string it contains), got a number",
        ),
        (
            {"body": {"a": {"$regex": "("}}},
            "body.a.$regex: not a valid pattern: missing ), unterminated subpattern",
        ),
        ({"body": {"a": {"$regex": 1}}}, "body.a.$regex: expected a pattern (a string), got a number"),
        ({"body": {"a": {"$exist": "yes"}}}, "body.a.$exist: expected true or false, got a string"),
        ({"body": {"a": {"$exist": 1}}}, "body.a.$exist: expected true or false, got a number"),
        ({"body": {"$or": []}}, "body.$or: expected a non-empty list of filters, got an empty list"),
        ({"body": {"$and": {"a": 1}}}, "body.$and: expected a non-empty list of filters, got an object"),
        ({"body": {"$not": [{"a": 1}]}}, "body.$not: expected an object, got a list"),
        (
            {"body": {"$or": [{"a": {"$gt": None}}]}},
            "body.$or[0].a.$gt: expected a number or a string, got null",
        ),
        ({"body": {"a": {"$gt": True}}}, "body.a.$gt: expected a number or a string, got a boolean"),
        ({"body": {"a": {"$gt": float("nan")}}}, "body.a.$gt: expected a finite number, got nan"),
        ({"body": {"a": float("inf")}}, "body.a: expected a finite number, got inf"),
        ({"body": {"a": {"$startsWith": []}}}, "body.a.$startsWith: expected a string or a non-empty list"),
        ({"body": {"a": {"$endsWith": ["x", 1]}}}, "body.a.$endsWith: expected a string or a non-empty list"),
        ({"body": {"a": {"$contains": {"b": 1}}}}, "body.a.$contains: expected a string, a number"),
        ({"body": {"a..b": 1}}, "body.a..b: bad path: empty segment"),
        ({"body": {".a": 1}}, "body..a: bad path: empty segment"),
        ({"body": {"data.$": 1}}, "body.data.$: bad path: it cannot end with $"),
        ({"body": {"a": {"b": {"$in": [1, {2, 3}]}}}}, "body.a.b.$in[1]: expected a JSON value, got a set"),
        ({"headers": {"x-a": {"b": 1}}}, "headers.x-a.b: a header value has no fields"),
        ({"headers": ["x-a"]}, "headers: expected an object of names, got a list"),
        ({"headers": {"$or": ["push"]}}, "headers.$or[0]: expected an object of names, got a string"),
        ({"query": {"a": {"b": 1}}}, "query.a.b: a query value has no fields"),
        ({"path": {"$foo": "/"}}, "path.$foo: unknown operator $foo"),
        ({"path": {"segment": "/"}}, "path.segment: the path has no fields"),
        ({"path": 5}, "path: expected a string or an object of operators, got a number"),
        ({"body": {1: "a"}}, "body: keys must be strings, got a number"),
    ],
)
def test_errors_at_load_name_the_clause(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter(spec)
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(caught.value.location + ": ")


def test_a_filter_must_be_a_mapping_and_not_absurdly_deep() -> None:
    with pytest.raises(FilterError, match=r"^filter: expected an object"):
        compile_filter(["body"])  # type: ignore[arg-type]
    deep: dict[str, Any] = {"a": 1}
    for _ in range(5000):
        deep = {"a": deep}
    with pytest.raises(FilterError, match="nested too deeply"):
        compile_filter({"body": deep})


def test_enum_members_in_a_python_filter_stand_for_their_values() -> None:
    import enum

    class Kind(enum.StrEnum):
        PUSH = "push"

    class Level(enum.IntEnum):
        HIGH = 3

    spec = {"body": {"kind": Kind.PUSH, "level": {"$gte": Level.HIGH}, "tags": {"$contains": Kind.PUSH}}}
    assert compile_filter(spec).check(Request(b'{"kind": "push", "level": 3, "tags": ["push"]}', [])).matched


def test_toml_shapes_compile() -> None:
    """What tomllib hands over: tuples are fine, a datetime is not JSON."""
    import datetime

    assert (
        compile_filter({"body": {"tags": ("a", "b"), "t": {"$in": ("x",)}}})
        .check(Request(b'{"tags": ["b", "a", "c"], "t": "x"}', []))
        .matched
    )
    with pytest.raises(FilterError, match=r"^body.at: expected a JSON value, got a datetime"):
        compile_filter({"body": {"at": datetime.datetime(2024, 1, 1)}})
