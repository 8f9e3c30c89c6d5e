"""Fixtures: an import stack in the session's moto, next to this test's own handler stores.

The registration handler's fixtures (its environment, its stores, cold caches) are reused from
tests/lambdas/registration, so the registration queue is consumed by the real handler in-process.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import pytest

from importer import app as importer_app
from scripts.harness.stack.moto_server import MotoServer
from tests.lambdas.importer.support import ImportStack, provision
from tests.lambdas.registration.conftest import configure, handler_stores
from tests.lambdas.registration.support import HandlerStores

__all__ = ["configure", "handler_stores"]


@pytest.fixture
def import_stack(
    handler_stores: HandlerStores,
    moto_server: MotoServer,
    configure: Callable[[dict[str, str]], None],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ImportStack]:
    stack = provision(handler_stores, moto_server.endpoint_url, secrets.token_hex(4))
    configure(stack.environment())
    monkeypatch.delenv("TIME_RESERVE_MS", raising=False)
    importer_app.clients.cache_clear()
    yield stack
    importer_app.clients.cache_clear()
