"""The version string: a total order that both stores compare the same way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from registration.models import VERSION_LENGTH, Registration, format_timestamp

MOMENT = datetime(2026, 1, 2, 3, 4, 5, 600_000, tzinfo=UTC)


def registration(
    name: str = "Ada", moment: datetime = MOMENT, email: str | None = None
) -> Registration:
    return Registration(user_id="u-1", name=name, email=email, registered_at=moment)


def test_timestamp_format_is_fixed_width_utc() -> None:
    assert format_timestamp(MOMENT) == "2026-01-02T03:04:05.600000Z"
    east = MOMENT.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert format_timestamp(east) == "2026-01-02T03:04:05.600000Z"
    assert format_timestamp(datetime(1970, 1, 1, tzinfo=UTC)) == "1970-01-01T00:00:00.000000Z"


def test_version_starts_with_the_timestamp_and_has_a_fixed_length() -> None:
    version = registration().version
    assert version.startswith("2026-01-02T03:04:05.600000Z#")
    assert len(version) == VERSION_LENGTH


def test_equal_content_gives_equal_versions() -> None:
    assert registration().version == registration().version


def test_different_content_at_the_same_instant_gives_different_versions() -> None:
    versions = {registration(name="Ada").version, registration(name="Adb").version}
    versions.add(registration(email="ada@example.com").version)
    assert len(versions) == 3


def test_email_absent_and_email_empty_are_different_content() -> None:
    assert registration(email=None).version != registration(email="").version


@given(
    first=st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9998, 1, 1)),
    second=st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9998, 1, 1)),
    names=st.tuples(st.text(max_size=5), st.text(max_size=5)),
)
def test_versions_order_like_their_timestamps(
    first: datetime, second: datetime, names: tuple[str, str]
) -> None:
    a = registration(names[0], first.replace(tzinfo=UTC))
    b = registration(names[1], second.replace(tzinfo=UTC))
    if a.registered_at < b.registered_at:
        assert a.version < b.version
    elif a.registered_at > b.registered_at:
        assert a.version > b.version
    else:  # Same instant: the content digest decides, so every delivery order agrees.
        assert (a.version < b.version) == (a.content_digest < b.content_digest)
    # ASCII, so DynamoDB's byte order, MySQL's ascii_bin and Python's str order all agree.
    assert a.version.isascii()


def test_repr_shows_neither_name_nor_email() -> None:
    shown = repr(registration(name="Martha Rivera", email="martha@example.com"))
    assert "Martha" not in shown
    assert "martha@" not in shown
    assert "u-1" in shown
