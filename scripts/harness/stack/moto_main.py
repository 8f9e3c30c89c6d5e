"""`python -m moto.server`, with seven fixes to moto 5.2.5 that the local stack depends on.

Run by file path (see moto_server.py), so it imports nothing from this repository.

1. Receive cost. `SQSBackend.receive_message` checks every message it hands out against the
   queue's retention period by calling `get_queue_attributes`, which builds *all* attributes,
   ApproximateNumberOfMessages* included: three scans of the whole queue per received message.
   Under the local runner that was 77 % of the server's time and made a drain quadratic in the
   backlog (bench/README.md, "Local runner drain"). The fix reads the one attribute it needs.
2. Clock cost. Every SQS visibility/delay check asks `unix_time_millis()`, which builds two
   datetimes (and imports `datetime.UTC`) per call; a send still builds all attributes (for
   ContentBasedDeduplication), i.e. four such checks per queued message. Within moto's SQS
   module the same number now comes from `time.time()`.
3. Aliases in event source mappings. moto stores the alias's current *version* as a mapping's
   FunctionArn when the mapping names an alias; AWS keeps the alias ARN, and the local runner
   needs it to route batches by the alias's RoutingConfig weights.
4. LoggingConfig. moto drops a function's LoggingConfig (log format, levels, log group); the
   local runner reads it from GetFunction, as on AWS, to write the logs in that format.
5. Tags at CreateBucket. Provider 6.x tags a bucket in its CreateBucketConfiguration; moto
   ignores them there, so every re-plan would add the tags again.
6. Lost messages. `Queue.delete_message` rebuilds the queue's message list without the lock
   that `add_message` appends under, so a message sent during a delete vanished (4 of 10,000
   in `make chaos`); concurrent receives could also hand out one message twice. Deletes and
   receives now hold the queue's lock (a long poll releases it while it waits).
7. Delete markers. Deleting a key's versions one by one (what `force_destroy` does to a
   versioned bucket) calls `dispose()` on every version, and a delete marker has none: HTTP 500,
   retried by the provider until `terraform destroy` gives up. A marker holds no data.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

# Run as a script, this file's directory is sys.path[0]; nothing there may shadow moto's imports.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import xmltodict
from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.core import utils as moto_utils
from moto.s3.models import FakeDeleteMarker
from moto.s3.responses import S3Response
from moto.server import main
from moto.sqs import models as sqs_models
from moto.sqs.models import Message, Queue, SQSBackend


def _retained(self: SQSBackend, queue_name: str, message: Message) -> bool:
    retention_s = int(self.get_queue(queue_name).message_retention_period)
    return bool(message.sent_timestamp / 1000 + retention_s > time.time())  # type: ignore[operator]


def _unix_time(dt: Any = None) -> float:
    """moto's unix_time: seconds since the epoch of a naive UTC datetime, by default now."""
    return time.time() if dt is None else moto_utils.unix_time(dt)


def _unix_time_millis(dt: Any = None) -> float:
    return _unix_time(dt) * 1000.0


def _alias_of(function_name: str) -> str | None:
    """The alias a FunctionName (name, name:qualifier, or ARN) names, if it names one."""
    parts = function_name.split(":")
    qualifier = parts[7] if function_name.startswith("arn:") and len(parts) > 7 else None
    if not function_name.startswith("arn:") and len(parts) == 2:
        qualifier = parts[1]
    if qualifier is None or qualifier.isdigit() or qualifier == "$LATEST":
        return None
    return qualifier


def _keep_alias(esm: Any, function_name: str) -> None:
    alias = _alias_of(function_name)
    if esm is not None and alias is not None:
        unqualified = ":".join(esm.function_arn.split(":")[:7])
        esm.function_arn = f"{unqualified}:{alias}"


_create_mapping = LambdaBackend.create_event_source_mapping
_update_mapping = LambdaBackend.update_event_source_mapping


def _create_event_source_mapping(self: LambdaBackend, spec: dict[str, Any]) -> Any:
    function_name = spec.get("FunctionName", "")
    esm = _create_mapping(self, spec)
    _keep_alias(esm, function_name)
    return esm


def _update_event_source_mapping(self: LambdaBackend, uuid: str, spec: dict[str, Any]) -> Any:
    esm = _update_mapping(self, uuid, spec)
    _keep_alias(esm, spec.get("FunctionName", ""))
    return esm


_function_init = LambdaFunction.__init__
_function_update = LambdaFunction.update_configuration
_function_configuration = LambdaFunction.get_configuration


def _init_function(
    self: LambdaFunction, account_id: str, spec: dict[str, Any], *a: Any, **k: Any
) -> None:
    _function_init(self, account_id, spec, *a, **k)
    self.logging_config = spec.get("LoggingConfig") or {}  # type: ignore[attr-defined]


def _update_function(self: LambdaFunction, config_updates: dict[str, Any]) -> dict[str, Any]:
    if "LoggingConfig" in config_updates:
        self.logging_config = config_updates["LoggingConfig"] or {}  # type: ignore[attr-defined]
    return _function_update(self, config_updates)


def _function_configuration_with_logging(
    self: LambdaFunction, on_create: bool = False
) -> dict[str, Any]:
    config = _function_configuration(self, on_create)
    config["LoggingConfig"] = {
        "LogFormat": "Text",
        "LogGroup": f"/aws/lambda/{self.function_name}",
        **getattr(self, "logging_config", {}),
    }
    return config


_bucket_response_put = S3Response._bucket_response_put


def _create_bucket_with_tags(
    self: S3Response, request: Any, bucket_name: str, querystring: dict[str, Any]
) -> Any:
    response = _bucket_response_put(self, request, bucket_name, querystring)
    if not querystring and self.body:
        configuration = xmltodict.parse(self.body).get("CreateBucketConfiguration") or {}
        tags = (configuration.get("Tags") or {}).get("Tag") or []
        if isinstance(tags, dict):
            tags = [tags]
        if tags:
            self.backend.put_bucket_tagging(
                bucket_name, {tag["Key"]: tag.get("Value") or "" for tag in tags}
            )
    return response


_delete_message = Queue.delete_message
_receive_message = SQSBackend.receive_message


def _delete_message_locked(self: Queue, receipt_handle: str) -> None:
    with self._messages_lock:
        _delete_message(self, receipt_handle)


def _receive_message_locked(
    self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any
) -> list[Message]:
    with self.get_queue(queue_name)._messages_lock:
        return _receive_message(self, queue_name, *args, **kwargs)


LambdaFunction.__init__ = _init_function  # type: ignore[method-assign]
LambdaFunction.update_configuration = _update_function  # type: ignore[method-assign]
LambdaFunction.get_configuration = _function_configuration_with_logging  # type: ignore[method-assign]
SQSBackend.is_message_valid_based_on_retention_period = _retained  # type: ignore[method-assign]
sqs_models.unix_time = _unix_time  # type: ignore[assignment]
sqs_models.unix_time_millis = _unix_time_millis  # type: ignore[assignment]
LambdaBackend.create_event_source_mapping = _create_event_source_mapping  # type: ignore[method-assign]
LambdaBackend.update_event_source_mapping = _update_event_source_mapping  # type: ignore[method-assign]
S3Response._bucket_response_put = _create_bucket_with_tags  # type: ignore[method-assign]
Queue.delete_message = _delete_message_locked  # type: ignore[method-assign]
FakeDeleteMarker.dispose = lambda self, garbage=False: None  # type: ignore[attr-defined]
SQSBackend.receive_message = _receive_message_locked  # type: ignore[method-assign]

if __name__ == "__main__":
    main()
