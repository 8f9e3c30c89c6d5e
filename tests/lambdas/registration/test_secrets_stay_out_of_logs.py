"""The database password must never reach a log line, on the success path or the failure path."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from tests.lambdas.registration.support import HandlerStores, body, canonical

ADA = canonical("u-1", "Ada Lovelace", "ada@example.com", "2026-01-01T00:00:00Z")


def test_password_is_not_logged_when_writes_succeed(
    handler_stores: HandlerStores, captured_logs: io.StringIO
) -> None:
    handler_stores.invoke_bodies([body(**ADA)])

    assert handler_stores.database.password not in captured_logs.getvalue()
    assert set(handler_stores.mysql_users()) == {"u-1"}


def test_password_is_not_logged_when_the_login_fails(
    handler_stores: HandlerStores,
    captured_logs: io.StringIO,
    configure: Callable[[dict[str, str]], None],
) -> None:
    """A wrong password in the secret makes the driver fail; its error text must stay clean."""
    wrong_password = "wrong-Pa55-" + handler_stores.database.password[::-1]
    handler_stores.set_secret(
        {"username": handler_stores.database.user, "password": wrong_password}
    )
    configure({})  # cold start: the handler reads the secret again
    try:
        with pytest.raises(BatchProcessingError):
            handler_stores.invoke_bodies([body(**ADA)])
    finally:
        handler_stores.set_secret(
            {"username": handler_stores.database.user, "password": handler_stores.database.password}
        )

    logged = captured_logs.getvalue()
    assert "MySQL write failed" in logged, "the failure should be logged"
    assert wrong_password not in logged
    assert handler_stores.database.password not in logged
    assert all(json.loads(line) for line in logged.splitlines() if line.strip())
