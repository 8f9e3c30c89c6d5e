"""Validation: the message contract of README.md, one reason per way a message can be wrong."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registration.validation import (
    MAX_BODY_BYTES,
    MAX_EMAIL_LENGTH,
    MAX_NAME_LENGTH,
    MAX_USER_ID_LENGTH,
    FailureReason,
    ValidationError,
    parse_registration,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SENT = {"SentTimestamp": "1545082649183"}  # the tutorial event's: 2018-12-17T21:37:29.183Z


def parse(document: Any, attributes: dict[str, str] | None = None) -> Any:
    text = document if isinstance(document, str) else json.dumps(document)
    return parse_registration(text, attributes or SENT, now=NOW)


def rejection(document: Any, attributes: dict[str, str] | None = None) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        parse(document, attributes)
    return caught.value


def valid(**overrides: Any) -> dict[str, Any]:
    document = {
        "user_id": "u-1",
        "name": "Martha Rivera",
        "email": "martha@example.com",
        "registered_at": "2026-05-01T10:00:00Z",
    }
    document.update(overrides)
    return {key: value for key, value in document.items() if value is not ...}


class TestCanonicalShape:
    def test_all_fields(self) -> None:
        registration = parse(valid())
        assert registration.user_id == "u-1"
        assert registration.name == "Martha Rivera"
        assert registration.email == "martha@example.com"
        assert registration.registered_at == datetime(2026, 5, 1, 10, 0, tzinfo=UTC)

    @pytest.mark.parametrize("email", [..., None])
    def test_email_is_optional(self, email: Any) -> None:
        assert parse(valid(email=email)).email is None

    def test_offset_is_converted_to_utc(self) -> None:
        registration = parse(valid(registered_at="2026-05-01T12:30:00.123456+02:30"))
        assert registration.registered_at_text == "2026-05-01T10:00:00.123456Z"

    @pytest.mark.parametrize(
        "written",
        ["2026-05-01t10:00:00z", "2026-05-01T10:00:00z", "2026-05-01t10:00:00+00:00"],
    )
    def test_rfc3339_lowercase_t_and_z(self, written: str) -> None:
        assert parse(valid(registered_at=written)).registered_at_text == (
            "2026-05-01T10:00:00.000000Z"
        )

    @pytest.mark.parametrize(
        ("written", "stored"),
        [
            ("2026-05-01T10:00:00.1234564Z", "2026-05-01T10:00:00.123456Z"),
            ("2026-05-01T10:00:00.1234565Z", "2026-05-01T10:00:00.123457Z"),
            ("2026-05-01T10:00:00.123456999Z", "2026-05-01T10:00:00.123457Z"),
            ("2026-05-01T10:00:59.9999995Z", "2026-05-01T10:01:00.000000Z"),
            ("2026-05-01T12:30:00.0000001+02:30", "2026-05-01T10:00:00.000000Z"),
        ],
    )
    def test_more_than_six_fractional_digits_round_half_up(self, written: str, stored: str) -> None:
        assert parse(valid(registered_at=written)).registered_at_text == stored

    def test_a_leap_second_is_the_following_second(self) -> None:
        leap = parse(valid(registered_at="2016-12-31T23:59:60Z"))
        assert leap.registered_at_text == "2017-01-01T00:00:00.000000Z"
        late = parse(valid(registered_at="2016-12-31T23:59:60.5+00:00"))
        assert late.registered_at_text == "2017-01-01T00:00:00.500000Z"

    def test_whitespace_around_name_and_email_is_trimmed(self) -> None:
        registration = parse(valid(name="  Ada  ", email=" ada@example.com\t"))
        assert (registration.name, registration.email) == ("Ada", "ada@example.com")

    def test_unknown_fields_are_ignored(self) -> None:
        assert parse(valid(plan="gold", CustID=7)).user_id == "u-1"

    def test_four_byte_characters_are_kept(self) -> None:
        assert parse(valid(name="Ōtani 🎌 李")).name == "Ōtani 🎌 李"

    def test_limits_are_inclusive(self) -> None:
        # 64 + 1 + 189 = 254 characters, with DNS labels of at most 63.
        email = "a" * 64 + "@" + ".".join(["b" * 61, "c" * 61, "d" * 61, "com"])
        assert len(email) == MAX_EMAIL_LENGTH
        registration = parse(
            valid(user_id="u" * MAX_USER_ID_LENGTH, name="n" * MAX_NAME_LENGTH, email=email)
        )
        assert len(registration.name) == MAX_NAME_LENGTH
        assert registration.email == email


class TestLegacyShape:
    def test_tutorial_message(self) -> None:
        registration = parse('{\n     "CustID": 1021,\n     "Name": "Martha Rivera"\n}')
        assert registration.user_id == "1021"
        assert registration.name == "Martha Rivera"
        assert registration.email is None
        assert registration.registered_at_text == "2018-12-17T21:37:29.183000Z"

    def test_registered_at_comes_from_sent_timestamp(self) -> None:
        first = parse({"CustID": 1, "Name": "A"}, {"SentTimestamp": "1000"})
        assert first.registered_at_text == "1970-01-01T00:00:01.000000Z"

    @pytest.mark.parametrize("attributes", [{}, {"SentTimestamp": "soon"}, {"SentTimestamp": ""}])
    def test_needs_a_sent_timestamp(self, attributes: dict[str, str]) -> None:
        error = rejection({"CustID": 1, "Name": "A"}, attributes or {"Other": "1"})
        assert error.reason is FailureReason.INVALID_VALUE

    def test_original_sent_timestamp_wins_over_sent_timestamp(self) -> None:
        # A message moved back from the DLQ has a new SentTimestamp; the copy loop carries the
        # first one as the original_sent_timestamp message attribute.
        redriven = {"SentTimestamp": "1545082649183", "original_sent_timestamp": "1000"}
        first = parse({"CustID": 1, "Name": "A"}, redriven)
        assert first.registered_at_text == "1970-01-01T00:00:01.000000Z"

    @pytest.mark.parametrize("original", ["soon", "", "-5", "1e3"])
    def test_a_malformed_original_sent_timestamp_is_rejected(self, original: str) -> None:
        attributes = {**SENT, "original_sent_timestamp": original}
        error = rejection({"CustID": 1, "Name": "A"}, attributes)
        assert error.reason is FailureReason.INVALID_VALUE
        assert "original_sent_timestamp" in error.detail

    def test_the_seeds_string_customer_id_is_the_same_user(self) -> None:
        as_string = parse({"CustID": "7002", "Name": "A"})
        as_integer = parse({"CustID": 7002, "Name": "A"})
        assert as_string.user_id == "7002"
        assert as_string.version == as_integer.version
        assert parse({"CustID": "0", "Name": "A"}).user_id == "0"
        assert parse({"CustID": str(2**63 - 1), "Name": "A"}).user_id == str(2**63 - 1)

    @pytest.mark.parametrize(
        "customer_id",
        [
            "07002",
            "+7002",
            "-7",
            " 7002",
            "7002 ",
            "7_002",
            "7002.0",
            "",
            "٧٠٠٢",
            "\uff11",
            1021.0,
            True,
        ],
    )
    def test_customer_id_is_an_integer_or_a_canonical_decimal_string(
        self, customer_id: Any
    ) -> None:
        assert rejection({"CustID": customer_id, "Name": "A"}).reason is FailureReason.WRONG_TYPE

    def test_customer_id_null_is_wrong_type(self) -> None:
        assert rejection({"CustID": None, "Name": "A"}).reason is FailureReason.WRONG_TYPE

    @pytest.mark.parametrize("customer_id", [-1, 2**63, str(2**63)])
    def test_customer_id_range(self, customer_id: int) -> None:
        assert rejection({"CustID": customer_id, "Name": "A"}).reason is (
            FailureReason.INVALID_VALUE
        )

    def test_name_is_required(self) -> None:
        error = rejection({"CustID": 5})
        assert (error.reason, error.detail) == (FailureReason.MISSING_FIELD, "'Name' is required")


@pytest.mark.parametrize(
    ("document", "reason", "detail_part"),
    [
        ("{not json", FailureReason.INVALID_JSON, "not valid JSON"),
        ("", FailureReason.INVALID_JSON, "not valid JSON"),
        ('{"user_id": NaN}', FailureReason.INVALID_JSON, "not valid JSON"),
        ("[" * 5000, FailureReason.INVALID_JSON, "not valid JSON"),
        ('["u-1"]', FailureReason.NOT_AN_OBJECT, "JSON array"),
        ('"u-1"', FailureReason.NOT_AN_OBJECT, "JSON string"),
        ("null", FailureReason.NOT_AN_OBJECT, "JSON null"),
        ({"name": "A"}, FailureReason.MISSING_FIELD, "neither 'user_id'"),
        (valid(name=...), FailureReason.MISSING_FIELD, "'name' is required"),
        (valid(registered_at=...), FailureReason.MISSING_FIELD, "'registered_at' is required"),
        (valid(user_id=42), FailureReason.WRONG_TYPE, "'user_id' must be a string"),
        (valid(user_id=None), FailureReason.WRONG_TYPE, "not null"),
        (valid(name=["A"]), FailureReason.WRONG_TYPE, "not a JSON array"),
        (valid(email=1), FailureReason.WRONG_TYPE, "'email' must be a string"),
        (valid(registered_at=1700000000), FailureReason.WRONG_TYPE, "not a JSON number"),
        (valid(user_id=""), FailureReason.INVALID_VALUE, "'user_id' must start"),
        (valid(user_id="a b"), FailureReason.INVALID_VALUE, "'user_id'"),
        (valid(user_id="me@example.com"), FailureReason.INVALID_VALUE, "'user_id'"),
        (valid(name="   "), FailureReason.INVALID_VALUE, "'name' is empty"),
        (valid(name="A\x00B"), FailureReason.INVALID_VALUE, "control characters"),
        (valid(name="A\ud800"), FailureReason.INVALID_VALUE, "lone surrogates"),
        (valid(email="no-at-sign"), FailureReason.INVALID_EMAIL, "not a valid address"),
        (valid(email="a@b"), FailureReason.INVALID_EMAIL, "not a valid address"),
        (valid(email="a b@example.com"), FailureReason.INVALID_EMAIL, "not a valid address"),
        (valid(email="x" * 65 + "@example.com"), FailureReason.INVALID_EMAIL, "valid address"),
        (valid(registered_at="yesterday"), FailureReason.INVALID_TIMESTAMP, "ISO-8601"),
        (valid(registered_at="2026-05-01T10:00:00"), FailureReason.INVALID_TIMESTAMP, "offset"),
        (valid(registered_at="2026-02-30T10:00:00Z"), FailureReason.INVALID_TIMESTAMP, "ISO"),
        (valid(registered_at="2026-05-01T10:00:61Z"), FailureReason.INVALID_TIMESTAMP, "ISO"),
        (valid(registered_at="2026-05-01T10:60:00Z"), FailureReason.INVALID_TIMESTAMP, "ISO"),
        (valid(registered_at="1969-12-31T23:59:59Z"), FailureReason.INVALID_TIMESTAMP, "1970"),
        (valid(registered_at="2026-06-03T12:00:00Z"), FailureReason.INVALID_TIMESTAMP, "one day"),
        (valid(registered_at="9999-12-31T23:59:59-01:00"), FailureReason.INVALID_TIMESTAMP, ""),
        (valid(registered_at="0001-01-01T00:00:00+01:00"), FailureReason.INVALID_TIMESTAMP, ""),
        (valid(user_id="u" * 65), FailureReason.OVERSIZED, "at most 64"),
        (valid(name="n" * 201), FailureReason.OVERSIZED, "at most 200"),
        (valid(email="a@" + "b" * 250 + ".com"), FailureReason.OVERSIZED, "at most 254"),
        (valid(registered_at="2" * 65), FailureReason.OVERSIZED, "at most 64"),
        (valid(notes="x" * MAX_BODY_BYTES), FailureReason.OVERSIZED, "at most 8192"),
    ],
)
def test_rejections(document: Any, reason: FailureReason, detail_part: str) -> None:
    error = rejection(document)
    assert error.reason is reason
    assert detail_part in error.detail


def test_future_skew_of_less_than_a_day_is_accepted() -> None:
    soon = (NOW + timedelta(hours=23)).isoformat()
    assert parse(valid(registered_at=soon)).registered_at == NOW + timedelta(hours=23)


def test_details_never_echo_submitted_values() -> None:
    secret_email = "martha.secret@example"  # invalid: no top-level domain
    error = rejection(valid(email=secret_email, name="Martha Secret"))
    assert "martha" not in error.detail.lower()


def test_body_size_counts_utf8_bytes_not_characters() -> None:
    # 2,800 three-byte characters: under 8,192 characters, over 8,192 bytes.
    assert rejection(valid(name="€" * 2800)).reason is FailureReason.OVERSIZED


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
FIELD_NAMES = st.sampled_from(
    ["user_id", "name", "email", "registered_at", "CustID", "Name", "other"]
)
FIELD_VALUES = (
    JSON_VALUES
    | st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat())
    | st.emails()
    | st.integers(min_value=-(2**64), max_value=2**64)
)
DOCUMENTS = st.dictionaries(FIELD_NAMES, FIELD_VALUES, max_size=7)
ATTRIBUTES = st.dictionaries(
    st.sampled_from(["SentTimestamp", "ApproximateReceiveCount"]),
    st.text(max_size=16) | st.integers(min_value=0, max_value=10**16).map(str),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.text(max_size=300) | DOCUMENTS.map(json.dumps), attributes=ATTRIBUTES)
def test_fuzz_raises_only_validation_errors(body: str, attributes: dict[str, str]) -> None:
    """Any body and attributes: a Registration or a ValidationError, never anything else."""
    try:
        registration = parse_registration(body, attributes, now=NOW)
    except ValidationError as error:
        assert isinstance(error.reason, FailureReason)
        assert error.detail
        return
    assert registration.user_id
    assert registration.name == registration.name.strip()
    assert registration.registered_at.tzinfo is UTC
    registration.name.encode("utf-8")  # storable in both stores
    assert len(registration.version) == 92


@settings(max_examples=200, deadline=None)
@given(
    user_id=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}", fullmatch=True),
    name=st.text(
        st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=MAX_NAME_LENGTH
    ).filter(lambda text: text.strip() == text and text),
    email=st.none() | st.emails().filter(lambda address: len(address) <= 254),
    moment=st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2026, 1, 1), timezones=st.just(UTC)
    ),
)
def test_fuzz_valid_documents_round_trip(
    user_id: str, name: str, email: str | None, moment: datetime
) -> None:
    document = {"user_id": user_id, "name": name, "registered_at": moment.isoformat()}
    if email is not None:
        document["email"] = email
    try:
        registration = parse(document)
    except ValidationError as error:
        # The pragmatic email check is stricter than RFC 5322 (e.g. quoted local parts).
        assert error.reason is FailureReason.INVALID_EMAIL, error
        return
    assert (registration.user_id, registration.name, registration.email) == (
        user_id,
        name,
        email,
    )
    assert registration.registered_at == moment
