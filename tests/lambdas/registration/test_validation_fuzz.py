"""10,000-example fuzz of the validator against an oracle built from the contract (README.md).

test_validation.py fuzzes for "no foreign exception" (400 examples) and round-trips valid
documents (200); neither says which reason a broken document must get. Here each field is drawn
from the contract's own cases (valid, or broken in one stated way), the expected verdict is
derived independently (fields are checked in the order user_id, name, email, registered_at; the
first broken one decides), and the validator must agree exactly: accept with exactly the
expected fields, or reject with exactly the expected reason. Arbitrary text and JSON are mixed
in: those must be accepted consistently with their fields or rejected with a ValidationError,
never anything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registration.validation import (
    FailureReason,
    ValidationError,
    parse_registration,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SENT = {"SentTimestamp": "1767225600000"}  # 2026-01-01T00:00:00Z
ABSENT = object()
R = FailureReason


@dataclass(frozen=True)
class FieldCase:
    """One field's value (or ABSENT), the reason it must cause, and its parsed value if valid."""

    value: Any
    reason: FailureReason | None = None
    parsed: Any = None


def _invalid(values: st.SearchStrategy[Any], reason: FailureReason) -> st.SearchStrategy[Any]:
    return values.map(lambda value: FieldCase(value, reason))


NON_STRINGS = (
    st.integers()
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)
ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# Plain alphabets instead of from_regex: the same shapes at a fraction of the generation cost.
ID = st.builds(str.__add__, st.sampled_from(ALNUM), st.text(ALNUM + "._:-", max_size=63))


def _common_breaks(field: str) -> st.SearchStrategy[FieldCase]:
    """Absent, null, or not a string: the same verdicts for every required string field."""
    del field
    return st.one_of(
        st.just(FieldCase(ABSENT, R.MISSING_FIELD)),
        st.just(FieldCase(None, R.WRONG_TYPE)),
        _invalid(NON_STRINGS, R.WRONG_TYPE),
    )


USER_IDS = st.one_of(
    ID.map(lambda value: FieldCase(value, None, value)),
    _invalid(
        st.tuples(ID.filter(lambda v: len(v) < 60), st.sampled_from(" @'\";/é\n\t🦄")).map("".join),
        R.INVALID_VALUE,
    ),
    _invalid(st.sampled_from(["", "-lead", ".dot", "_under", "1' OR '1'='1"]), R.INVALID_VALUE),
    _invalid(st.text(ALNUM, min_size=65, max_size=80), R.OVERSIZED),
    _common_breaks("user_id"),
)

NAME_CHARS = st.characters(blacklist_categories=("Cc", "Cs"))
CORE_NAMES = st.text(NAME_CHARS, min_size=1, max_size=200).filter(
    lambda text: text.strip() == text and bool(text)
)
NAMES = st.one_of(
    st.tuples(st.sampled_from(["", " ", "  "]), CORE_NAMES, st.sampled_from(["", " ", "\t"])).map(
        lambda parts: FieldCase("".join(parts), None, parts[1])
    ),
    st.sampled_from(["Robert'); DROP TABLE users;--", '" OR 1=1 --', "مريم", "👩\u200d💻"]).map(
        lambda value: FieldCase(value, None, value)
    ),
    _invalid(st.sampled_from(["", " ", "\t\n", "\u3000"]), R.INVALID_VALUE),
    _invalid(
        st.tuples(CORE_NAMES, st.characters(whitelist_categories=("Cc",)), CORE_NAMES).map("".join),
        R.INVALID_VALUE,
    ),
    _invalid(
        st.text(NAME_CHARS, min_size=201, max_size=260).filter(lambda t: len(t.strip()) > 200),
        R.OVERSIZED,
    ),
    _common_breaks("name"),
)

EMAIL = st.builds(
    "{}{}@{}.{}".format,
    st.text(ALNUM, min_size=1, max_size=20),
    st.sampled_from(["", ".x", ".first+tag", "_-"]),
    st.text(ALNUM, min_size=1, max_size=20),
    st.text("abcdefghij", min_size=2, max_size=6),
)
EMAILS = st.one_of(
    st.just(FieldCase(ABSENT, None, None)),
    st.just(FieldCase(None, None, None)),
    EMAIL.map(lambda value: FieldCase(value, None, value)),
    EMAIL.map(lambda value: FieldCase(f" {value} ", None, value)),
    _invalid(
        st.sampled_from(["plain", "a@b", "🦄@example.com", "a b@example.com", "@x.org", "a@.org"]),
        R.INVALID_EMAIL,
    ),
    _invalid(st.just("l" * 65 + "@example.com"), R.INVALID_EMAIL),
    _invalid(st.just("l" * 250 + "@example.com"), R.OVERSIZED),
    _invalid(NON_STRINGS, R.WRONG_TYPE),
)

