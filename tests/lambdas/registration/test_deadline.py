"""The time reserve against a database made slow for real: a TCP proxy that delays every reply.

Near its deadline a batch must hand its records back to SQS (batch item failures) and return
before the function timeout, never be cut off mid-write. The context's remaining time is the
real clock against a timeout, as in Lambda.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from registration.config import minimum_time_reserve_ms
from tests.lambdas.registration.support import HandlerStores, body, canonical, sqs_event

pytestmark = pytest.mark.integration

REPLY_DELAY_S = 1.5
DB_CONNECT_TIMEOUT_S = 1
DB_READ_TIMEOUT_S = 2  # above the delay: the server is slow, not gone


class DelayingProxy:
    """127.0.0.1:<port> -> upstream; every chunk the server sends waits `delay_s` first."""

    def __init__(self, upstream: tuple[str, int], delay_s: float) -> None:
        self._upstream = upstream
        self._delay_s = delay_s
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._sockets: list[socket.socket] = [self._listener]
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self._listener.accept()
                server = socket.create_connection(self._upstream)
                self._sockets += [client, server]
                threading.Thread(target=self._pump, args=(client, server, 0.0), daemon=True).start()
                threading.Thread(
                    target=self._pump, args=(server, client, self._delay_s), daemon=True
                ).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket, delay_s: float) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                time.sleep(delay_s)
                target.sendall(chunk)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()


@dataclass
class RealClockContext:
    """A Lambda context whose remaining time runs down with the wall clock."""

    timeout_ms: int
    started: float = field(default_factory=time.monotonic)
    function_name: str = "registration"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:registration"
    aws_request_id: str = "deadline-test"

    def get_remaining_time_in_millis(self) -> int:
        return int(self.timeout_ms - (time.monotonic() - self.started) * 1000)


@pytest.fixture
def slow_database(
    handler_stores: HandlerStores, configure: Callable[[dict[str, str]], None]
) -> Iterator[DelayingProxy]:
    proxy = DelayingProxy(("127.0.0.1", handler_stores.database.port), REPLY_DELAY_S)
    configure(
        {
            "DB_PORT": str(proxy.port),
            "DB_CONNECT_TIMEOUT": str(DB_CONNECT_TIMEOUT_S),
            "DB_READ_TIMEOUT": str(DB_READ_TIMEOUT_S),
        }
    )
    try:
        yield proxy
    finally:
        proxy.close()


def test_a_batch_near_its_deadline_hands_records_back_before_the_timeout(
    handler_stores: HandlerStores, slow_database: DelayingProxy
) -> None:
    reserve_ms = minimum_time_reserve_ms(DB_CONNECT_TIMEOUT_S, DB_READ_TIMEOUT_S)
    # Enough to start the connect (three delayed replies), not enough for what follows it.
    context = RealClockContext(timeout_ms=reserve_ms + 3_000)
    users = [canonical(f"u-{n}", "N", None, "2026-01-01T00:00:00Z") for n in range(3)]
    event = sqs_event([body(**user) for user in users] + ["not json"])
    ids = [record["messageId"] for record in event["Records"]]
    response = handler_stores.invoke(event, context)
    assert context.get_remaining_time_in_millis() > 0, "the invocation ran past its timeout"
    assert {failure["itemIdentifier"] for failure in response["batchItemFailures"]} == set(ids[:3])
    assert [m["source_message_id"] for m in handler_stores.dlq_messages()] == [ids[3]]
    assert handler_stores.dynamodb_users() == {}


def test_a_budget_below_one_slow_step_starts_no_write(
    handler_stores: HandlerStores, slow_database: DelayingProxy
) -> None:
    """6 s: above the old fixed 3 s reserve, below this slow connect + schema + upsert (7.5 s)."""
    context = RealClockContext(timeout_ms=6_000)
    event = sqs_event([body(**canonical("u-1", "N", None, "2026-01-01T00:00:00Z")), "not json"])
    with pytest.raises(BatchProcessingError):  # every record handed back: a function error
        handler_stores.invoke(event, context)
    assert context.get_remaining_time_in_millis() > 0, "the invocation ran past its timeout"
    assert handler_stores.dlq_messages() == []
    assert handler_stores.dynamodb_users() == {}
