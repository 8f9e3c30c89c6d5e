"""jobs and the status's chain rule: which message starts, continues or is skipped."""

from __future__ import annotations

import json

import pytest

from importer import reports
from importer.jobs import FIRST_CHUNK, Counts, ImportJob, jobs_from_body
from importer.reports import Decision


def s3_event(key: str, event_name: str = "ObjectCreated:Put", **obj: str) -> str:
    record = {
        "eventName": event_name,
        "eventTime": "2026-11-30T10:00:00.000Z",
        "s3": {"bucket": {"name": "b"}, "object": {"key": key, "eTag": "e1", **obj}},
    }
    return json.dumps({"Records": [record]})


def test_an_object_created_event_starts_an_import_of_that_version() -> None:
    (job,) = jobs_from_body(s3_event("imports/My+Users%2B.csv.gz", versionId="v1"))
    assert (job.bucket, job.key, job.version_id, job.offset) == (
        "b",
        "imports/My Users+.csv.gz",
        "v1",
        0,
    )
    assert (job.format, job.compressed, job.starts_file) == ("csv", True, True)
    assert job.import_id == "v1"


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"}),
        s3_event("imports/reports/users.csv.rejects.jsonl"),
        s3_event("elsewhere/users.csv"),
        s3_event("imports/users.txt"),
        s3_event("imports/users.csv", event_name="ObjectRemoved:Delete"),
    ],
)
def test_messages_that_are_no_import_are_skipped(body: str) -> None:
    assert jobs_from_body(body) == []


@pytest.mark.parametrize("body", ["[]", '{"hello": 1}', "not json"])
def test_a_message_of_neither_kind_is_an_error(body: str) -> None:
    with pytest.raises(ValueError):
        jobs_from_body(body)


def test_without_a_version_id_the_same_content_uploaded_again_is_a_new_import() -> None:
    (first,) = jobs_from_body(s3_event("imports/u.csv", sequencer="0A"))
    (second,) = jobs_from_body(s3_event("imports/u.csv", sequencer="0B"))
    assert first.import_id != second.import_id


def test_a_continuation_round_trips_through_its_message() -> None:
    job = ImportJob("b", "imports/u.csv", "v1", "e1", "0A")
    following = job.continuation(1234, "t2", ("user_id", "name"), Counts(10, 8, 2))
    (parsed,) = jobs_from_body(following.to_message())
    assert parsed == following
    assert not parsed.starts_file


def status(token: str, previous: str | None = None, state: str = "running") -> reports.ImportStatus:
    return reports.ImportStatus(
        import_id="v1",
        bucket="b",
        key="imports/u.csv",
        state=state,
        token=token,
        previous_token=previous,
        next_offset=0,
        lines=0,
        sent=0,
        rejected=0,
        updated_at="",
    )


START = ImportJob("b", "imports/u.csv", "v1", "e1")
CHUNK_2 = START.continuation(100, "t2", None, Counts())


@pytest.mark.parametrize(
    ("current", "job", "decision"),
    [
        (None, START, Decision.RUN),  # first delivery
        (None, CHUNK_2, Decision.SKIP),  # status gone: nothing to continue
        (status(FIRST_CHUNK), START, Decision.RUN),  # redelivered after a crash mid-chunk
        (status("t2", FIRST_CHUNK), START, Decision.RESEND_CONTINUATION),  # continuation lost?
        (status("t2", FIRST_CHUNK), CHUNK_2, Decision.RUN),
        (status("t3", "t2"), START, Decision.SKIP),  # long finished
        (status("done:t2", "t2", "done"), CHUNK_2, Decision.SKIP),
        (status("t9"), ImportJob("b", "imports/u.csv", "v2", "e2"), Decision.RUN),  # new upload
        (
            status("t9"),
            ImportJob("b", "imports/u.csv", "v2", "e2").continuation(5, "t9", None, Counts()),
            Decision.SKIP,
        ),  # a chain the status no longer follows (another version took the key)
    ],
)
def test_the_status_lets_exactly_one_chain_of_chunks_run(
    current: reports.ImportStatus | None, job: ImportJob, decision: Decision
) -> None:
    assert reports.decide(current, job) is decision
