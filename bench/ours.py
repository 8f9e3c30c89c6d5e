"""The handler itself, fed batches of ten: in this process, and from the built zip.

In-process isolates the handler's own cost (no IPC); the zip row runs the deployment package in
a `scripts.harness.lambda_local.runtime` worker process, as the local runner does, so it adds the
event's JSON round-trip through a pipe, log capture and the zip's uncompiled sources.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.workload import FakeContext
from scripts.harness.lambda_local.runtime import FunctionSpec, LambdaProcess
from scripts.harness.stack import local_stores

# What Lambda sets and boto3 needs in-process (the worker process gets these from lambda_runtime).
PROCESS_ENVIRONMENT = {
    "AWS_REGION": local_stores.LOCAL_REGION,
    "AWS_DEFAULT_REGION": local_stores.LOCAL_REGION,
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
}


class HandlerFailedError(RuntimeError):
    """A benchmark batch was not fully processed: the figure would be meaningless."""


def check_response(response: Any, error: Any = None) -> None:
    if error is not None or not isinstance(response, dict) or response.get("batchItemFailures"):
        raise HandlerFailedError(f"handler did not process the whole batch: {error or response}")


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set the function's environment in this process for the duration of one row."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def discarded_logs(logger: Any) -> Iterator[None]:
    """Keep formatting every log line (a real cost in Lambda) but write it to /dev/null."""
    handler = logger.registered_handler
    if not isinstance(handler, logging.StreamHandler):
        yield
        return
    with open(os.devnull, "w") as sink:
        previous = handler.setStream(sink)
        try:
            yield
        finally:
            handler.setStream(previous)


def run_in_process(
    stores: local_stores.ProvisionedStores,
    events: Sequence[dict[str, Any]],
    *,
    dynamodb: Any | None = None,
) -> float:
    """Seconds for ``lambda_handler`` over every event; resources are built on the first call.

    ``dynamodb`` replaces the DynamoDB client inside the handler's cached resources (the
    MySQL-only variant); the store object and everything around it stay the handler's own.
    """
    with environment({**PROCESS_ENVIRONMENT, **stores.function_environment()}):
        from registration import app, resources  # noqa: PLC0415 (needs the environment)

        resources.reset()  # A new environment is a cold start: no client or connection reuse.
        with discarded_logs(app.logger):
            try:
                started = time.perf_counter()
                if dynamodb is not None:
                    # Bench-only: swap the client before the first call creates anything else.
                    resources.get_resources().dynamodb._client = dynamodb
                for event in events:
                    check_response(app.lambda_handler(event, FakeContext()))
                return time.perf_counter() - started
            finally:
                resources.reset()


def run_zip(
    stores: local_stores.ProvisionedStores, events: Sequence[dict[str, Any]], code_dir: Path
) -> tuple[float, float, float | None]:
    """(wall seconds incl. the cold start, sum of invoke durations in s, init ms) for the zip."""
    spec = FunctionSpec(code_dir=code_dir, environment=stores.function_environment())
    with LambdaProcess(spec) as process:
        started = time.perf_counter()
        durations = 0.0
        init_ms: float | None = None
        for event in events:
            result = process.invoke(event)
            check_response(result.response, result.error)
            durations += result.duration_ms / 1000
            init_ms = init_ms if result.init_duration_ms is None else result.init_duration_ms
        return time.perf_counter() - started, durations, init_ms
