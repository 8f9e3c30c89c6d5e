"""Turn an SQS message body into a `Registration`, or say precisely why it never can be.

Everything here is pure (no I/O) and deterministic for a given ``now``. Every rejection is a
`ValidationError` carrying a short machine code (`FailureReason`) and one human sentence; details
name fields and sizes but never echo the submitted values, because they end up in logs and in DLQ
message attributes.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from registration.errors import FailureReason, ValidationError
from registration.models import Registration

MAX_BODY_BYTES = 8 * 1024
MAX_USER_ID_LENGTH = 64
MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 254
MAX_TIMESTAMP_LENGTH = 64
MAX_LEGACY_CUSTOMER_ID = 2**63 - 1
# A registration from the far future would win every later update, so cap producer clock skew.
MAX_FUTURE_SKEW = timedelta(days=1)
EARLIEST_REGISTRATION = datetime(1970, 1, 1, tzinfo=UTC)

# No whitespace and no '@': ids are logged, so they must not be able to carry an email address.
USER_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")
# Pragmatic ASCII address check (RFC 5321 sizes); internationalized addresses are rejected.
EMAIL_PATTERN = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
MAX_EMAIL_LOCAL_PART_LENGTH = 64
# Unicode categories a display name may not contain: control characters and lone surrogates
# (the latter cannot be encoded as UTF-8). Unassigned code points are allowed on purpose: what
# counts as unassigned depends on the Python version's Unicode database.
FORBIDDEN_NAME_CATEGORIES = frozenset({"Cc", "Cs"})

CANONICAL_KEY = "user_id"
LEGACY_KEY = "CustID"
# The seed's producers send CustID as a JSON string: accepted when it is the canonical decimal
# spelling of an id (ASCII digits, no sign, no leading zero), so "7002" and 7002 are one user.
CANONICAL_DECIMAL = re.compile(r"0|[1-9][0-9]*")
# A message moved back from the DLQ gets a new SentTimestamp; the redrive copy loop carries the
# first one in this message attribute (Number, epoch milliseconds), and it wins.
ORIGINAL_SENT_TIMESTAMP = "original_sent_timestamp"
SENT_TIMESTAMP = "SentTimestamp"
# RFC 3339 date-time (with its lowercase 't'/'z' and a leap second), parsed here rather than by
# datetime.fromisoformat, which rejects those and truncates beyond microseconds.
RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt](?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})"
    r"(?:\.(?P<fraction>\d+))?(?P<offset>[Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)
LEAP_SECOND = 60


def parse_registration(body: str, attributes: Mapping[str, str], *, now: datetime) -> Registration:
    """Validate one SQS message body (canonical or legacy shape) into a `Registration`.

    ``attributes`` are the SQS system attributes of the record; the legacy shape takes its
    ``registered_at`` from ``SentTimestamp`` (stable across redeliveries of one message).
    """
    document = _decode_json_object(body)
    if CANONICAL_KEY in document:
        return _parse_canonical(document, now=now)
    if LEGACY_KEY in document:
        return _parse_legacy(document, attributes, now=now)
    raise ValidationError(
        FailureReason.MISSING_FIELD,
        f"body has neither '{CANONICAL_KEY}' (canonical shape) nor '{LEGACY_KEY}' (legacy shape)",
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _decode_json_object(body: str) -> dict[str, Any]:
    size = len(body.encode("utf-8", "surrogatepass"))
    if size > MAX_BODY_BYTES:
        raise ValidationError(
            FailureReason.OVERSIZED, f"body is {size} bytes; at most {MAX_BODY_BYTES} allowed"
        )
    try:
        document = json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        # ValueError covers JSONDecodeError and int-size limits; RecursionError deep nesting.
        raise ValidationError(
            FailureReason.INVALID_JSON, f"body is not valid JSON ({type(error).__name__})"
        ) from None
    if not isinstance(document, dict):
        raise ValidationError(
            FailureReason.NOT_AN_OBJECT,
            f"body is a JSON {_json_type_name(document)}, expected an object",
        )
    return document


def _parse_canonical(document: Mapping[str, Any], *, now: datetime) -> Registration:
    user_id = _validate_user_id(_required(document, "user_id", str))
    name = _validate_name(_required(document, "name", str), field="name")
    email_value = _optional(document, "email", str)
    email = None if email_value is None else _validate_email(email_value)
    registered_at = _validate_timestamp(
        _required(document, "registered_at", str), field="registered_at", now=now
    )
    return Registration(user_id=user_id, name=name, email=email, registered_at=registered_at)


def _parse_legacy(
    document: Mapping[str, Any], attributes: Mapping[str, str], *, now: datetime
) -> Registration:
    customer_id = _customer_id(document)
    if not 0 <= customer_id <= MAX_LEGACY_CUSTOMER_ID:
        raise ValidationError(
            FailureReason.INVALID_VALUE,
            f"{LEGACY_KEY} must be between 0 and {MAX_LEGACY_CUSTOMER_ID}",
        )
    name = _validate_name(_required(document, "Name", str), field="Name")
    registered_at = _sent_timestamp(attributes, now=now)
    return Registration(
        user_id=str(customer_id), name=name, email=None, registered_at=registered_at
    )


def _customer_id(document: Mapping[str, Any]) -> int:
    value = document.get(LEGACY_KEY)
    if isinstance(value, str) and CANONICAL_DECIMAL.fullmatch(value) and len(value) <= 20:
        return int(value)
    if isinstance(value, str):
        raise ValidationError(
            FailureReason.WRONG_TYPE,
            f"'{LEGACY_KEY}' must be an integer or its canonical decimal string",
        )
    return int(_required(document, LEGACY_KEY, int))


def _required(document: Mapping[str, Any], field: str, expected: type) -> Any:
    if field not in document:
        raise ValidationError(FailureReason.MISSING_FIELD, f"'{field}' is required")
    value = _optional(document, field, expected)
    if value is None:
        raise ValidationError(
            FailureReason.WRONG_TYPE, f"'{field}' must be {_type_name(expected)}, not null"
        )
    return value


def _optional(document: Mapping[str, Any], field: str, expected: type) -> Any:
    value = document.get(field)
    if value is None:
        return None
    # bool is a subclass of int, but true is not a customer id.
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ValidationError(
            FailureReason.WRONG_TYPE,
            f"'{field}' must be {_type_name(expected)}, not a JSON {_json_type_name(value)}",
        )
    return value


def _validate_user_id(value: str) -> str:
    if len(value) > MAX_USER_ID_LENGTH:
        raise ValidationError(
            FailureReason.OVERSIZED,
            f"'user_id' is {len(value)} characters; at most {MAX_USER_ID_LENGTH} allowed",
        )
    if not USER_ID_PATTERN.fullmatch(value):
        raise ValidationError(
            FailureReason.INVALID_VALUE,
            "'user_id' must start with a letter or digit and contain only letters, digits, "
            "'.', '_', ':' or '-'",
        )
    return value


def _validate_name(value: str, *, field: str) -> str:
    name = value.strip()
    if not name:
        raise ValidationError(FailureReason.INVALID_VALUE, f"'{field}' is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(
            FailureReason.OVERSIZED,
            f"'{field}' is {len(name)} characters; at most {MAX_NAME_LENGTH} allowed",
        )
    if any(unicodedata.category(char) in FORBIDDEN_NAME_CATEGORIES for char in name):
        raise ValidationError(
            FailureReason.INVALID_VALUE,
            f"'{field}' contains control characters or lone surrogates",
        )
    return name


def _validate_email(value: str) -> str:
    email = value.strip()
    if len(email) > MAX_EMAIL_LENGTH:
        raise ValidationError(
            FailureReason.OVERSIZED,
            f"'email' is {len(email)} characters; at most {MAX_EMAIL_LENGTH} allowed",
        )
    if not EMAIL_PATTERN.fullmatch(email) or len(email.split("@")[0]) > (
        MAX_EMAIL_LOCAL_PART_LENGTH
    ):
        raise ValidationError(FailureReason.INVALID_EMAIL, "'email' is not a valid address")
    return email


def _validate_timestamp(value: str, *, field: str, now: datetime) -> datetime:
    if len(value) > MAX_TIMESTAMP_LENGTH:
        raise ValidationError(
            FailureReason.OVERSIZED,
            f"'{field}' is {len(value)} characters; at most {MAX_TIMESTAMP_LENGTH} allowed",
        )
    try:
        if not value.isascii():
            raise ValueError("non-ASCII")
        parsed = _parse_rfc3339(value) or datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            FailureReason.INVALID_TIMESTAMP, f"'{field}' is not an ISO-8601 date-time"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValidationError(
            FailureReason.INVALID_TIMESTAMP,
            f"'{field}' has no UTC offset (add 'Z' or e.g. '+02:00')",
        )
    try:
        moment = parsed.astimezone(UTC)
    except OverflowError:
        raise ValidationError(
            FailureReason.INVALID_TIMESTAMP, f"'{field}' is outside the supported range"
        ) from None
    return _check_range(moment, field=field, now=now)


def _parse_rfc3339(value: str) -> datetime | None:
    """An RFC 3339 date-time, or None to let ``fromisoformat`` try the other ISO-8601 forms.

    Beyond microseconds (what both stores hold) the fraction is rounded half up, so
    ``.1234565`` is ``.123457``. A leap second (``23:59:60``) is the following second, as in
    POSIX time, because neither store can represent it.
    """
    match = RFC3339.fullmatch(value)
    if match is None:
        return None
    second = int(match["second"])
    if second > LEAP_SECOND:
        raise ValueError("second out of range")
    offset = "+00:00" if match["offset"] in "Zz" else match["offset"]
    start_of_minute = datetime.fromisoformat(
        f"{match['date']}T{match['hour']}:{match['minute']}:00{offset}"
    )
    fraction = Decimal(f"0.{match['fraction'] or 0}")
    microseconds = int(fraction.scaleb(6).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return start_of_minute + timedelta(seconds=second, microseconds=microseconds)


def _sent_timestamp(attributes: Mapping[str, str], *, now: datetime) -> datetime:
    """``original_sent_timestamp`` when the message was redriven, else SQS's ``SentTimestamp``."""
    field = ORIGINAL_SENT_TIMESTAMP if ORIGINAL_SENT_TIMESTAMP in attributes else SENT_TIMESTAMP
    raw = attributes.get(field)
    if not isinstance(raw, str) or not raw.isascii() or not raw.isdigit() or len(raw) > 13:
        raise ValidationError(
            FailureReason.INVALID_VALUE,
            f"legacy message needs the '{field}' attribute as epoch milliseconds",
        )
    moment = EARLIEST_REGISTRATION + timedelta(milliseconds=int(raw))
    return _check_range(moment, field=field, now=now)


def _check_range(moment: datetime, *, field: str, now: datetime) -> datetime:
    if moment < EARLIEST_REGISTRATION or moment > now + MAX_FUTURE_SKEW:
        raise ValidationError(
            FailureReason.INVALID_TIMESTAMP,
            f"'{field}' must be between 1970-01-01 and one day after the time of processing",
        )
    return moment


def _type_name(expected: type) -> str:
    return {str: "a string", int: "an integer"}.get(expected, expected.__name__)


def _json_type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
