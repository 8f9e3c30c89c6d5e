"""Park a message that can never succeed in the DLQ, with the reason as message attributes.

Sending it ourselves (instead of failing it until SQS redrives it) spares the database
``maxReceiveCount`` pointless attempts and records *why* it was rejected, which redrive cannot.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from registration.errors import DeadLetterError, ValidationError

# SQS limits an attribute value only by the message size; keep details to one readable line.
MAX_DETAIL_LENGTH = 500


class DeadLetterQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, *, body: str, source_message_id: str, error: ValidationError) -> str:
        """Forward the original body unchanged; returns the DLQ message id."""
        attributes = {
            "failure_reason": error.reason.value,
            "failure_detail": error.detail[:MAX_DETAIL_LENGTH],
            "source_message_id": source_message_id,
        }
        try:
            response = self._client.send_message(
                QueueUrl=self._queue_url,
                MessageBody=body,
                MessageAttributes={
                    name: {"DataType": "String", "StringValue": value}
                    for name, value in attributes.items()
                },
            )
        except ClientError as failure:
            code = failure.response.get("Error", {}).get("Code", "ClientError")
            raise DeadLetterError(f"DLQ SendMessage failed: {code}") from failure
        except BotoCoreError as failure:
            raise DeadLetterError(f"DLQ SendMessage failed: {type(failure).__name__}") from failure
        return str(response["MessageId"])
