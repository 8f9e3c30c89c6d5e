"""Verify's judgement (pure reconcile) and its non-destructive DLQ read."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from scripts import verify
from scripts.harness.messages import dlq, reconcile
from scripts.harness.messages import registrations as reg
from scripts.harness.messages.dlq import DeadLetter
from scripts.harness.messages.ledger import Ledger, RunHeader, SentMessage
from scripts.harness.messages.store_readers import StoredUser
from scripts.harness.stack import aws_session
from scripts.harness.stack.outputs import StackOutputs

SENT_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def sent(plan: list[reg.PlannedMessage]) -> list[SentMessage]:
    return [
        SentMessage.of(i, message, f"mid-{i}", (SENT_MS, SENT_MS + 50))
        for i, message in enumerate(plan)
    ]


@pytest.fixture
def run() -> Ledger:
    """20 messages: fresh users, stale updates, duplicates and invalid bodies."""
    plan = reg.generate(20, reg.Mix(duplicates=0.1, invalid=0.2, out_of_order=0.1), 2, "t")
    header = RunHeader("t", "2026-01-01T00:00:00+00:00", "local", "q", "generated")
    return Ledger(Path("t.jsonl"), header, sent(plan), {"status": "complete"})


def stored_state(run: Ledger) -> dict[str, StoredUser]:
    """What a correct function leaves: the winning record per user."""
    winners, _ = reconcile.expected_users(run.sent)
    state = {}
    for user_id, message in winners.items():
        record = message.record
        assert record is not None and record.registered_at is not None
        state[user_id] = StoredUser(
            user_id, record.name, record.email, record.registered_at,
            f"{record.registered_at}#{'0' * 64}",
        )  # fmt: skip
    return state


def dead_letters(run: Ledger) -> list[DeadLetter]:
    return [
        DeadLetter(f"dlq-{m.seq}", m.body, m.message_id, m.reason, "detail", 1)
        for m in run.sent
        if m.outcome == reg.DLQ
    ]


def test_a_correct_outcome_passes(run: Ledger) -> None:
    state = stored_state(run)
    report = reconcile.reconcile(run, state, dict(state), dead_letters(run))
    assert report.ok, report.mismatches
    rows = {check.name: (check.expected, check.found) for check in report.checks}
    assert rows["users in DynamoDB"] == (12, 12)
    assert rows["duplicates absorbed"] == (2, 2)
    assert rows["out-of-order updates ignored"] == (2, 2)
    assert rows["invalid messages in the DLQ with their reason"] == (4, 4)
    assert "MISMATCH" not in reconcile.table(report)


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
