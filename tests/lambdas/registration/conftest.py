"""Fixtures to run the handler in-process against this test's own stores.

The handler is configured only through its environment (as in Lambda); its module-level caches
are reset around each test so every test starts cold with its own table, database and DLQ.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from registration import app, resources
from scripts.harness.stack import local_stores
from tests.lambdas.registration.support import HandlerStores, function_environment

if TYPE_CHECKING:
    from tests.conftest import DatabaseServer


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[dict[str, str]], None]]:
    """Set the handler's environment and start it cold (caches cleared)."""

    def apply(environment: dict[str, str]) -> None:
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        resources.reset()

    for name in ("AWS_PROFILE", "DB_CA_BUNDLE", "TIME_RESERVE_MS"):
        monkeypatch.delenv(name, raising=False)
    yield apply
    resources.reset()


@pytest.fixture
def handler_stores(
    fresh_stores: local_stores.ProvisionedStores,
    mariadb_server: DatabaseServer,
    configure: Callable[[dict[str, str]], None],
) -> HandlerStores:
    configure(function_environment(fresh_stores))
    return HandlerStores(fresh_stores, mariadb_server)


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """The handler's structured log output for this test (one JSON object per line)."""
    stream = io.StringIO()
    handler = app.logger.registered_handler
    previous = handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        yield stream
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]
