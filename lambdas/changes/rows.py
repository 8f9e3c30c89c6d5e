"""One DynamoDB stream record of the users table -> one change row for the lake.

The row says *what* changed, not the personal data itself: `changed_fields` names the attributes
whose value differs between the old and the new image (e.g. `["email"]`), never their values,
so the lake answers "how many changed their e-mail" without holding a name or an address. The
table itself stays the only place with names and e-mails.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

CHANGES = {"INSERT": "created", "MODIFY": "updated", "REMOVE": "removed"}
# Bookkeeping attributes: a new version is implied by any change, so it is not a "field".
NOT_FIELDS = frozenset({"user_id", "version"})
_deserializer = TypeDeserializer()


class UnusableRecord(ValueError):
    """A stream record that is not a change of a user (wrong table, wrong shape)."""


def _plain(image: dict[str, Any] | None) -> dict[str, Any]:
    plain = {k: _deserializer.deserialize(v) for k, v in (image or {}).items()}
    return {
        k: int(v) if isinstance(v, Decimal) and v == v.to_integral() else v
        for k, v in plain.items()
    }


def change_type(record: dict[str, Any]) -> str:
    try:
        return CHANGES[record["eventName"]]
    except KeyError as err:
        raise UnusableRecord(f"unknown eventName {record.get('eventName')!r}") from err


def change_row(record: dict[str, Any]) -> dict[str, Any]:
    """The lake's row for `record`; raises UnusableRecord for anything else."""
    try:
        stream = record["dynamodb"]
        keys = _plain(stream["Keys"])
        sequence = str(stream["SequenceNumber"])
        created_at = float(stream["ApproximateCreationDateTime"])
    except (KeyError, TypeError, ValueError) as err:
        raise UnusableRecord(f"not a DynamoDB stream record: missing {err}") from err
    if "user_id" not in keys:
        raise UnusableRecord(f"record {sequence} has keys {sorted(keys)}, not user_id")
    old, new = _plain(stream.get("OldImage")), _plain(stream.get("NewImage"))
    event_time = datetime.fromtimestamp(created_at, UTC)
    current = new or old
    return {
        "user_id": str(keys["user_id"]),
        "change": change_type(record),
        "changed_fields": sorted(
            name
            for name in (old.keys() | new.keys()) - NOT_FIELDS
            if old.get(name) != new.get(name)
        ),
        "old_version": old.get("version"),
        "new_version": new.get("version"),
        "registered_at": current.get("registered_at"),
        "source": current.get("source"),
        "event_time": event_time.isoformat().replace("+00:00", "Z"),
        "sequence_number": sequence,
        "dt": event_time.date().isoformat(),
    }
