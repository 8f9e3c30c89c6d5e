"""One contract, two enforcers: the API's JSON Schema and the handler's validator agree.

`lambdas/registration/contract.schema.json` is the request model API Gateway validates HTTP
registrations with (Terraform loads the same file). The handler validates again, because SQS has
other producers. Hypothesis draws bodies from the contract's valid values and the ways each field
can break, plus arbitrary JSON; on every body both must say the same thing (accept or reject),
unless the body falls under one of the differences listed in README.md ("One contract,
two enforcers"), each a named predicate below written from that list, not from either enforcer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from registration.validation import ValidationError, parse_registration

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "lambdas/registration/contract.schema.json"
SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft4Validator(SCHEMA)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SENT = {"SentTimestamp": "1767225600000"}  # 2026-01-01T00:00:00Z

CANONICAL_KEYS = ("user_id", "name", "email", "registered_at")
LEGACY_KEYS = ("CustID", "Name")
EXTRA_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
MAX_PROPERTIES = 12
MAX_EXTRA_VALUE = 256
RFC3339 = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):"
    r"(?P<second>[0-9]{2})(?P<fraction>\.[0-9]+)?(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def schema_accepts(document: Any) -> bool:
    return VALIDATOR.is_valid(document)


def handler_accepts(body: str) -> bool:
    try:
        parse_registration(body, SENT, now=NOW)
    except ValidationError:
        return False
    return True


# ---- The listed differences (README.md), one predicate each ---------------------------------


def _shape_keys(document: dict[str, Any]) -> tuple[str, ...]:
    return CANONICAL_KEYS if "user_id" in document else LEGACY_KEYS


def body_over_8_kib(document: dict[str, Any], body: str) -> bool:
    """The handler measures bytes; JSON Schema cannot, it bounds each field instead."""
    return len(body.encode("utf-8", "surrogatepass")) > 8 * 1024


def unknown_keys_out_of_bounds(document: dict[str, Any], body: str) -> bool:
    """The handler ignores unknown keys; the schema bounds them so no large body validates."""
    if len(document) > MAX_PROPERTIES:
        return True
    shape = _shape_keys(document)
    for key, value in document.items():
        if key in shape:
            continue
        if not EXTRA_KEY.fullmatch(key) or isinstance(value, list | dict):
            return True
        if isinstance(value, str) and len(value) > MAX_EXTRA_VALUE:
            return True
    return False


def untrimmed_text(document: dict[str, Any], body: str) -> bool:
    """The handler trims name/Name/email before checking them; a schema cannot trim."""
    return any(
        isinstance(document.get(key), str) and document[key] != document[key].strip()
        for key in ("name", "email", "Name")
        if key in _shape_keys(document)
    )


def lone_surrogate_in_name(document: dict[str, Any], body: str) -> bool:
    """The handler rejects lone surrogates; UTF-16 regex dialects cannot tell them from pairs."""
    return any(
        isinstance(document.get(key), str) and re.search("[\ud800-\udfff]", document[key])
        for key in ("name", "Name")
    )


def timestamp_only_the_handler_can_judge(document: dict[str, Any], body: str) -> bool:
    """RFC 3339 in form but not a real moment in range: calendar, leap second, 1970..now+1 day."""
    value = document.get("registered_at")
    if "user_id" not in document or not isinstance(value, str):
        return False
    match = RFC3339.fullmatch(value)
    if match is None:
        return False
    if match["second"] == "60":
        return True
    try:
        moment = datetime.fromisoformat(
            f"{match['date']}T{match['hour']}:{match['minute']}:{match['second']}"
            f"{match['offset'].upper().replace('Z', '+00:00')}"
        ).astimezone(UTC)
    except (ValueError, OverflowError):
        return True
    return not datetime(1970, 1, 1, tzinfo=UTC) <= moment <= NOW + timedelta(days=1)


def iso8601_beyond_rfc3339(document: dict[str, Any], body: str) -> bool:
    """Python's ISO parser (the handler's) accepts forms RFC 3339 does not: HTTP asks RFC 3339."""
    value = document.get("registered_at")
    if "user_id" not in document or not isinstance(value, str) or RFC3339.fullmatch(value):
        return False
    try:
        return value.isascii() and datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def lowercase_t_or_z(document: dict[str, Any], body: str) -> bool:
    """RFC 3339 allows them; the handler accepts them with #18 (not yet on main)."""
    value = document.get("registered_at")
    return "user_id" in document and isinstance(value, str) and bool(re.search("[tz]", value))


def cust_id_as_string(document: dict[str, Any], body: str) -> bool:
    """A decimal-string CustID: accepted by the handler with #18; above 2**63-1 only it rejects."""
    return "user_id" not in document and isinstance(document.get("CustID"), str)


