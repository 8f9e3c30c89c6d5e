"""A stream record -> a change row: what changed, never the personal values themselves."""

from __future__ import annotations

import json

import pytest

from changes.rows import UnusableRecord, change_row
from tests.lambdas.changes.conftest import image, record

ADA = image("7", "Ada", "ada@example.com", "2026-11-30T10:00:00.000000Z")
ADA_NEW_EMAIL = image("7", "Ada", "ada@new.example", "2026-11-30T11:00:00.000000Z")


def test_insert_is_created_with_every_field_changed() -> None:
    row = change_row(record("INSERT", 100, new=ADA))

    assert row == {
        "user_id": "7",
        "change": "created",
        "changed_fields": ["email", "name", "registered_at"],
        "old_version": None,
        "new_version": "2026-11-30T10:00:00.000000Z#digest-Ada",
        "registered_at": "2026-11-30T10:00:00.000000Z",
        "source": None,
        "event_time": "2025-11-30T12:00:00Z",
        "sequence_number": "100",
        "dt": "2025-11-30",
    }


def test_modify_names_the_changed_fields_only() -> None:
    row = change_row(record("MODIFY", 101, old=ADA, new=ADA_NEW_EMAIL))

    assert row["change"] == "updated"
    assert row["changed_fields"] == ["email", "registered_at"]
    assert (row["old_version"], row["new_version"]) == (
        "2026-11-30T10:00:00.000000Z#digest-Ada",
        "2026-11-30T11:00:00.000000Z#digest-Ada",
    )


def test_remove_keeps_the_last_version() -> None:
    row = change_row(record("REMOVE", 102, old=ADA))

    assert (row["change"], row["old_version"], row["new_version"]) == (
        "removed",
        "2026-11-30T10:00:00.000000Z#digest-Ada",
        None,
    )
    assert row["registered_at"] == "2026-11-30T10:00:00.000000Z"


def test_no_name_or_email_value_reaches_a_row() -> None:
    text = json.dumps(change_row(record("MODIFY", 103, old=ADA, new=ADA_NEW_EMAIL)))

    for value in ("Ada", "ada@example.com", "ada@new.example"):
        assert value not in text.replace("#digest-Ada", "")


def test_source_is_carried_when_the_item_has_one() -> None:
    with_source = {**ADA, "source": {"S": "http"}}
    assert change_row(record("INSERT", 104, new=with_source))["source"] == "http"


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda r: r.update(eventName="TTL"), "unknown eventName 'TTL'"),
        (lambda r: r["dynamodb"].pop("Keys"), "missing 'Keys'"),
        (lambda r: r["dynamodb"].update(Keys={"Id": {"N": "101"}}), "keys ['Id'], not user_id"),
    ],
)
def test_unusable_records_say_why(mangle, reason: str) -> None:  # type: ignore[no-untyped-def]
    broken = record("INSERT", 105, new=ADA)
    mangle(broken)
    with pytest.raises(UnusableRecord, match=reason.replace("[", r"\[").replace("]", r"\]")):
        change_row(broken)
