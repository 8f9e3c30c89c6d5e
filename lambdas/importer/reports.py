"""What an import leaves in the bucket: its status (progress) and its rejects report.

``imports/reports/<key>.status.json`` is rewritten at the start of an import, every few seconds
while it runs and when a chunk ends; `make import` polls it. It also guards the chain of chunks:
it records the token of the one chunk allowed to run next (and the token of the chunk before it),
so a redelivered or duplicated message for a chunk that already finished does not start a second
chain of continuations (which would send the rest of the file twice).

Rejected rows of each chunk go to a part object named after the chunk's first line; a redone
chunk overwrites its own part. The last chunk concatenates the parts, in line order, into
``imports/reports/<key>.rejects.jsonl`` (one JSON object per rejected row: ``line``, ``end_line``,
``reason``, ``detail``; never the row's content) and deletes them.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import IO, Any

from botocore.exceptions import ClientError

from importer.jobs import REPORT_PREFIX, ImportJob, relative_key
from importer.rows import Row

RUNNING = "running"
DONE = "done"
FAILED = "failed"


class Decision(StrEnum):
    RUN = "run"  # this chunk is the next one: read and send
    RESEND_CONTINUATION = "resend"  # this chunk finished; its continuation may be lost
    SKIP = "skip"  # a duplicate of finished work, or an import superseded by a newer upload


def status_key(key: str) -> str:
    return f"{REPORT_PREFIX}{relative_key(key)}.status.json"


def report_key(key: str) -> str:
    return f"{REPORT_PREFIX}{relative_key(key)}.rejects.jsonl"


def _parts_prefix(job: ImportJob) -> str:
    # The import id (a version id or an ETag) may hold characters unfit for a key.
    import_hash = hashlib.sha256(job.import_id.encode()).hexdigest()[:12]
    return f"{REPORT_PREFIX}{relative_key(job.key)}.rejects.{import_hash}."


@dataclass(frozen=True, slots=True)
class ImportStatus:
    """The status document (its JSON fields are what `make import` reads)."""

    import_id: str
    bucket: str
    key: str
    state: str
    token: str
    previous_token: str | None
    next_offset: int
    lines: int
    sent: int
    rejected: int
    updated_at: str
    report: str | None = None
    error: str | None = None
    continuation: str | None = None  # the message that starts the next chunk, while running

    def decide(self, job: ImportJob) -> Decision:
        if self.import_id != job.import_id:
            # Another upload of the key took over, or this is the first chunk of a new one.
            return Decision.RUN if job.starts_file else Decision.SKIP
        if self.state == RUNNING and self.token == job.token:
            return Decision.RUN
        if self.state == RUNNING and self.previous_token == job.token:
            return Decision.RESEND_CONTINUATION
        return Decision.SKIP


def decide(status: ImportStatus | None, job: ImportJob) -> Decision:
    if status is None:
        return Decision.RUN if job.starts_file else Decision.SKIP
    return status.decide(job)


def read_status(s3: Any, job: ImportJob) -> ImportStatus | None:
    try:
        response = s3.get_object(Bucket=job.bucket, Key=status_key(job.key))
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    return ImportStatus(**json.loads(response["Body"].read()))


def write_status(
    s3: Any,
    job: ImportJob,
    *,
    state: str,
    token: str,
    previous_token: str | None,
    next_offset: int,
    lines: int,
    sent: int,
    rejected: int,
    error: str | None = None,
    continuation: str | None = None,
) -> ImportStatus:
    status = ImportStatus(
        import_id=job.import_id,
        bucket=job.bucket,
        key=job.key,
        state=state,
        token=token,
        previous_token=previous_token,
        next_offset=next_offset,
        lines=lines,
        sent=sent,
        rejected=rejected,
        updated_at=datetime.now(UTC).isoformat(),
        report=report_key(job.key) if state != RUNNING else None,
        error=error,
        continuation=continuation,
    )
    s3.put_object(
        Bucket=job.bucket,
        Key=status_key(job.key),
        Body=json.dumps(asdict(status)).encode(),
        ContentType="application/json",
    )
    return status


class RejectsWriter:
    """This chunk's rejected rows, spooled to /tmp so memory stays flat on a bad file."""

    def __init__(self) -> None:
        self.count = 0
        self._file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed by upload_part)

    def add(self, row: Row) -> None:
        entry = {
            "line": row.line,
            "end_line": row.end_line,
            "reason": row.reason,
            "detail": row.detail,
        }
        self._file.write(json.dumps(entry).encode() + b"\n")
        self.count += 1

    def upload_part(self, s3: Any, job: ImportJob, first_line: int) -> None:
        """Store the part (nothing when the chunk rejected nothing) and close the spool."""
        with self._file:
            if self.count == 0:
                return
            self._file.seek(0)
            s3.put_object(
                Bucket=job.bucket,
                Key=f"{_parts_prefix(job)}{first_line:012d}.part",
                Body=self._file,
                ContentType="application/x-ndjson",
            )


def assemble_report(s3: Any, job: ImportJob) -> str:
    """Concatenate the parts in line order into the report (empty when nothing was rejected)."""
    prefix = _parts_prefix(job)
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=job.bucket, Prefix=prefix)
        for item in page.get("Contents", [])
    ]
    key = report_key(job.key)
    with tempfile.TemporaryFile() as report:
        for part in sorted(keys):
            body = s3.get_object(Bucket=job.bucket, Key=part)["Body"]
            while chunk := body.read(1024 * 1024):
                report.write(chunk)
        report.seek(0)
        s3.put_object(Bucket=job.bucket, Key=key, Body=report, ContentType="application/x-ndjson")
    for start in range(0, len(keys), 1000):
        s3.delete_objects(
            Bucket=job.bucket,
            Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]], "Quiet": True},
        )
    return key
