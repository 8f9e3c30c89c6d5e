"""Decide which messages of an invoked batch Lambda's SQS poller deletes.

Mirrors the documented rules ("Handling errors for an SQS event source in Lambda", partial batch
responses) so that what the local runner deletes is what AWS would delete:

- a function error or timeout fails the whole batch: nothing is deleted, every message becomes
  visible again after the queue's visibility timeout and the redrive policy eventually moves it to
  the DLQ;
- without `ReportBatchItemFailures` in the mapping's FunctionResponseTypes the response is
  ignored and a successful invocation deletes the whole batch;
- with it, a null/empty response or a null/empty `batchItemFailures` list is complete success;
  a malformed response (not an object, `batchItemFailures` not a list, an entry without a
  non-empty string `itemIdentifier`, or an identifier that is not in the batch) is complete
  failure; otherwise every message except the reported ones is deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"


@dataclass(frozen=True)
class Settlement:
    """The poller's decision for one batch: delete these, leave those for a retry, and why."""

    delete: tuple[str, ...]
    retry: tuple[str, ...]
    reason: str

    @property
    def whole_batch_failed(self) -> bool:
        return not self.delete and bool(self.retry)


def _failure(message_ids: Sequence[str], reason: str) -> Settlement:
    return Settlement(delete=(), retry=tuple(message_ids), reason=reason)


def _entry_problem(entry: Any, known: set[str]) -> str | None:
    """Why one batchItemFailures entry is malformed, or None."""
    if not isinstance(entry, dict) or "itemIdentifier" not in entry:
        return f"batchItemFailures entry without itemIdentifier: {entry!r}"
    identifier = entry["itemIdentifier"]
    if not isinstance(identifier, str) or not identifier:
        return f"itemIdentifier is null, empty or not a string: {identifier!r}"
    if identifier not in known:
        return f"itemIdentifier {identifier!r} is not a message of this batch"
    return None


def reported_failures(response: Any, message_ids: Sequence[str]) -> set[str] | str:
    """The identifiers of a partial batch response, or why the response is malformed."""
    if response is not None and not isinstance(response, dict):
        return f"response is {type(response).__name__}, not an object"
    failures = None if response is None else response.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return f"batchItemFailures is {type(failures).__name__}, not a list"
    known = set(message_ids)
    problems = (_entry_problem(entry, known) for entry in failures)
    problem = next((p for p in problems if p is not None), None)
    return problem if problem is not None else {entry["itemIdentifier"] for entry in failures}


def settle(
    message_ids: Sequence[str],
    *,
    function_error: str | None,
    response: Any,
    response_types: Sequence[str],
) -> Settlement:
    """What to delete after invoking the function on `message_ids`."""
    if function_error is not None:
        return _failure(message_ids, f"function error: {function_error}")
    if REPORT_BATCH_ITEM_FAILURES not in response_types:
        return Settlement(delete=tuple(message_ids), retry=(), reason="success")
    reported = reported_failures(response, message_ids)
    if isinstance(reported, str):
        return _failure(message_ids, f"malformed response: {reported}")
    delete = tuple(m for m in message_ids if m not in reported)
    retry = tuple(m for m in message_ids if m in reported)
    reason = "success" if not retry else f"{len(retry)} item failure(s) reported"
    return Settlement(delete=delete, retry=retry, reason=reason)
