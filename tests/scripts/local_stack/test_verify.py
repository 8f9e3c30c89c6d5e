"""Verify's judgement (pure reconcile) and its non-destructive DLQ read."""

from __future__ import annotations

import dataclasses
import json
import secrets
from pathlib import Path

import pytest

from scripts import verify
from scripts.harness.messages import dlq, reconcile
from scripts.harness.messages import registrations as reg
from scripts.harness.messages.dlq import DeadLetter
from scripts.harness.messages.ledger import Ledger, LedgerWriter, RunHeader, SentMessage
from scripts.harness.messages.store_readers import StoredUser
from scripts.harness.stack import aws_session
from scripts.harness.stack.mariadb import migrations
from scripts.harness.stack.outputs import StackOutputs
from tests.conftest import DatabaseServer
from tests.scripts.local_stack.conftest import StackSpec, build_stack, placeholder_zip

SENT_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
ZERO_DIGEST = "0" * 64


def record(user_id: str, name: str, at: str | None, email: str | None = None) -> reg.Record:
    return reg.Record(user_id, name, email, at)


def body(rec: reg.Record) -> str:
    return json.dumps(
        {"user_id": rec.user_id, "name": rec.name, "email": rec.email,
         "registered_at": rec.registered_at}
    )  # fmt: skip


ADA = record("t-u1", "Ada", "2026-01-01T10:00:00.000000Z", "ada@example.com")
ADA_BEFORE = record("t-u1", "Ada (before)", "2026-01-01T09:00:00.000000Z", "old@example.com")
ALAN_FIRST = record("t-u2", "Alan", "2026-01-01T10:00:00.000000Z")
ALAN = record("t-u2", "Alan T.", "2026-01-01T11:00:00.000000Z", "alan@example.com")
MARTHA = record("7001", "Martha", None)
BAD_JSON = "this is not json"
BAD_FIELD = json.dumps({"user_id": "t-bad1", "name": "No Date"})

# The run, in sending order, each with the outcome written out by hand (not computed).
PLAN = [
    reg.PlannedMessage(reg.VALID, body(ADA), reg.STORED, ADA),
    reg.PlannedMessage(reg.VALID, body(ALAN_FIRST), reg.SUPERSEDED, ALAN_FIRST),
    reg.PlannedMessage(reg.DUPLICATE, body(ADA), reg.ABSORBED, ADA),
    reg.PlannedMessage(reg.VALID, body(ALAN), reg.STORED, ALAN),
    reg.PlannedMessage(reg.OUT_OF_ORDER, body(ADA_BEFORE), reg.SUPERSEDED, ADA_BEFORE),
    reg.PlannedMessage(reg.INVALID, BAD_JSON, reg.DLQ, None, "invalid_json"),
    reg.PlannedMessage(reg.INVALID, BAD_FIELD, reg.DLQ, None, "missing_field", "t-bad1"),
    reg.PlannedMessage(reg.LEGACY, '{"CustID": 7001, "Name": "Martha"}', reg.STORED, MARTHA),
]
LEGACY_STORED_AT = "2026-01-01T00:00:00.020000Z"  # inside the send window of SENT_MS + 50


def stored(rec: reg.Record, at: str | None = None) -> StoredUser:
    registered_at = at or rec.registered_at
    assert registered_at is not None
    return StoredUser(
        rec.user_id, rec.name, rec.email, registered_at, f"{registered_at}#{ZERO_DIGEST}"
    )


# What a correct function leaves, written out from the plan above by hand.
CORRECT_STATE = {
    "t-u1": stored(ADA),
    "t-u2": stored(ALAN),
    "7001": stored(MARTHA, LEGACY_STORED_AT),
}


@pytest.fixture
def run() -> Ledger:
    header = RunHeader("t", "2026-01-01T00:00:00+00:00", "local", "q", "generated: seed 1")
    messages = [
        SentMessage.of(i, message, f"mid-{i}", (SENT_MS, SENT_MS + 50))
        for i, message in enumerate(PLAN)
    ]
    return Ledger(Path("t.jsonl"), header, messages, {"status": "complete"})


def stored_state(run: Ledger) -> dict[str, StoredUser]:
    return dict(CORRECT_STATE)


def dead_letters(run: Ledger) -> list[DeadLetter]:
    return [
        DeadLetter(f"dlq-{m.seq}", m.body, m.message_id, m.reason, "detail", 1)
        for m in run.sent
        if m.reason is not None
    ]


def keys(dynamodb: dict[str, StoredUser], mysql: dict[str, StoredUser]) -> reconcile.StoreKeys:
    return reconcile.StoreKeys(frozenset(dynamodb), frozenset(mysql))


