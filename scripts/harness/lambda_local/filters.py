"""Lambda's event filtering (FilterCriteria) for the local pollers.

A mapping's FilterCriteria holds up to 5 (SQS) filters, each a JSON pattern; a record is
invoked when ANY filter matches, and an SQS record that matches none is deleted without an
invoke ("Lambda event filtering", AWS Lambda Developer Guide). Patterns use the documented
subset of the EventBridge grammar:

    {"body": {"kind": ["signup"]}}                          exact value (string, number, null)
    {"body": {"email": [{"prefix": "a"}]}}                  prefix / {"suffix": ".png"}
    {"body": {"state": [{"anything-but": ["x", "y"]}]}}     anything-but (value or list)
    {"body": {"age": [{"numeric": [">", 0, "<=", 5]}]}}     numeric ranges and "="
    {"body": {"email": [{"exists": false}]}}                exists
    {"body": {"name": [{"equals-ignore-case": "ann"}]}}     equals-ignore-case
    {"$or": [{"body": {...}}, {"attributes": {...}}]}       OR between sub-patterns

Fields of one pattern must all match (AND), the values of one field are alternatives (OR), and
when the record's field is an array a condition matches if any element does. For SQS the
`body` is matched as JSON when it is a JSON object, and as a plain string otherwise (a JSON
sub-pattern on a plain-string body never matches).
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_MISSING = object()
_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
    ">=": operator.ge,
    ">": operator.gt,
}


class FilterError(ValueError):
    """A pattern this matcher does not understand (Lambda would have rejected it at create)."""


def parse(filter_criteria: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The patterns of a mapping's FilterCriteria, checked so that a typo fails at start-up."""
    patterns = []
    for entry in (filter_criteria or {}).get("Filters") or []:
        try:
            pattern = json.loads(entry["Pattern"])
        except (KeyError, TypeError, ValueError) as err:
            raise FilterError(f"filter pattern is not JSON: {entry!r}") from err
        _check(pattern)
        patterns.append(pattern)
    return patterns


def _check(pattern: Any) -> None:
    if not isinstance(pattern, dict):
        raise FilterError(f"a filter pattern must be an object: {pattern!r}")
    for key, value in pattern.items():
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                raise FilterError("$or needs a list of at least two patterns")
            for alternative in value:
                _check(alternative)
        elif isinstance(value, dict):
            _check(value)
        elif isinstance(value, list) and value:
            for condition in value:
                if isinstance(condition, dict) and (
                    len(condition) != 1 or next(iter(condition)) not in _SCALAR_OPERATORS
                ):
                    raise FilterError(f"unknown filter operator in {key!r}: {condition!r}")
        else:
            raise FilterError(f"{key!r} must be an object or a non-empty array: {value!r}")


def sqs_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """The SQS event record as filters see it: `body` decoded when it is a JSON object."""
    view = dict(record)
    try:
        body = json.loads(record.get("body", ""))
    except (ValueError, RecursionError):  # hostile nesting is not JSON Lambda could filter on
        return view
    if isinstance(body, dict):
        view["body"] = body
    return view


def matches_any(patterns: Sequence[Mapping[str, Any]], record: Mapping[str, Any]) -> bool:
    """True when there are no patterns or at least one matches."""
    return not patterns or any(matches(pattern, record) for pattern in patterns)


def matches(pattern: Mapping[str, Any], data: Any) -> bool:
    """Whether `data` (an event record, already in its filter view) matches one pattern."""
    for key, expected in pattern.items():
        if key == "$or":
            if not any(matches(alternative, data) for alternative in expected):
                return False
            continue
        value = data.get(key, _MISSING) if isinstance(data, Mapping) else _MISSING
        if isinstance(expected, Mapping):
            if not isinstance(value, Mapping) or not matches(expected, value):
                return False
        elif not any(_condition(condition, value) for condition in expected):
            return False
    return True


def _condition(condition: Any, value: Any) -> bool:
    """One alternative of a field's list against the record's value."""
    if isinstance(condition, Mapping):
        ((name, argument),) = condition.items()
        if name == "exists":
            return (value is not _MISSING) == bool(argument)
    if value is _MISSING:
        return False
    if isinstance(value, list):
        return any(_scalar(condition, element) for element in value)
    return _scalar(condition, value)


def _scalar(condition: Any, value: Any) -> bool:
    if not isinstance(condition, Mapping):
        return _equal(condition, value)
    ((name, argument),) = condition.items()
    return _SCALAR_OPERATORS[name](argument, value)


def _anything_but(argument: Any, value: Any) -> bool:
    excluded = argument if isinstance(argument, list) else [argument]
    return not any(_equal(item, value) for item in excluded)


def _equal(expected: Any, value: Any) -> bool:
    # JSON numbers compare by value (5 matches 5.0), but a bool is not the number 1.
    if isinstance(expected, bool) or isinstance(value, bool):
        return expected is value
    if _is_number(expected) and _is_number(value):
        return float(expected) == float(value)
    return bool(expected == value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numeric(bounds: Sequence[Any], value: Any) -> bool:
    if not _is_number(value) or len(bounds) % 2:
        return False
    pairs = zip(bounds[::2], bounds[1::2], strict=True)
    return all(_NUMERIC[op](float(value), float(bound)) for op, bound in pairs)


_SCALAR_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "prefix": lambda prefix, value: isinstance(value, str) and value.startswith(prefix),
    "suffix": lambda suffix, value: isinstance(value, str) and value.endswith(suffix),
    "equals-ignore-case": lambda text, value: (
        isinstance(value, str) and value.casefold() == str(text).casefold()
    ),
    "anything-but": _anything_but,
    "numeric": _numeric,
    "exists": lambda _, value: True,  # reached only for a present value (see _condition)
}