DIFFERENCES: tuple[Callable[[dict[str, Any], str], bool], ...] = (
    body_over_8_kib,
    unknown_keys_out_of_bounds,
    untrimmed_text,
    lone_surrogate_in_name,
    timestamp_only_the_handler_can_judge,
    iso8601_beyond_rfc3339,
    lowercase_t_or_z,
    cust_id_as_string,
)


def listed_difference(document: Any, body: str) -> str | None:
    if not isinstance(document, dict):
        return None
    for predicate in DIFFERENCES:
        if predicate(document, body):
            return predicate.__name__
    return None


# ---- Bodies -----------------------------------------------------------------------------------

ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
NON_STRINGS = st.integers() | st.booleans() | st.floats(allow_nan=False) | st.none() | st.just([])
MOMENTS = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2026, 6, 1), timezones=st.just(UTC)
)

# Valid values of each field, then everything else a field may be: boundaries, each way to break
# it, arbitrary text. A document breaks at most one field, so each break is seen on its own.
VALID: dict[str, st.SearchStrategy[Any]] = {
    "user_id": st.builds(str.__add__, st.sampled_from(ALNUM), st.text(ALNUM + "._:-", max_size=63)),
    "name": st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=40)
    .map(str.strip)
    .filter(bool),
    "email": st.sampled_from(["ada@example.com", "a.b+c@sub.example.org", None]),
    "registered_at": MOMENTS.map(lambda moment: moment.isoformat().replace("+00:00", "Z")),
    "CustID": st.integers(0, 2**63 - 1),
}
VALID["Name"] = VALID["name"]
names = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["  Ada  ", " ", "\t", "A\x00b", "A\x85", "A\u2028", "😀 Ünïcødé", "'; DROP--"]
    ),
    st.integers(199, 201).map(lambda n: "n" * n),
    st.integers(195, 201).map(lambda n: " " + "n" * n),
    NON_STRINGS,
)
ANY: dict[str, st.SearchStrategy[Any]] = {
    "user_id": st.one_of(
        st.sampled_from(["", " u1", "u 1", "u@x", "-u", "u1\n", "ü1", "u" * 64, "u" * 65]),
        st.text(max_size=8),
        NON_STRINGS,
    ),
    "name": names,
    "Name": names,
    "email": st.one_of(
        st.sampled_from(
            [
                " ada@example.com",
                "ada@example",
                "ada.example.com",
                "",
                "a@b.c",
                "a@b.co\n",
                "x" * 64 + "@example.com",
                "x" * 65 + "@example.com",
                "a@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 60 + ".com",
                "a@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + "." + "e" * 50 + ".com",
            ]
        ),
        st.text(max_size=12),
        NON_STRINGS,
    ),
    "registered_at": st.one_of(
        st.datetimes(timezones=st.just(UTC)).map(lambda moment: moment.isoformat()),
        MOMENTS.map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123+05:30"),
        st.sampled_from(
            [
                "2026-01-01t09:00:00z",
                "2026-01-01T09:00:00",
                "2026-01-01 09:00:00Z",
                "2026-01-01T09:00Z",
                "20260101T090000Z",
                "2026-02-30T00:00:00Z",
                "2026-06-30T23:59:60Z",
                "2026-06-02T11:59:59Z",
                "2026-06-02T12:00:01Z",
                "1969-12-31T23:59:59Z",
                "1970-01-01T00:00:00Z",
                "2026-01-01T24:00:00Z",
                "2026-01-01T09:00:00+24:00",
                "2026-01-01T09:00:00+01:00:00",
                "2026-01-01T09:00:00Z\n",
                "2026-01-01T09:00:00." + "1" * 50 + "Z",
                "yesterday",
                "٢٠٢٦-01-01T09:00:00Z",
            ]
        ),
        st.text(max_size=10),
        NON_STRINGS,
    ),
    "CustID": st.one_of(
        st.sampled_from([-1, 0, 2**63 - 1, 2**63, 1.0, True, 10**30, -(2**63)]),
        st.sampled_from(["7002", "0", "007", "+7", "-7", " 7", "7 ", "7\n", "1e3", "", "٣"]),
        st.sampled_from([str(2**63 - 1), str(2**63), "9" * 19, "1" * 20]),
        NON_STRINGS,
    ),
}
extras = st.dictionaries(
    st.one_of(
        st.sampled_from(["note", "source", "_v", "first-name", "x" * 65]), st.text(max_size=4)
    ),
    st.one_of(
        st.text(max_size=8),
        st.integers(),
        st.booleans(),
        st.none(),
        st.sampled_from(["x" * 256, "x" * 257, {}, []]),
    ),
    max_size=3,
)