def test_a_correct_outcome_passes(run: Ledger) -> None:
    state = stored_state(run)
    report = reconcile.reconcile(run, state, dict(state), dead_letters(run), keys(state, state))
    assert report.ok, report.mismatches
    rows = {check.name: (check.expected, check.found) for check in report.checks}
    assert rows["users in DynamoDB"] == (3, 3)
    assert rows["users in MySQL"] == (3, 3)
    assert rows["duplicates absorbed"] == (1, 1)
    assert rows["out-of-order updates ignored"] == (2, 2)
    assert rows["invalid messages in the DLQ with their reason"] == (2, 2)
    assert rows["invalid messages dead-lettered exactly once"] == (2, 2)
    assert rows["rows in DynamoDB the ledger explains"] == (3, 3)
    assert "MISMATCH" not in reconcile.table(report)


def test_the_expected_users_are_the_hand_written_winners(run: Ledger) -> None:
    winners, counts = reconcile.expected_users(run.sent)
    assert {u: m.record for u, m in winners.items()} == {
        "t-u1": ADA, "t-u2": ALAN, "7001": MARTHA
    }  # fmt: skip
    assert counts == {reg.STORED: 3, reg.SUPERSEDED: 2, reg.ABSORBED: 1, reg.DLQ: 2}


def test_an_older_version_in_both_stores_fails(run: Ledger) -> None:
    """Both stores agree, on the wrong (older) version: a shared bug the stores cannot reveal."""
    state = stored_state(run)
    state["t-u1"] = stored(ADA_BEFORE)
    report = reconcile.reconcile(run, state, dict(state), dead_letters(run))
    assert not report.ok
    assert any(
        line.startswith("user t-u1: ") and "latest sent is 2026-01-01T10:00:00.000000Z" in line
        for line in report.mismatches
    )


def test_a_dlq_message_twice_fails(run: Ledger) -> None:
    state = stored_state(run)
    letters = dead_letters(run)
    again = dataclasses.replace(letters[0], message_id="dlq-again")
    report = reconcile.reconcile(run, state, state, [*letters, again], keys(state, state))
    assert not report.ok
    assert f"message {letters[0].source_message_id}: 2 copies in the DLQ" in report.mismatches
    rows = {check.name: (check.expected, check.found) for check in report.checks}
    assert rows["invalid messages dead-lettered exactly once"] == (2, 1)


def test_a_redriven_invalid_message_rejected_twice_fails(run: Ledger) -> None:
    """After a redrive the copies carry new MessageIds: they are counted by body."""
    state = stored_state(run)
    letters = dead_letters(run)
    copies = [
        dataclasses.replace(letters[0], message_id=f"copy-{i}", source_message_id=f"new-{i}")
        for i in range(2)
    ]
    report = reconcile.reconcile(run, state, state, [*copies, letters[1]], keys(state, state))
    assert not report.ok
    assert any("2 copies in the DLQ of a body sent 1 time(s)" in m for m in report.mismatches)


def test_a_stray_row_fails(run: Ledger) -> None:
    state = stored_state(run)
    stray = stored(record("t-u9", "Nobody sent me", "2026-01-01T00:00:00.000000Z"))
    mysql = {**state, stray.user_id: stray}
    report = reconcile.reconcile(run, state, mysql, dead_letters(run), keys(state, mysql))
    assert not report.ok
    assert "user t-u9: in MySQL but in no ledger entry" in report.mismatches
    rows = {check.name: (check.expected, check.found) for check in report.checks}
    assert rows["rows in MySQL the ledger explains"] == (4, 3)
    assert rows["rows in DynamoDB the ledger explains"] == (3, 3)


def test_the_run_scope_follows_the_ledger_source(run: Ledger) -> None:
    assert reconcile.run_scope(run) == "t-"
    chaos = dataclasses.replace(run, header=dataclasses.replace(run.header, source="chaos"))
    assert reconcile.run_scope(chaos) == ""
    used = dataclasses.replace(run, header=dataclasses.replace(run.header, source="chaos on used"))
    assert reconcile.run_scope(used) == "t-"
    files = dataclasses.replace(run, header=dataclasses.replace(run.header, source="files: a"))
    assert reconcile.run_scope(files) is None
    report = reconcile.reconcile(files, CORRECT_STATE, CORRECT_STATE, dead_letters(run))
    assert "stray rows not counted: the run's users have no common prefix" in report.notes


def test_a_missing_row_fails(run: Ledger) -> None:
    state = stored_state(run)
    mysql = dict(state)
    victim = sorted(mysql)[0]
    del mysql[victim]
    report = reconcile.reconcile(run, state, mysql, dead_letters(run))
    assert not report.ok
    assert f"user {victim}: missing in MySQL" in report.mismatches
    assert "MISMATCH" in reconcile.table(report)


