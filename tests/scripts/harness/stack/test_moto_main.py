"""moto through moto_main.py behaves as AWS where the stack depends on it."""

from __future__ import annotations

import io
import secrets
import threading
import time
import zipfile
from typing import Any

import boto3
import pytest

from scripts.harness.stack.moto_server import MotoServer

pytestmark = pytest.mark.integration


def client(server: MotoServer, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


@pytest.fixture
def function_and_queue(moto_server: MotoServer) -> tuple[str, str]:
    """A function with versions 1 and 2, aliases live (1) and canary (2), and a queue."""
    suffix = secrets.token_hex(4)
    role = client(moto_server, "iam").create_role(
        RoleName=f"r-{suffix}", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    lambda_client = client(moto_server, "lambda")
    name = f"fn-{suffix}"
    for body in ("one", "two"):
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("app.py", f"def handler(event, context):\n    return '{body}'\n")
        if body == "one":
            lambda_client.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler="app.handler",
                Code={"ZipFile": archive.getvalue()},
                Publish=True,
            )
        else:
            lambda_client.update_function_code(
                FunctionName=name, ZipFile=archive.getvalue(), Publish=True
            )
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    lambda_client.create_alias(FunctionName=name, Name="canary", FunctionVersion="2")
    sqs = client(moto_server, "sqs")
    queue_url = sqs.create_queue(QueueName=f"q-{suffix}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    return name, queue_arn


def test_a_mapping_on_an_alias_reports_the_alias_not_its_version(
    moto_server: MotoServer, function_and_queue: tuple[str, str]
) -> None:
    name, queue_arn = function_and_queue
    lambda_client = client(moto_server, "lambda")
    function_arn = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    mapping = lambda_client.create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName=f"{function_arn}:live", Enabled=False
    )
    assert mapping["FunctionArn"] == f"{function_arn}:live"
    uuid = mapping["UUID"]
    assert lambda_client.get_event_source_mapping(UUID=uuid)["FunctionArn"] == (
        f"{function_arn}:live"
    )

    lambda_client.update_event_source_mapping(UUID=uuid, FunctionName=f"{name}:canary")
    assert lambda_client.get_event_source_mapping(UUID=uuid)["FunctionArn"] == (
        f"{function_arn}:canary"
    )
    # A version or the bare function stay what moto (and AWS) report for them.
    lambda_client.update_event_source_mapping(UUID=uuid, FunctionName=f"{function_arn}:2")
    assert lambda_client.get_event_source_mapping(UUID=uuid)["FunctionArn"] == f"{function_arn}:2"
    lambda_client.update_event_source_mapping(UUID=uuid, FunctionName=name)
    assert lambda_client.get_event_source_mapping(UUID=uuid)["FunctionArn"] == function_arn


def test_tags_given_at_create_bucket_are_kept(moto_server: MotoServer) -> None:
    s3 = client(moto_server, "s3")
    tagged, plain = f"tagged-{secrets.token_hex(4)}", f"plain-{secrets.token_hex(4)}"
    s3.create_bucket(
        Bucket=tagged,
        CreateBucketConfiguration={"Tags": [{"Key": "Project", "Value": "registrations"}]},
    )
    s3.create_bucket(Bucket=plain)

    assert s3.get_bucket_tagging(Bucket=tagged)["TagSet"] == [
        {"Key": "Project", "Value": "registrations"}
    ]
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchTagSet"):
        s3.get_bucket_tagging(Bucket=plain)


def test_no_message_is_lost_while_others_are_deleted(moto_server: MotoServer) -> None:
    """moto rebuilt a queue's list on delete without the lock sends append under: with a
    backlog, messages sent meanwhile vanished (6 of 13,000 in a run like this one)."""
    sqs = client(moto_server, "sqs")
    queue_url = sqs.create_queue(
        QueueName=f"race-{secrets.token_hex(4)}", Attributes={"VisibilityTimeout": "600"}
    )["QueueUrl"]

    def send(prefix: str, count: int) -> None:
        sender = client(moto_server, "sqs")
        for start in range(0, count, 10):
            sender.send_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "MessageBody": f"{prefix}{start + i}"} for i in range(10)],
            )

    send("backlog-", 4000)
    sending = threading.Thread(target=send, args=("concurrent-", 3000))
    received: list[str] = []
    lock = threading.Lock()

    def receive_and_delete() -> None:
        receiver = client(moto_server, "sqs")
        empty_since: float | None = None
        while empty_since is None or time.monotonic() - empty_since < 2:
            messages = receiver.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                if not sending.is_alive():
                    empty_since = empty_since or time.monotonic()
                continue
            empty_since = None
            with lock:
                received.extend(message["Body"] for message in messages)
            receiver.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]}
                    for i, message in enumerate(messages)
                ],
            )

    receivers = [threading.Thread(target=receive_and_delete) for _ in range(5)]
    sending.start()
    for thread in receivers:
        thread.start()
    for thread in [sending, *receivers]:
        thread.join()

    assert len(received) == len(set(received)), "a message was handed out twice"
    assert len(received) == 7000, f"{7000 - len(received)} message(s) lost"


def test_every_version_of_a_deleted_key_can_be_deleted(moto_server: MotoServer) -> None:
    """What `terraform destroy` does to a versioned bucket with a deleted object: it suspends
    versioning (aws_s3_bucket_versioning goes first), then force_destroy deletes every version."""
    s3 = client(moto_server, "s3")
    bucket = f"versioned-{secrets.token_hex(4)}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="imports/a.csv.part", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="imports/a.csv.part")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})

    listing = s3.list_object_versions(Bucket=bucket)
    versions = [
        {"Key": item["Key"], "VersionId": item["VersionId"]}
        for item in listing.get("Versions", []) + listing.get("DeleteMarkers", [])
    ]
    assert len(versions) == 2
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": versions})

    assert result.get("Errors", []) == []
    s3.delete_bucket(Bucket=bucket)
