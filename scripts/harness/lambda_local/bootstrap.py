"""The execution environment's side of `lambda_runtime`: a tiny stand-in for Lambda's runtime.

Run as a script by `lambda_runtime.LambdaProcess` with ``python -I -S -B``: no site-packages, no
script directory, no bytecode writes, so ``sys.path`` is only what the parent allows (the
extracted zip first, then the standard library, then a directory holding just boto3 and its
dependencies, as the python3.12 runtime provides them). Standard library only, by necessity.

Protocol (one JSON object per line): the parent writes an ``init`` message and then ``invoke``
messages to our stdin; we answer ``ready``/``init_error`` and then one ``result`` per invoke on
the result file descriptor. Our stdout/stderr are the function's log output.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
import traceback
from typing import Any


class HandlerNotFoundError(Exception):
    """The handler setting names no callable."""


class LambdaContext:
    """The attributes and method the Python runtime's context object offers."""

    def __init__(self, message: dict[str, Any]) -> None:
        self.aws_request_id: str = message["request_id"]
        self.function_name: str = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version: str = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.invoked_function_arn: str = message["invoked_function_arn"]
        # The real runtime passes the environment string through unchanged.
        self.memory_limit_in_mb: str = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name: str = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name: str = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self._deadline_ms: int = message["deadline_ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def error_document(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorMessage": str(error),
        "errorType": error_type or type(error).__name__,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def log_error(document: dict[str, Any]) -> None:
    """What the runtime prints for an unhandled error."""
    print(f"[ERROR] {document['errorType']}: {document['errorMessage']}", file=sys.stderr)
    print("Traceback (most recent call last):", file=sys.stderr)
    print("".join(document["stackTrace"]), file=sys.stderr, end="")


def max_memory_mb() -> int:
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # ru_maxrss is KiB


def load_handler(handler: str) -> Any:
    module_name, _, function_name = handler.rpartition(".")
    if not module_name:
        raise HandlerNotFoundError(f"Bad handler '{handler}': expected module.function")
    module = importlib.import_module(module_name)
    function = getattr(module, function_name, None)
    if not callable(function):
        raise HandlerNotFoundError(f"Handler '{function_name}' missing on module '{module_name}'")
    return function


def init_error_type(error: BaseException) -> str:
    """The runtime's error types for a failed init."""
    if isinstance(error, SyntaxError):
        return "Runtime.UserCodeSyntaxError"
    if isinstance(error, ImportError):
        return "Runtime.ImportModuleError"
    if isinstance(error, HandlerNotFoundError):
        return "Runtime.HandlerNotFound"
    return type(error).__name__


def invoke(function: Any, message: dict[str, Any]) -> dict[str, Any]:
    context = LambdaContext(message)
    os.environ["_X_AMZN_TRACE_ID"] = message.get("trace_id", "")
    started = time.perf_counter()
    result: dict[str, Any] = {"type": "result", "request_id": context.aws_request_id}
    try:
        response = function(message["event"], context)
        try:
            result["response"] = json.loads(json.dumps(response))
        except (TypeError, ValueError) as error:
            result["error"] = error_document(error, "Runtime.MarshalError")
    except Exception as error:
        result["error"] = error_document(error)
    result["duration_ms"] = (time.perf_counter() - started) * 1000
    if "error" in result:
        log_error(result["error"])
    return result


def main() -> None:
    results = os.fdopen(int(sys.argv[1]), "w", buffering=1)

    def answer(document: dict[str, Any]) -> None:
        # Logs first, so the parent finds them complete when the answer arrives.
        sys.stdout.flush()
        sys.stderr.flush()
        document["max_memory_mb"] = max_memory_mb()
        results.write(json.dumps(document) + "\n")

    init = json.loads(sys.stdin.readline())
    sys.path[:0] = [init["code_dir"]]
    sys.path.extend(init["runtime_dirs"])
    os.chdir(init["code_dir"])
    started = time.perf_counter()
    try:
        function = load_handler(init["handler"])
    except Exception as error:
        document = error_document(error, init_error_type(error))
        log_error(document)
        answer({"type": "init_error", "error": document})
        return
    answer({"type": "ready", "init_ms": (time.perf_counter() - started) * 1000})
    for line in sys.stdin:
        answer(invoke(function, json.loads(line)))


if __name__ == "__main__":
    main()