def test_a_stale_version_in_one_store_fails(run: Ledger) -> None:
    state = stored_state(run)
    stale = next(m for m in run.sent if m.outcome == reg.SUPERSEDED)
    assert stale.record is not None and stale.record.registered_at is not None
    user = stale.record.user_id
    dynamodb = dict(state)
    dynamodb[user] = dataclasses.replace(
        state[user],
        name=stale.record.name,
        email=stale.record.email,
        registered_at=stale.record.registered_at,
        version=f"{stale.record.registered_at}#{'1' * 64}",
    )
    report = reconcile.reconcile(run, dynamodb, state, dead_letters(run))
    assert not report.ok
    assert any(
        line.startswith(f"user {user}: DynamoDB and MySQL differ") for line in report.mismatches
    )
    assert any("latest sent is" in line for line in report.mismatches)


def test_dlq_problems_fail(run: Ledger) -> None:
    state = stored_state(run)
    letters = dead_letters(run)
    wrong_reason = dataclasses.replace(letters[0], failure_reason="invalid_json_typo")
    valid = next(m for m in run.sent if m.outcome == reg.STORED)
    redriven = DeadLetter(str(valid.message_id), valid.body, None, None, None, 4)
    report = reconcile.reconcile(run, state, state, [wrong_reason, *letters[2:], redriven])
    assert not report.ok
    text = "\n".join(report.mismatches)
    assert f"message {letters[1].source_message_id}: not in the DLQ" in text
    assert "expected" in text and "invalid_json_typo" in text
    assert f"message {valid.message_id}: valid but in the DLQ (redriven after 4 receives)" in text


def test_an_invalid_message_that_was_stored_fails(run: Ledger) -> None:
    state = stored_state(run)
    invalid = next(m for m in run.sent if m.outcome == reg.DLQ and m.user_id)
    assert invalid.user_id is not None
    leaked = dict(state)
    leaked[invalid.user_id] = StoredUser(invalid.user_id, "x", None, "2026-01-01T00:00:00.000000Z",
                                         "2026-01-01T00:00:00.000000Z#0")  # fmt: skip
    report = reconcile.reconcile(run, leaked, leaked, dead_letters(run))
    assert f"user {invalid.user_id}: stored from an invalid message" in report.mismatches


def test_legacy_registered_at_must_be_the_send_time() -> None:
    record = reg.Record("1021", "Martha Rivera", None, None)
    message = SentMessage.of(0, reg.PlannedMessage("legacy", "{}", "stored", record), "m",
                             (SENT_MS, SENT_MS + 40))  # fmt: skip
    on_time = StoredUser("1021", "Martha Rivera", None, "2026-01-01T00:00:00.020000Z",
                         "2026-01-01T00:00:00.020000Z#ab")  # fmt: skip
    late = dataclasses.replace(on_time, registered_at="2026-01-02T00:00:00.000000Z",
                               version="2026-01-02T00:00:00.000000Z#ab")  # fmt: skip
    assert reconcile.content_problems(message, on_time) == []
    assert reconcile.content_problems(message, late) == [
        "registered_at 2026-01-02T00:00:00.000000Z is not the send time"
    ]


