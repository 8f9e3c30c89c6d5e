"""A stack built with boto3 in a private moto server, so the runner, send and verify are tested
without Terraform: the same resources and outputs Terraform's local profile creates, by name.

Servers are started per session on free ports with the shared harness (processes, moto_server,
mariadb); each test gets a freshly reset moto and its own resource names.
"""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scripts.harness.lambda_local import config
from scripts.harness.stack import aws_session, processes
from scripts.harness.stack.mariadb import MariaDBServer
from scripts.harness.stack.moto_server import MotoServer
from scripts.harness.stack.outputs import StackOutputs

DB_NAME = "registrations"
DB_USER = "registrations_app"
ACCOUNT = "123456789012"


@pytest.fixture(autouse=True)
def _no_ambient_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests name their endpoint explicitly; a developer's AWS_ENDPOINT_URL must not leak in."""
    for name in ("AWS_ENDPOINT_URL", "LOCALSTACK_HOST", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto"), port=processes.free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def endpoint(moto: MotoServer) -> str:
    """A clean moto for this test."""
    moto.reset()
    return moto.endpoint_url


@pytest.fixture
def session(endpoint: str) -> aws_session.SessionLike:
    return aws_session.session(aws_session.local_target(endpoint))


@dataclass(frozen=True)
class Database:
    server: MariaDBServer
    password: str

    @property
    def port(self) -> int:
        return self.server.port


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    base = tmp_path_factory.mktemp("mariadb")
    server = MariaDBServer(base, port=processes.free_port(), durable=False)
    server.start()
    password = secrets.token_urlsafe(16)
    server.provision(database=DB_NAME, user=DB_USER, password=password)
    yield Database(server, password)
    server.stop()


def placeholder_zip() -> bytes:
    """A deployment package for tests whose function never runs for real."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        # A fixed timestamp: the same bytes (and CodeSha256) on every call.
        entry = zipfile.ZipInfo("registration/app.py", date_time=(2026, 1, 1, 0, 0, 0))
        archive.writestr(entry, "def lambda_handler(event, context):\n    pass\n")
    return buffer.getvalue()


@dataclass(frozen=True)
class StackSpec:
    """Settings of the boto3-built stack (defaults: what the local profile deploys)."""

    batch_size: int = 10
    batching_window_s: int = 0
    maximum_concurrency: int | None = 2
    visibility_timeout_s: int = 30
    max_receive_count: int = 3
    timeout_s: int = 5
    memory_mb: int = 256
    response_types: tuple[str, ...] = ("ReportBatchItemFailures",)
    filter_patterns: tuple[dict[str, Any], ...] = ()


def build_stack(
    session: aws_session.SessionLike,
    endpoint: str,
    zip_bytes: bytes,
    *,
    spec: StackSpec,
    db_port: int,
    db_password: str,
) -> StackOutputs:
    """Queue + DLQ (redrive), table, secret, role, function, disabled mapping, log group."""
    sqs = session.client("sqs")
    dlq_url = sqs.create_queue(QueueName="registrations-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName="registrations",
        Attributes={
            "VisibilityTimeout": str(spec.visibility_timeout_s),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": spec.max_receive_count}
            ),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    session.client("dynamodb").create_table(
        TableName="registrations-users",
        AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    secret_arn = session.client("secretsmanager").create_secret(
        Name="registrations/db",
        SecretString=json.dumps({"username": DB_USER, "password": db_password}),
    )["ARN"]
    role = session.client("iam").create_role(
        RoleName="registrations-function",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    lambda_client = session.client("lambda")
    function = lambda_client.create_function(
        FunctionName="registrations",
        Runtime="python3.12",
        Role=role,
        Handler="registration.app.lambda_handler",
        Code={"ZipFile": zip_bytes},
        Timeout=spec.timeout_s,
        MemorySize=spec.memory_mb,
        Environment={
            "Variables": {
                "TABLE_NAME": "registrations-users",
                "DLQ_URL": dlq_url,
                "DB_HOST": "127.0.0.1",
                "DB_PORT": str(db_port),
                "DB_NAME": DB_NAME,
                "DB_SECRET_ARN": secret_arn,
                "DB_TLS": "off",
                "AWS_ENDPOINT_URL": endpoint,
                "POWERTOOLS_SERVICE_NAME": "registration",
                "POWERTOOLS_METRICS_NAMESPACE": "Registrations",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            }
        },
    )
    mapping_args: dict[str, Any] = {
        "EventSourceArn": queue_arn,
        "FunctionName": "registrations",
        "BatchSize": spec.batch_size,
        "MaximumBatchingWindowInSeconds": spec.batching_window_s,
        "FunctionResponseTypes": list(spec.response_types),
        "Enabled": False,
    }
    if spec.filter_patterns:
        mapping_args["FilterCriteria"] = {
            "Filters": [{"Pattern": json.dumps(pattern)} for pattern in spec.filter_patterns]
        }
    if spec.maximum_concurrency is not None:
        mapping_args["ScalingConfig"] = {"MaximumConcurrency": spec.maximum_concurrency}
    mapping = lambda_client.create_event_source_mapping(**mapping_args)
    log_group = f"/aws/lambda/{function['FunctionName']}"
    session.client("logs").create_log_group(logGroupName=log_group)
    return StackOutputs(
        queue_url=queue_url,
        queue_arn=queue_arn,
        dlq_url=dlq_url,
        dlq_arn=dlq_arn,
        table_name="registrations-users",
        db_host="127.0.0.1",
        db_port=db_port,
        db_name=DB_NAME,
        db_secret_arn=secret_arn,
        function_name="registrations",
        log_group_name=log_group,
        event_source_mapping_uuid=mapping["UUID"],
    )


@pytest.fixture
def stack_spec() -> StackSpec:
    return StackSpec()


@pytest.fixture
def stack(session: aws_session.SessionLike, endpoint: str, stack_spec: StackSpec) -> StackOutputs:
    """A stack whose function is a placeholder (tests drive the runner with fakes)."""
    return build_stack(
        session, endpoint, placeholder_zip(), spec=stack_spec, db_port=3306, db_password="unused"
    )


@pytest.fixture
def outputs_file(tmp_path: Path, stack: StackOutputs) -> Path:
    path = tmp_path / "outputs.json"
    path.write_text(stack.to_json())
    return path


def zip_sha(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "code.zip"
    path.write_bytes(data)
    return config.zip_sha256(path)