@st.composite
def documents(draw: st.DrawFn) -> Any:
    shape = draw(st.sampled_from(["canonical", "legacy", "both", "other"]))
    if shape == "other":
        return draw(st.recursive(st.none() | st.booleans() | st.integers() | st.text(), _nest))
    keys: list[str] = []
    if shape in ("canonical", "both"):
        keys += ["user_id", "name", "email", "registered_at"]
    if shape in ("legacy", "both"):
        keys += ["CustID", "Name"]
    document = draw(extras) if draw(st.booleans()) else {}
    broken = draw(st.sampled_from([None, *keys]))
    for key in keys:
        if key == broken and draw(st.integers(0, 9)) == 0:
            continue  # absent
        document[key] = draw(ANY[key] if key == broken else VALID[key])
    return document


def _nest(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(children, max_size=3) | st.dictionaries(
        st.text(max_size=5), children, max_size=3
    )


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
@example({"user_id": "u1", "name": "Ada", "registered_at": "2026-01-01T09:00:00Z"})
@example({"CustID": 1021, "Name": "Martha Rivera"})
@example({"user_id": "u1\n", "name": "Ada", "registered_at": "2026-01-01T09:00:00Z"})
@example({"CustID": True, "Name": "Martha Rivera"})
@example({"CustID": 5.0, "Name": "Martha Rivera"})
def test_schema_and_handler_agree_except_listed_differences(document: Any) -> None:
    body = json.dumps(document)
    difference = listed_difference(document, body)
    if difference is None:
        assert schema_accepts(document) == handler_accepts(body), body


def test_not_json_is_rejected_by_both() -> None:
    body = '{"user_id": "u1", "name": '
    with pytest.raises(ValueError):
        json.loads(body)  # API Gateway answers 400 before the model applies
    assert not handler_accepts(body)


@pytest.mark.parametrize(
    ("document", "difference", "schema", "handler"),
    [
        (
            {"user_id": "u1", "name": "A", "registered_at": "2026-01-01T00:00:00Z", "p": "é" * 200}
            | {f"k{i}": "é" * 250 for i in range(8)},
            "body_over_8_kib",
            True,
            False,
        ),
        (
            {"user_id": "u1", "name": "A", "registered_at": "2026-01-01T00:00:00Z", "x": {}},
            "unknown_keys_out_of_bounds",
            False,
            True,
        ),
        (
            {"user_id": "u1", "name": " Ada ", "registered_at": "2026-01-01T00:00:00Z"},
            "untrimmed_text",
            True,
            True,
        ),
        (
            {
                "user_id": "u1",
                "name": " " * 10 + "n" * 200,
                "registered_at": "2026-01-01T00:00:00Z",
            },
            "untrimmed_text",
            False,
            True,
        ),
        (
            {"user_id": "u1", "name": "A\ud800", "registered_at": "2026-01-01T00:00:00Z"},
            "lone_surrogate_in_name",
            True,
            False,
        ),
        (
            {"user_id": "u1", "name": "A", "registered_at": "2026-02-30T00:00:00Z"},
            "timestamp_only_the_handler_can_judge",
            True,
            False,
        ),
        (
            {"user_id": "u1", "name": "A", "registered_at": "2030-01-01T00:00:00Z"},
            "timestamp_only_the_handler_can_judge",
            True,
            False,
        ),
        (
            {"user_id": "u1", "name": "A", "registered_at": "2026-01-01 00:00:00Z"},
            "iso8601_beyond_rfc3339",
            False,
            True,
        ),
        ({"CustID": "9" * 19, "Name": "A"}, "cust_id_as_string", True, False),
    ],
)
def test_each_listed_difference_is_real(
    document: dict[str, Any], difference: str, schema: bool, handler: bool
) -> None:
    """Every row of the list exists (so it cannot hide an agreement bug by being too wide)."""
    body = json.dumps(document)
    assert listed_difference(document, body) == difference
    assert (schema_accepts(document), handler_accepts(body)) == (schema, handler)


def test_schema_is_draft_04_with_no_remote_references() -> None:
    """API Gateway models are draft-04 and resolve only its own model URLs: keep it inline."""
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert '"$ref"' not in SCHEMA_PATH.read_text(encoding="utf-8")


def test_shipped_example_events_classify_the_same() -> None:
    """The SQS bodies under events/ (valid, legacy, invalid) get the same verdict from both."""
    events = Path(__file__).resolve().parents[3] / "events"
    bodies = [
        record["body"]
        for path in sorted(events.glob("*.json"))
        for record in json.loads(path.read_text(encoding="utf-8")).get("Records", [])
        if record.get("eventSource") == "aws:sqs"
    ]
    assert len(bodies) > 20
    for body in bodies:
        try:
            document = json.loads(body)
        except ValueError:
            assert not handler_accepts(body)
            continue
        if listed_difference(document, body) is None:
            assert schema_accepts(document) == handler_accepts(body), body
