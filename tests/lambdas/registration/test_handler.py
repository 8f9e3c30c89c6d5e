"""The handler end to end in-process: real MariaDB, moto server, this test's own resources."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from registration import app, resources
from registration.config import ConfigError, Settings
from scripts.harness.stack import local_stores, processes
from tests.lambdas.registration.support import (
    ContextStub,
    HandlerStores,
    body,
    canonical,
    function_environment,
    log_records,
    sqs_event,
)

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[3]
Configure = Callable[[dict[str, str]], None]

ADA = canonical("u-1", "Ada Lovelace", "ada@example.com", "2026-01-01T09:00:00Z")
GRACE = canonical("u-2", "Grace Hopper", None, "2026-01-01T09:01:00+01:00")


def failures(response: dict[str, Any]) -> set[str]:
    return {item["itemIdentifier"] for item in response["batchItemFailures"]}


def message_ids(event: dict[str, Any]) -> list[str]:
    return [record["messageId"] for record in event["Records"]]


def com_status(stores: HandlerStores, name: str) -> int:
    with stores.root_connection() as connection, connection.cursor() as cursor:
        cursor.execute("SHOW GLOBAL STATUS LIKE %s", (name,))
        row = cursor.fetchone()
        assert row is not None
        return int(row[1])


def test_tutorial_event_runs_unchanged(handler_stores: HandlerStores) -> None:
    event = json.loads((REPO_ROOT / "events" / "tutorial-legacy.json").read_text())
    assert handler_stores.invoke(event) == {"batchItemFailures": []}
    expected = {
        "1021": {
            "name": "Martha Rivera",
            "email": None,
            "registered_at": "2018-12-17T21:37:29.183000Z",
        }
    }
    for users in (handler_stores.mysql_users(), handler_stores.dynamodb_users()):
        assert {
            user: {k: v for k, v in row.items() if k != "version"} for user, row in users.items()
        } == expected


def test_valid_batch_reaches_mysql_and_dynamodb_identically(
    handler_stores: HandlerStores,
) -> None:
    """Fails if either write is skipped: both stores are read back independently."""
    event = json.loads((REPO_ROOT / "events" / "valid-batch-10.json").read_text())
    assert handler_stores.invoke(event) == {"batchItemFailures": []}
    mysql = handler_stores.mysql_users()
    assert len(mysql) == 10
    assert mysql["u-1008"]["name"] == "Ōtani Shōhei 🎌"
    assert mysql["u-1003"]["email"] is None
    assert mysql == handler_stores.dynamodb_users()
    assert handler_stores.dlq_messages() == []


def test_one_insert_statement_per_batch_and_no_schema_statement(
    handler_stores: HandlerStores,
) -> None:
    """The table is the bootstrap's (a migration): the handler's user may not create tables."""
    inserts, creates = (
        com_status(handler_stores, "Com_insert"),
        com_status(handler_stores, "Com_create_table"),
    )
    handler_stores.invoke_bodies([body(**ADA), body(**GRACE)])
    handler_stores.invoke_bodies(
        [body(**canonical(f"u-{n}", f"User {n}", None, "2026-01-02T00:00:00Z")) for n in range(10)]
    )
    assert com_status(handler_stores, "Com_insert") - inserts == 2
    assert com_status(handler_stores, "Com_create_table") - creates == 0


def test_invalid_messages_go_to_the_dlq_with_their_reason(handler_stores: HandlerStores) -> None:
    event = json.loads((REPO_ROOT / "events" / "invalid-records.json").read_text())
    response = handler_stores.invoke(event)
    assert response == {"batchItemFailures": []}  # rejected messages are handled, not retried
    dead = {message["source_message_id"]: message for message in handler_stores.dlq_messages()}
    by_id = {record["messageId"]: record for record in event["Records"]}
    assert {m["failure_reason"] for m in dead.values()} == {
        "invalid_json",
        "not_an_object",
        "missing_field",
        "wrong_type",
        "invalid_email",
        "oversized",
        "invalid_timestamp",
    }
    assert len(dead) == 8
    for message_id, message in dead.items():
        assert message["body"] == by_id[message_id]["body"]
        assert message["failure_detail"]
    assert set(handler_stores.mysql_users()) == {"u-2001", "2009"}
    assert set(handler_stores.dynamodb_users()) == {"u-2001", "2009"}


def test_redelivery_changes_nothing(handler_stores: HandlerStores) -> None:
    event = sqs_event([body(**ADA), body(**GRACE)])
    handler_stores.invoke(event)
    before = (handler_stores.mysql_users(), handler_stores.dynamodb_users())
    assert handler_stores.invoke(event) == {"batchItemFailures": []}
    assert (handler_stores.mysql_users(), handler_stores.dynamodb_users()) == before


def test_out_of_order_updates_keep_the_newest(handler_stores: HandlerStores) -> None:
    event = json.loads((REPO_ROOT / "events" / "out-of-order-updates.json").read_text())
    handler_stores.invoke(event)
    for users in (handler_stores.mysql_users(), handler_stores.dynamodb_users()):
        assert users["u-4001"]["name"] == "Samantha Final"
        assert users["u-4001"]["email"] == "samantha@example.com"


def test_database_down_fails_valid_records_but_still_parks_invalid_ones(
    handler_stores: HandlerStores, configure: Configure
) -> None:
    configure({"DB_PORT": str(processes.free_port()), "DB_CONNECT_TIMEOUT": "1"})
    event = sqs_event([body(**ADA), "not json", body(**GRACE)])
    ids = message_ids(event)
    response = handler_stores.invoke(event)
    assert failures(response) == {ids[0], ids[2]}
    assert [m["source_message_id"] for m in handler_stores.dlq_messages()] == [ids[1]]
    assert handler_stores.dynamodb_users() == {}  # no half-written record


def test_whole_batch_failing_is_a_function_error(
    handler_stores: HandlerStores, configure: Configure
) -> None:
    configure({"DB_PORT": str(processes.free_port()), "DB_CONNECT_TIMEOUT": "1"})
    with pytest.raises(BatchProcessingError):
        handler_stores.invoke_bodies([body(**ADA), body(**GRACE)])
    configure(function_environment(handler_stores.stores))
    assert handler_stores.mysql_users() == {}
    assert handler_stores.dynamodb_users() == {}
    assert handler_stores.dlq_messages() == []


def test_dynamodb_failure_is_a_batch_item_failure(
    handler_stores: HandlerStores, configure: Configure
) -> None:
    configure({"TABLE_NAME": "no-such-table"})
    event = sqs_event([body(**ADA), "[]"])
    response = handler_stores.invoke(event)
    assert failures(response) == {message_ids(event)[0]}
    # MySQL was written; the retry will find it already there (idempotent).
    assert set(handler_stores.mysql_users()) == {"u-1"}


def test_dlq_send_failure_is_retried_instead_of_dropped(
    handler_stores: HandlerStores, configure: Configure
) -> None:
    configure({"DLQ_URL": handler_stores.stores.dlq_url + "-missing"})
    event = sqs_event([body(**ADA), "not json"])
    assert failures(handler_stores.invoke(event)) == {message_ids(event)[1]}
    # The valid record was stored in both; the rejected one is not lost in the real DLQ either.
    assert set(handler_stores.mysql_users()) == set(handler_stores.dynamodb_users()) == {"u-1"}
    assert handler_stores.dlq_messages() == []


def legacy_event(name: str, *, sent_ms: int, original_sent_ms: int | None = None) -> dict[str, Any]:
    event = sqs_event([body(CustID=7002, Name=name)], sent_ms=sent_ms)
    if original_sent_ms is not None:
        event["Records"][0]["messageAttributes"]["original_sent_timestamp"] = {
            "stringValue": str(original_sent_ms),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Number",
        }
    return event


def test_a_redriven_legacy_message_does_not_overwrite_a_newer_registration(
    handler_stores: HandlerStores,
) -> None:
    sent_before_outage, sent_after, redriven_at = (
        1_767_225_600_000,
        1_767_229_200_000,
        1_767_232_800_000,
    )
    handler_stores.invoke(legacy_event("Newer", sent_ms=sent_after))
    redriven = legacy_event("Older", sent_ms=redriven_at, original_sent_ms=sent_before_outage)
    assert handler_stores.invoke(redriven) == {"batchItemFailures": []}
    mysql, dynamodb = handler_stores.mysql_users(), handler_stores.dynamodb_users()
    assert mysql == dynamodb
    assert mysql["7002"]["name"] == "Newer"


def test_the_seeds_string_customer_id_is_stored_as_the_same_user(
    handler_stores: HandlerStores,
) -> None:
    handler_stores.invoke(sqs_event([body(CustID="7002", Name="As text")], sent_ms=1_000))
    handler_stores.invoke(sqs_event([body(CustID=7002, Name="As number")], sent_ms=2_000))
    mysql, dynamodb = handler_stores.mysql_users(), handler_stores.dynamodb_users()
    assert mysql == dynamodb
    assert {user: row["name"] for user, row in mysql.items()} == {"7002": "As number"}


def test_records_are_handed_back_when_time_runs_short(handler_stores: HandlerStores) -> None:
    event = sqs_event(
        [body(**canonical(f"u-{n}", "N", None, "2026-01-01T00:00:00Z")) for n in range(5)]
        + ["not json"]
    )
    ids = message_ids(event)
    # Checked before: the DLQ send (submitted, then called), the MySQL write, its secret read,
    # connect and upsert statement; then before each DynamoDB put.
    reserve = Settings.from_environ(function_environment(handler_stores.stores)).time_reserve_ms
    context = ContextStub(remaining_ms=[reserve + 1_000] * 6 + [reserve - 1])
    response = handler_stores.invoke(event, context)
    assert failures(response) == set(ids[:5])
    assert set(handler_stores.mysql_users()) == {f"u-{n}" for n in range(5)}
    assert handler_stores.dynamodb_users() == {}
    assert [m["source_message_id"] for m in handler_stores.dlq_messages()] == [ids[5]]
    # The redelivery finds MySQL already written (idempotent) and completes DynamoDB.
    assert handler_stores.invoke(event) == {"batchItemFailures": []}
    assert handler_stores.mysql_users() == handler_stores.dynamodb_users()


def test_no_time_for_mysql_means_no_writes_at_all(handler_stores: HandlerStores) -> None:
    with pytest.raises(BatchProcessingError):
        handler_stores.invoke_bodies([body(**ADA)], context=ContextStub(remaining_ms=[500]))
    assert handler_stores.mysql_users() == {}
    assert handler_stores.dynamodb_users() == {}


def test_rotated_password_is_picked_up_without_a_cold_start(
    handler_stores: HandlerStores,
) -> None:
    handler_stores.invoke_bodies([body(**ADA)])
    server, user = handler_stores.database.server, handler_stores.database.user
    new_password = "rotated-" + handler_stores.database.password
    with server.root_connection() as root, root.cursor() as cursor:
        for host in ("127.0.0.1", "localhost"):
            cursor.execute("ALTER USER %s@%s IDENTIFIED BY %s", (user, host, new_password))
        # Drop the function's authenticated connection, as a failover or idle timeout would.
        cursor.execute(
            "SELECT id FROM information_schema.processlist WHERE user = %s AND db = %s",
            (user, handler_stores.stores.database.name),
        )
        for (thread_id,) in cursor.fetchall():
            cursor.execute("KILL %s", (thread_id,))
    try:
        local_stores.client("secretsmanager", handler_stores.stores.endpoint_url).put_secret_value(
            SecretId=handler_stores.stores.secret_arn,
            SecretString=json.dumps({"username": user, "password": new_password}),
        )
        event = sqs_event([body(**GRACE)])
        with pytest.raises(BatchProcessingError):  # cached password: access denied, retried
            handler_stores.invoke(event)
        assert handler_stores.invoke(event) == {"batchItemFailures": []}  # secret re-read
    finally:
        with server.root_connection() as root, root.cursor() as cursor:
            for host in ("127.0.0.1", "localhost"):
                cursor.execute(
                    "ALTER USER %s@%s IDENTIFIED BY %s",
                    (user, host, handler_stores.database.password),
                )
    assert set(handler_stores.mysql_users()) == {"u-1", "u-2"}


@pytest.fixture
def debug_logs(captured_logs: io.StringIO) -> Iterator[io.StringIO]:
    """Captured logs at DEBUG, where the per-record lines are (POWERTOOLS_LOG_LEVEL=DEBUG)."""
    level = app.logger.log_level
    app.logger.setLevel(logging.DEBUG)
    try:
        yield captured_logs
    finally:
        app.logger.setLevel(level)


def test_info_logs_one_line_per_batch(
    handler_stores: HandlerStores, captured_logs: io.StringIO
) -> None:
    handler_stores.invoke_bodies([body(**ADA), body(**GRACE)])
    assert [r["message"] for r in log_records(captured_logs)] == ["batch finished"]


def test_logs_are_structured_and_never_contain_names_or_emails(
    handler_stores: HandlerStores, debug_logs: io.StringIO
) -> None:
    captured_logs = debug_logs
    bad_email = canonical("u-3", "Secret Person", "secret.person@invalid", "2026-01-01T00:00:00Z")
    handler_stores.invoke_bodies([body(**ADA), body(**GRACE), body(**bad_email)])
    records = log_records(captured_logs)
    assert records, "the handler logged nothing"
    text = captured_logs.getvalue()
    for secret in (
        "Ada Lovelace",
        "ada@example.com",
        "Grace Hopper",
        "Secret Person",
        "secret.person",
    ):
        assert secret not in text
    processed = [r for r in records if r["message"] == "registration processed"]
    assert {r["user_id"] for r in processed} == {"u-1", "u-2"}
    assert {r.get("email_masked") for r in processed} == {"a***@e***.com", None}
    summary = next(r for r in records if r["message"] == "batch finished")
    assert (summary["received"], summary["dead_lettered"], summary["mysql_rows"]) == (3, 1, 2)
    assert all(r["function_request_id"] == "test-request" for r in records)


def test_empty_batch(handler_stores: HandlerStores) -> None:
    assert handler_stores.invoke({"Records": []}) == {"batchItemFailures": []}


def test_missing_configuration_is_a_function_error(
    handler_stores: HandlerStores, configure: Configure, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DB_SECRET_ARN")
    configure({})
    with pytest.raises(ConfigError, match="DB_SECRET_ARN is not set"):
        handler_stores.invoke_bodies([body(**ADA)])


def test_function_environment_matches_the_contract(handler_stores: HandlerStores) -> None:
    names = set(function_environment(handler_stores.stores))
    assert {
        "TABLE_NAME",
        "DB_HOST",
        "DB_PORT",
        "DB_NAME",
        "DB_SECRET_ARN",
        "DB_TLS",
        "DLQ_URL",
    } <= names


def test_one_dynamodb_write_per_user_and_one_dlq_call_per_batch(
    handler_stores: HandlerStores, captured_logs: io.StringIO
) -> None:
    older = canonical("u-1", "Ada Old", None, "2026-01-01T08:00:00Z")
    calls: list[str] = []
    resources.reset()
    for service in ("dynamodb", "sqs"):
        resources.aws_client(service).meta.events.register(
            f"before-call.{service}.*", lambda model, **_: calls.append(model.name)
        )
    event = sqs_event([body(**older), body(**ADA), body(**ADA), body(**GRACE), "[]", "{"])
    assert handler_stores.invoke(event) == {"batchItemFailures": []}
    assert sorted(calls) == ["PutItem", "PutItem", "SendMessageBatch"]
    summary = log_records(captured_logs)[-1]
    assert summary["message"] == "batch finished"
    assert (summary["dynamodb_applied"], summary["dynamodb_stale"]) == (3, 1)
    assert summary["dead_lettered"] == 2
    assert handler_stores.mysql_users() == handler_stores.dynamodb_users()
    assert handler_stores.dynamodb_users()["u-1"]["name"] == "Ada Lovelace"
    assert len(handler_stores.dlq_messages()) == 2


def test_an_unexpected_error_in_one_concurrent_put_fails_only_that_users_records(
    handler_stores: HandlerStores, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = resources.get_resources().dynamodb
    real_put = store.put

    def put(registration: Any) -> Any:
        if registration.user_id == "u-2":
            raise RuntimeError("a bug, not an outage")
        return real_put(registration)

    monkeypatch.setattr(store, "put", put)
    event = sqs_event([body(**ADA), body(**GRACE), body(**GRACE)])
    ids = message_ids(event)
    assert failures(handler_stores.invoke(event)) == {ids[1], ids[2]}
    assert set(handler_stores.dynamodb_users()) == {"u-1"}
