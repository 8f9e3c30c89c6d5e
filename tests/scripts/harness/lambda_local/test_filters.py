"""Lambda's filter grammar, operator by operator, on SQS records."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scripts.harness.lambda_local import filters


def record(body: Any, **attributes: str) -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    return filters.sqs_view({"messageId": "m1", "body": text, "attributes": attributes})


def criteria(*patterns: dict[str, Any]) -> dict[str, Any]:
    return {"Filters": [{"Pattern": json.dumps(p)} for p in patterns]}


def match(pattern: dict[str, Any], body: Any, **attributes: str) -> bool:
    return filters.matches_any(filters.parse(criteria(pattern)), record(body, **attributes))


USER = {"kind": "signup", "email": "ann@example.com", "age": 31, "tags": ["a", "b"], "x": None}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"body": {"kind": ["signup"]}}, True),
        ({"body": {"kind": ["update", "signup"]}}, True),
        ({"body": {"kind": ["update"]}}, False),
        ({"body": {"age": [31]}}, True),
        ({"body": {"age": [31.0]}}, True),
        ({"body": {"age": ["31"]}}, False),
        ({"body": {"x": [None]}}, True),
        ({"body": {"tags": ["b"]}}, True),
        ({"body": {"tags": ["c"]}}, False),
        ({"body": {"email": [{"prefix": "ann@"}]}}, True),
        ({"body": {"email": [{"prefix": "bob@"}]}}, False),
        ({"body": {"email": [{"suffix": "@example.com"}]}}, True),
        ({"body": {"email": [{"suffix": ".org"}]}}, False),
        ({"body": {"kind": [{"anything-but": ["update", "delete"]}]}}, True),
        ({"body": {"kind": [{"anything-but": "signup"}]}}, False),
        ({"body": {"missing": [{"anything-but": "signup"}]}}, False),
        ({"body": {"age": [{"numeric": [">", 30, "<=", 31]}]}}, True),
        ({"body": {"age": [{"numeric": ["=", 31]}]}}, True),
        ({"body": {"age": [{"numeric": ["<", 31]}]}}, False),
        ({"body": {"kind": [{"numeric": [">", 0]}]}}, False),
        ({"body": {"email": [{"exists": True}]}}, True),
        ({"body": {"phone": [{"exists": False}]}}, True),
        ({"body": {"email": [{"exists": False}]}}, False),
        ({"body": {"kind": [{"equals-ignore-case": "SIGNUP"}]}}, True),
        ({"body": {"kind": [{"equals-ignore-case": "update"}]}}, False),
        ({"body": {"kind": ["signup"], "age": [{"numeric": [">", 40]}]}}, False),
        ({"$or": [{"body": {"kind": ["update"]}}, {"body": {"age": [31]}}]}, True),
        ({"$or": [{"body": {"kind": ["update"]}}, {"body": {"age": [30]}}]}, False),
        ({"attributes": {"ApproximateReceiveCount": ["1"]}}, True),
    ],
)
def test_operator(pattern: dict[str, Any], expected: bool) -> None:
    assert match(pattern, USER, ApproximateReceiveCount="1") is expected


def test_any_filter_of_the_criteria_admits_the_record() -> None:
    patterns = filters.parse(
        criteria({"body": {"kind": ["update"]}}, {"body": {"kind": ["signup"]}})
    )
    assert filters.matches_any(patterns, record(USER))
    assert not filters.matches_any(patterns, record({"kind": "delete"}))


def test_no_criteria_admits_everything() -> None:
    assert filters.matches_any(filters.parse(None), record("anything"))
    assert filters.matches_any(filters.parse({"Filters": []}), record("anything"))


def test_plain_string_body_matches_only_as_a_string() -> None:
    assert match({"body": ["hello"]}, "hello")
    assert not match({"body": {"kind": ["signup"]}}, "not json")
    assert not match({"body": {"kind": ["signup"]}}, "[1, 2]")


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        json.dumps(["body"]),
        json.dumps({"body": "signup"}),
        json.dumps({"body": {"kind": []}}),
        json.dumps({"body": {"kind": [{"wildcard": "s*"}]}}),
        json.dumps({"$or": [{"body": {"kind": ["a"]}}]}),
    ],
)
def test_a_pattern_lambda_would_reject_fails_at_start(raw: str) -> None:
    with pytest.raises(filters.FilterError):
        filters.parse({"Filters": [{"Pattern": raw}]})


def test_a_hostile_deeply_nested_body_is_a_plain_string_not_a_crash() -> None:
    body = "[" * 100_000 + "]" * 100_000
    view = record(body)
    assert view["body"] == body
    assert not match({"body": {"kind": ["signup"]}}, body)
