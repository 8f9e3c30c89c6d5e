"""Turn SQS ReceiveMessage output into the event Lambda's SQS poller hands to a function.

The handler is tested against this exact shape (the console's test events have it too), so the
local runner must build it field for field: camelCase keys, attributes as strings, message
attributes in Lambda's lower-camel form with binary values base64-encoded.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

EVENT_SOURCE = "aws:sqs"


def region_of(arn: str) -> str:
    """The region field of an ARN (arn:aws:sqs:<region>:<account>:<name>)."""
    return arn.split(":")[3]


def message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """One SQS message attribute (StringValue/BinaryValue/DataType) in Lambda's event form."""
    converted: dict[str, Any] = {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        raw = value["BinaryValue"]
        converted["binaryValue"] = base64.b64encode(raw).decode() if isinstance(raw, bytes) else raw
    return converted


def record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """The event record for one received message."""
    converted: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {k: str(v) for k, v in message.get("Attributes", {}).items()},
        "messageAttributes": {
            name: message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": EVENT_SOURCE,
        "eventSourceARN": queue_arn,
        "awsRegion": region_of(queue_arn),
    }
    if message.get("MD5OfMessageAttributes"):
        converted["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return converted


def event(messages: Sequence[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The whole invocation payload for one batch."""
    return {"Records": [record(message, queue_arn) for message in messages]}
