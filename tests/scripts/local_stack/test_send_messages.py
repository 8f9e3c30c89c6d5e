"""Message planning, the ledger, and `send_messages` against moto."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from scripts import send_messages
from scripts.harness.messages import ledger, registrations, sender
from scripts.harness.messages import registrations as reg
from scripts.harness.stack import aws_session
from scripts.harness.stack.outputs import StackOutputs

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_generated_mix_has_the_requested_counts_and_outcomes() -> None:
    plan = reg.generate(200, reg.Mix(duplicates=0.1, invalid=0.05, out_of_order=0.1), 7, "r1")
    kinds = Counter(m.kind for m in plan)
    assert kinds == {"valid": 150, "out_of_order": 20, "duplicate": 20, "invalid": 10}
    outcomes = Counter(m.outcome for m in plan)
    assert outcomes == {"stored": 150, "superseded": 20, "absorbed": 20, "dlq": 10}
    assert {m.reason for m in plan if m.kind == "invalid"} == set(reg.INVALID_REASONS)


def test_generation_is_reproducible_from_the_seed() -> None:
    mix = reg.Mix(duplicates=0.1, invalid=0.1, out_of_order=0.1)
    assert reg.generate(50, mix, 3, "r") == reg.generate(50, mix, 3, "r")
    assert reg.generate(50, mix, 3, "r") != reg.generate(50, mix, 4, "r")


def test_stale_updates_and_duplicates_come_after_their_original() -> None:
    plan = reg.generate(300, reg.Mix(duplicates=0.2, out_of_order=0.2), 11, "r")
    first_seen: dict[str, int] = {}
    newest_position: dict[str, int] = {}
    for position, message in enumerate(plan):
        if message.kind == "valid":
            assert message.record is not None
            newest_position[message.record.user_id] = position
        first_seen.setdefault(message.body, position)
    for position, message in enumerate(plan):
        assert message.record is not None
        if message.kind == "out_of_order":
            assert position > newest_position[message.record.user_id]
        if message.kind == "duplicate":
            assert position > first_seen[message.body]


def test_invalid_bodies_are_rejected_by_the_handler_for_the_predicted_reason() -> None:
    """The generator's predictions agree with the handler's validator."""
    plan = reg.generate(40, reg.Mix(invalid=0.5), 5, "r")
    classified = reg.classify([m.body for m in plan], datetime.now(UTC))
    for generated, predicted in zip(plan, classified, strict=True):
        assert (generated.outcome, generated.reason) == (predicted.outcome, predicted.reason)


def test_fractions_that_leave_no_fresh_registrations_are_refused() -> None:
    with pytest.raises(ValueError, match="lower them"):
        reg.Mix(duplicates=0.5, invalid=0.5, out_of_order=0.1).counts(100)


def test_shipped_events_are_read_and_classified() -> None:
    bodies = reg.read_bodies(REPO_ROOT / "events" / "tutorial-legacy.json")
    (legacy,) = reg.classify(bodies, datetime.now(UTC))
    assert legacy.kind == "legacy"
    assert legacy.record is not None and legacy.record.registered_at is None
    jsonl = reg.read_bodies(REPO_ROOT / "events" / "bodies-example.jsonl")
    assert jsonl and all(isinstance(body, str) for body in jsonl)


def test_resolve_outcomes_keeps_the_newest_version_per_user() -> None:
    def body(name: str, at: str) -> reg.PlannedMessage:
        record = reg.Record("u1", name, None, at)
        return reg.PlannedMessage("valid", reg.canonical_body(record), "stored", record)

    newer, older = (
        body("New", "2026-01-02T00:00:00.000000Z"),
        body("Old", "2026-01-01T00:00:00.000000Z"),
    )
    resolved = reg.resolve_outcomes([newer, older, newer])
    assert [m.outcome for m in resolved] == ["stored", "superseded", "absorbed"]


def test_send_writes_a_ledger_with_every_message_id(
    *,
    stack: StackOutputs,
    outputs_file: Path,
    endpoint: str,
    session: aws_session.SessionLike,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    directory = tmp_path / "ledgers"
    code = send_messages.main(
        ["-n", "25", "--invalid", "0.2", "--duplicates", "0.2", "--outputs", str(outputs_file),
         "--ledger-dir", str(directory), "--run-id", "t1"]
    )  # fmt: skip
    assert code == 0
    run = ledger.read(ledger.resolve(None, directory))
    assert run.header.run_id == "t1"
    assert run.header.queue_url == stack.queue_url
    assert len(run.sent) == 25
    assert run.summary is not None and run.summary["status"] == "complete"
    attributes = session.client("sqs").get_queue_attributes(
        QueueUrl=stack.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "25"
    received = session.client("sqs").receive_message(
        QueueUrl=stack.queue_url, MaxNumberOfMessages=10
    )["Messages"]
    by_id = {m.message_id: m.body for m in run.sent}
    assert all(by_id[m["MessageId"]] == m["Body"] for m in received)


def test_send_from_files_takes_the_queue_url_argument(
    stack: StackOutputs, endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    source = tmp_path / "bodies.jsonl"
    source.write_text(
        json.dumps({"user_id": "f1", "name": "File One", "registered_at": "2026-01-01T00:00:00Z"})
        + "\nnot json\n"
    )
    directory = tmp_path / "ledgers"
    code = send_messages.main(
        ["--from", str(source), "--queue-url", stack.queue_url, "--ledger-dir", str(directory)]
    )
    assert code == 0
    run = ledger.read(ledger.resolve(None, directory))
    assert [(m.outcome, m.reason) for m in run.messages] == [
        ("stored", None),
        ("dlq", "invalid_json"),
    ]


def test_sender_retries_entries_sqs_failed_on_its_side() -> None:
    class FlakySQS:
        calls = 0

        def send_message_batch(self, QueueUrl: str, Entries: list[dict]) -> dict:
            self.calls += 1
            if self.calls == 1:
                return {
                    "Successful": [{"Id": Entries[0]["Id"], "MessageId": "a"}],
                    "Failed": [
                        {"Id": Entries[1]["Id"], "SenderFault": False, "Code": "InternalError"},
                        {"Id": Entries[2]["Id"], "SenderFault": True, "Code": "TooBig"},
                    ],
                }
            return {"Successful": [{"Id": e["Id"], "MessageId": "b"} for e in Entries]}

    plan = registrations.generate(3, registrations.Mix(), 1, "r")
    results = sender.send_batch(FlakySQS(), "url", list(enumerate(plan)), sleep=lambda _: None)
    assert [(r.message_id, r.error) for r in results] == [
        ("a", None),
        ("b", None),
        (None, "TooBig:"),
    ]


def test_a_call_refused_whole_is_split_so_only_the_oversized_body_is_refused() -> None:
    class SizeLimitedSQS:
        """Like moto and SQS: one body over MaximumMessageSize fails the whole call."""

        def __init__(self) -> None:
            self.calls: list[int] = []

        def send_message_batch(self, QueueUrl: str, Entries: list[dict]) -> dict:
            self.calls.append(len(Entries))
            if any(len(e["MessageBody"]) > 262_143 for e in Entries):
                error = {"Code": "InvalidParameterValue", "Message": "Message must be shorter"}
                raise ClientError({"Error": error}, "SendMessageBatch")
            return {"Successful": [{"Id": e["Id"], "MessageId": f"m{e['Id']}"} for e in Entries]}

    plan = registrations.generate(3, registrations.Mix(), 1, "r")
    plan[1] = dataclasses.replace(plan[1], body="x" * 300_000)
    sqs = SizeLimitedSQS()
    results = sender.send_batch(sqs, "url", list(enumerate(plan)), sleep=lambda _: None)
    assert [(r.message_id, r.error) for r in results] == [
        ("m0", None),
        (None, "InvalidParameterValue: Message must be shorter"),
        ("m2", None),
    ]
    assert sqs.calls == [3, 1, 1, 1]


def test_other_client_errors_are_not_swallowed() -> None:
    class DeniedSQS:
        def send_message_batch(self, QueueUrl: str, Entries: list[dict]) -> dict:
            raise ClientError({"Error": {"Code": "AccessDenied"}}, "SendMessageBatch")

    plan = registrations.generate(2, registrations.Mix(), 1, "r")
    with pytest.raises(ClientError, match="AccessDenied"):
        sender.send_batch(DeniedSQS(), "url", list(enumerate(plan)), sleep=lambda _: None)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-n", "zero"], "must be a positive integer"),
        (["--invalid", "1.5"], "must be between 0 and 1"),
        (["--profile", "mars"], "invalid choice"),
        (["--duplicates", "0.6", "--invalid", "0.6", "--queue-url", "http://x"], "lower them"),
    ],
)
def test_bad_arguments_give_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    try:
        code = send_messages.run([*argv, "--ledger-dir", str(tmp_path)])
    except SystemExit as exit_:  # argparse exits; cli.run turns the rest into exit codes
        code = exit_.code
    err = capsys.readouterr().err
    assert code in (1, 2)
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