def test_peeking_the_dlq_leaves_every_message_there(
    session: aws_session.SessionLike, stack: StackOutputs
) -> None:
    sqs = session.client("sqs")
    for index in range(13):
        sqs.send_message(
            QueueUrl=stack.dlq_url,
            MessageBody=f"bad {index}",
            MessageAttributes={
                "failure_reason": {"DataType": "String", "StringValue": "invalid_json"},
                "source_message_id": {"DataType": "String", "StringValue": f"src-{index}"},
            },
        )
    letters = dlq.peek(sqs, stack.dlq_url)
    assert sorted(letter.original_message_id for letter in letters) == sorted(
        f"src-{i}" for i in range(13)
    )
    assert {letter.failure_reason for letter in letters} == {"invalid_json"}
    attributes = sqs.get_queue_attributes(
        QueueUrl=stack.dlq_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert attributes == {
        "ApproximateNumberOfMessages": "13",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }
    assert len(dlq.peek(sqs, stack.dlq_url)) == 13  # and again


def test_verify_without_a_ledger_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = verify.run(["--ledger", str(tmp_path / "nope.jsonl"), "--outputs", "x.json"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip() == f"verify: no ledger at {tmp_path / 'nope.jsonl'}"


def test_a_redriven_invalid_message_is_found_by_its_body(run: Ledger) -> None:
    """After `make redrive` the handler rejects a copy with a new MessageId: same body, same
    reason; verify still finds it."""
    state = stored_state(run)
    letters = dead_letters(run)
    redriven = dataclasses.replace(letters[0], source_message_id="copy-after-redrive")
    report = reconcile.reconcile(run, state, state, [redriven, *letters[1:]])
    assert report.ok, report.mismatches


TLS_USER = "verify_tls_only"


@pytest.fixture
def tls_stack(
    session: aws_session.SessionLike, endpoint: str, mariadb_server: DatabaseServer
) -> tuple[StackOutputs, DatabaseServer]:
    """A stack on the session's TLS MariaDB, as a user the server refuses over plaintext."""
    name = f"verify_tls_{secrets.token_hex(4)}"
    mariadb_server.create_database(name)
    password = secrets.token_urlsafe(16)
    with mariadb_server.server.root_connection() as root, root.cursor() as cursor:
        for host in ("127.0.0.1", "localhost"):
            cursor.execute(
                "CREATE OR REPLACE USER %s@%s IDENTIFIED BY %s REQUIRE SSL",
                (TLS_USER, host, password),
            )
            cursor.execute(f"GRANT ALL PRIVILEGES ON `{name}`.* TO %s@%s", (TLS_USER, host))
        cursor.execute(f"USE `{name}`")
        for statement in migrations():
            cursor.execute(statement)
        at = "2026-01-01T10:00:00.000000Z"
        cursor.execute(
            "INSERT INTO users VALUES (%s, %s, %s, %s, %s)",
            ("tls-u1", "Ada", None, "2026-01-01 10:00:00", f"{at}#{ZERO_DIGEST}"),
        )
    stack = dataclasses.replace(
        build_stack(session, endpoint, placeholder_zip(), spec=StackSpec(),
                    db_port=mariadb_server.port, db_password=password),
        db_name=name,
    )  # fmt: skip
    session.client("dynamodb").put_item(
        TableName="registrations-users",
        Item={"user_id": {"S": "tls-u1"}, "name": {"S": "Ada"}, "registered_at": {"S": at},
              "version": {"S": f"{at}#{ZERO_DIGEST}"}},
    )  # fmt: skip
    secret = json.dumps({"username": TLS_USER, "password": password})
    session.client("secretsmanager").put_secret_value(
        SecretId=stack.db_secret_arn, SecretString=secret
    )
    return stack, mariadb_server


def write_tls_ledger(tmp_path: Path) -> Path:
    rec = record("tls-u1", "Ada", "2026-01-01T10:00:00.000000Z")
    header = RunHeader("tls", "2026-01-01T00:00:00+00:00", "local", "q", "generated: seed 1")
    path = tmp_path / "tls.jsonl"
    with LedgerWriter(path, header) as writer:
        planned = reg.PlannedMessage(reg.VALID, body(rec), reg.STORED, rec)
        writer.write(SentMessage.of(0, planned, "mid-0", (SENT_MS, SENT_MS + 5)))
    return path


def set_tls(session: aws_session.SessionLike, stack: StackOutputs, **variables: str) -> None:
    client = session.client("lambda")
    environment = client.get_function(FunctionName=stack.function_name)["Configuration"][
        "Environment"
    ]["Variables"]
    client.update_function_configuration(
        FunctionName=stack.function_name,
        Environment={"Variables": {**environment, **variables}},
    )


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["verify", "require"])
def test_verify_reads_mysql_over_tls(
    *,
    mode: str,
    tls_stack: tuple[StackOutputs, DatabaseServer],
    session: aws_session.SessionLike,
    endpoint: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The user is REQUIRE SSL: passing proves the connection was encrypted; `verify` checks
    the server certificate against the function's DB_CA_BUNDLE."""
    stack, database = tls_stack
    set_tls(session, stack, DB_TLS=mode, DB_CA_BUNDLE=str(database.tls.ca))
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(stack.to_json())
    ledger_file = write_tls_ledger(tmp_path)
    args = [
        "--ledger",
        str(ledger_file),
        "--outputs",
        str(outputs_file),
        "--endpoint-url",
        endpoint,
    ]
    assert verify.run(args) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "verify: passed" in out


@pytest.mark.integration
def test_verify_refuses_a_server_its_ca_did_not_sign(
    *,
    tls_stack: tuple[StackOutputs, DatabaseServer],
    session: aws_session.SessionLike,
    endpoint: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stack, _ = tls_stack
    set_tls(session, stack, DB_TLS="verify")  # the bundled RDS CA did not sign the test server
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(stack.to_json())
    ledger_file = write_tls_ledger(tmp_path)
    args = [
        "--ledger",
        str(ledger_file),
        "--outputs",
        str(outputs_file),
        "--endpoint-url",
        endpoint,
    ]
    assert verify.run(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("verify: cannot connect to MySQL at 127.0.0.1:")
    assert "CERTIFICATE_VERIFY_FAILED" in err and err.count("\n") == 1

    set_tls(session, stack, DB_TLS="off")  # and the server refuses this user in plaintext
    assert verify.run(args) == 1
    assert "Access denied" in capsys.readouterr().err
