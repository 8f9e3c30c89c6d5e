"""Each gateway test gets a fresh moto, the ingest API created in it (support.py), and a local
gateway serving it on a free port in a thread.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from scripts.harness.gateway import server
from scripts.harness.stack import aws_session, processes
from scripts.harness.stack.moto_server import MotoServer
from tests.scripts.gateway.support import STAGE, IngestApi


@pytest.fixture(autouse=True)
def _no_ambient_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "LOCALSTACK_HOST", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    moto_server = MotoServer(tmp_path_factory.mktemp("moto"), port=processes.free_port())
    moto_server.start()
    yield moto_server
    moto_server.stop()


@pytest.fixture
def session(moto: MotoServer) -> Any:
    moto.reset()
    return aws_session.session(aws_session.local_target(moto.endpoint_url))


@dataclass
class RunningGateway:
    url: str  # the POST resource
    api: IngestApi

    def received(self) -> list[dict[str, Any]]:
        """Every message on the queue (bodies and attributes), removed from it."""
        sqs = self.api.session.client("sqs")
        messages: list[dict[str, Any]] = []
        while batch := sqs.receive_message(
            QueueUrl=self.api.queue_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", []):
            messages += batch
            sqs.delete_message_batch(
                QueueUrl=self.api.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
                ],
            )
        return messages


@pytest.fixture
def start_gateway() -> Iterator[Callable[..., RunningGateway]]:
    """Serve an API (optionally with another SQS client) on a free port until the test ends."""
    servers: list[server.GatewayHTTPServer] = []

    def start(api: IngestApi, sqs: Any = None) -> RunningGateway:
        gateway = server.from_endpoint(api.session, api.api_id, STAGE)
        if sqs is not None:
            gateway = server.Gateway(gateway.api, sqs, {"registrations": api.queue_url})
        http_server = server.serve(gateway, "127.0.0.1", 0)
        servers.append(http_server)
        threading.Thread(target=http_server.serve_forever, daemon=True).start()
        return RunningGateway(f"{http_server.url}/{STAGE}/registrations", api)

    yield start
    for http_server in servers:
        http_server.shutdown()
        http_server.server_close()


def body(**overrides: Any) -> str:
    document = {
        "user_id": "u-1001",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "registered_at": "2026-01-01T09:00:00Z",
    }
    document.update(overrides)
    return json.dumps({k: v for k, v in document.items() if v is not None}, ensure_ascii=False)
