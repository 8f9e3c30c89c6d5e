"""One DynamoDB item per user, written only when the incoming version is newer.

Conditional puts cannot be batched (BatchWriteItem has no conditions, and a transaction would
fail whole on one stale item), so each registration is one PutItem. A failed condition is the
expected outcome of a redelivery or of an older registration arriving late, not an error.

The failed condition returns the stored item (``ReturnValuesOnConditionCheckFailure``): when its
version equals ours, the item is ours. That is what a botocore retry sees when the first attempt
was applied but its response was lost, so it counts as applied, not stale.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from registration.errors import StoreUnavailableError
from registration.models import Registration

CONDITION_FAILED = "ConditionalCheckFailedException"
# Apply only to a new user or over a strictly lower version; an equal version is a redelivery.
NEWER_VERSION_CONDITION = "attribute_not_exists(user_id) OR version < :version"


class WriteOutcome(StrEnum):
    APPLIED = "applied"
    STALE = "stale"


def to_item(registration: Registration) -> dict[str, dict[str, str]]:
    """The stored item; ``email`` is absent (not null) when the registration has none."""
    item = {
        "user_id": {"S": registration.user_id},
        "name": {"S": registration.name},
        "registered_at": {"S": registration.registered_at_text},
        "version": {"S": registration.version},
    }
    if registration.email is not None:
        item["email"] = {"S": registration.email}
    return item


class DynamoDBStore:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def put(self, registration: Registration) -> WriteOutcome:
        """Write the registration unless the table already holds this or a newer version."""
        try:
            self._client.put_item(
                TableName=self._table_name,
                Item=to_item(registration),
                ConditionExpression=NEWER_VERSION_CONDITION,
                ExpressionAttributeValues={":version": {"S": registration.version}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == CONDITION_FAILED:
                stored_version = error.response.get("Item", {}).get("version", {}).get("S")
                if stored_version == registration.version:
                    return WriteOutcome.APPLIED
                return WriteOutcome.STALE
            raise StoreUnavailableError(f"DynamoDB PutItem failed: {code}") from error
        except BotoCoreError as error:
            raise StoreUnavailableError(
                f"DynamoDB PutItem failed: {type(error).__name__}"
            ) from error
        return WriteOutcome.APPLIED