OFFSETS = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
MOMENTS = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2026, 5, 31))
TIMESTAMPS = st.one_of(
    st.builds(lambda m, tz: m.replace(tzinfo=tz), MOMENTS, OFFSETS).map(
        lambda moment: FieldCase(moment.isoformat(), None, moment.astimezone(UTC))
    ),
    MOMENTS.map(
        lambda m: FieldCase(m.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), None, m.replace(tzinfo=UTC))
    ),
    _invalid(MOMENTS.map(lambda m: m.isoformat()), R.INVALID_TIMESTAMP),  # no offset
    _invalid(
        st.sampled_from(
            [
                "yesterday",
                "2026-13-01T00:00:00Z",
                "1969-12-31T00:00:00+00:00",
                "2030-01-01T00:00:00Z",
                "\uff12\uff10\uff12\uff16-01-01T00:00:00Z",  # fullwidth digits
                "2026-06-03T00:00:00+00:00",
            ]
        ),
        R.INVALID_TIMESTAMP,
    ),
    _invalid(st.just("2026-01-01T00:00:00Z" + " " * 50), R.OVERSIZED),
    _common_breaks("registered_at"),
)

KNOWN_KEYS = {"user_id", "name", "email", "registered_at", "CustID", "Name"}
EXTRAS = st.dictionaries(
    st.text(max_size=8).filter(lambda key: key not in KNOWN_KEYS), st.integers(), max_size=2
)


@st.composite
def contract_cases(draw: st.DrawFn) -> tuple[str, FailureReason | None, dict[str, Any]]:
    """(body, expected reason or None, expected fields when valid)."""
    fields = {
        "user_id": draw(USER_IDS),
        "name": draw(NAMES),
        "email": draw(EMAILS),
        "registered_at": draw(TIMESTAMPS),
    }
    document = dict(draw(EXTRAS))
    keys = list(fields)
    for key in draw(st.permutations(keys)):  # key order must not matter
        if fields[key].value is not ABSENT:
            document[key] = fields[key].value
    reason = next((fields[k].reason for k in keys if fields[k].reason is not None), None)
    expected = {key: fields[key].parsed for key in keys}
    return json.dumps(document, ensure_ascii=draw(st.booleans())), reason, expected


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(sorted(KNOWN_KEYS)) | st.text(max_size=5), children, max_size=5
        )
    ),
    max_leaves=12,
)
ARBITRARY = st.text(max_size=200) | JSON_VALUES.map(json.dumps)


ANY_REASON = object()  # arbitrary input: any documented reason, or faithful acceptance
CASES = contract_cases() | ARBITRARY.map(lambda body: (body, ANY_REASON, {}))


@settings(
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(case=CASES)
def test_validator_accepts_exactly_the_contract(case: tuple[str, Any, dict[str, Any]]) -> None:
    """Contract cases: exactly the expected verdict. Arbitrary input: a ValidationError with a
    documented reason, or an acceptance that kept the document's own fields."""
    body, reason, expected = case
    try:
        registration = parse_registration(body, SENT, now=NOW)
    except ValidationError as error:
        assert isinstance(error.reason, FailureReason)
        assert error.detail
        assert reason is ANY_REASON or error.reason == reason, (body, error)
        return
    if reason is ANY_REASON:
        assert_faithful(body, registration)
        return
    assert reason is None, f"accepted, but the contract says {reason}: {body}"
    assert {
        "user_id": registration.user_id,
        "name": registration.name,
        "email": registration.email,
        "registered_at": registration.registered_at,
    } == expected


def assert_faithful(body: str, registration: Any) -> None:
    document = json.loads(body)
    if "user_id" in document:
        assert registration.user_id == document["user_id"]
        assert registration.name == document["name"].strip()
        assert registration.email == ((document.get("email") or "").strip() or None)
    else:
        assert registration.user_id == str(document["CustID"])
        assert registration.name == document["Name"].strip()
        assert registration.email is None
