"""Import one chunk of a file: from the job's offset until the file or the time budget ends.

A chunk streams the object (a ranged GET of the exact object version; for gzip the stream is
decompressed from the start and skipped up to the offset, since a gzip stream cannot be entered
mid-way), turns rows into bodies and sends them. When less than the reserve of the invocation's
time is left it stops after the current row, waits for the batches in flight, and hands the rest
on: the status object records the next chunk's token and continuation, then the continuation
(next byte offset, CSV columns, running counts) goes to the import queue. So a file never
restarts from zero, and no row is sent twice unless a chunk itself is redone after a crash.
"""

from __future__ import annotations

import gzip
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError

from importer import reports
from importer.jobs import Counts, ImportJob
from importer.reports import DONE, FAILED, RUNNING, Decision, RejectsWriter
from importer.rows import (
    CsvLayout,
    HeaderError,
    LineReader,
    RejectReason,
    Row,
    csv_header,
    csv_rows,
    jsonl_rows,
)
from importer.sender import BodySender

# How often the deadline is looked at (rows) and the status rewritten for progress (seconds).
DEADLINE_CHECK_ROWS = 100
PROGRESS_INTERVAL_S = 5.0
GZIP_SKIP_BYTES = 1024 * 1024
# The object version is gone or was replaced (If-Match): nothing left to import for this job.
OBJECT_GONE = frozenset({"NoSuchKey", "NoSuchVersion", "PreconditionFailed", "404", "412"})


class RemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class Clients:
    s3: Any
    sqs: Any
    registration_queue_url: str
    import_queue_url: str


@dataclass(frozen=True)
class ChunkResult:
    """What one chunk did (logged by the handler, asserted by tests)."""

    decision: Decision
    state: str | None = None  # running (continued), done or failed
    start_offset: int = 0
    next_offset: int = 0
    sent: int = 0  # by this chunk
    rejected: int = 0  # by this chunk


def run(job: ImportJob, clients: Clients, context: RemainingTime, reserve_ms: int) -> ChunkResult:
    """Run the chunk `job` names, unless the status says it is a duplicate of finished work."""
    if job.starts_file and not job.version_id:
        pinned = _pin_version(clients.s3, job)
        if pinned is None:
            return ChunkResult(Decision.SKIP)
        job = pinned
    status = reports.read_status(clients.s3, job)
    decision = reports.decide(status, job)
    if decision is Decision.RESEND_CONTINUATION:
        assert status is not None and status.continuation is not None
        _send_continuation(clients, status.continuation)
        return ChunkResult(decision, RUNNING, job.offset, status.next_offset)
    if decision is Decision.SKIP:
        return ChunkResult(decision)
    return _Chunk(job, clients, context, reserve_ms).run()


def _pin_version(s3: Any, job: ImportJob) -> ImportJob | None:
    """The job with the version id of the object its event announced; None if it was replaced.

    Events from a versioned bucket carry the version id, but not every emulator sends it (moto
    5.2.5 does not): the current version with the event's ETag is the same object.
    """
    request: dict[str, Any] = {"Bucket": job.bucket, "Key": job.key}
    if job.etag:
        request["IfMatch"] = _entity_tag(job.etag)
    try:
        head = s3.head_object(**request)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code", "") in OBJECT_GONE:
            return None
        raise
    version = head.get("VersionId")
    return replace(job, version_id=version) if version and version != "null" else job


def _entity_tag(etag: str) -> str:
    """S3 events give the ETag bare; If-Match wants it quoted."""
    return etag if etag.startswith('"') else f'"{etag}"'


def _send_continuation(clients: Clients, body: str) -> None:
    clients.sqs.send_message(QueueUrl=clients.import_queue_url, MessageBody=body)


class _Chunk:
    """One pass over the object from the job's offset, until the file or the budget ends."""

    def __init__(
        self, job: ImportJob, clients: Clients, context: RemainingTime, reserve_ms: int
    ) -> None:
        self.job = job
        self.clients = clients
        self.context = context
        self.reserve_ms = reserve_ms
        self.rejects = RejectsWriter()
        self.sender = BodySender(clients.sqs, clients.registration_queue_url)
        self.lines: LineReader | None = None
        self.columns = job.columns
        self._progress_at = time.monotonic()

    def run(self) -> ChunkResult:
        try:
            return self._run()
        finally:
            self.sender.close()

    def _run(self) -> ChunkResult:
        job = self.job
        if job.starts_file:
            self._status(RUNNING, job.token, job.offset, job.counts)
        opened = self._open()
        if opened is None:
            return self._finish(FAILED, job.offset, "the object version is gone or was replaced")
        read, last_modified = opened
        self.lines = LineReader(read, offset=job.offset, line=job.counts.lines)
        try:
            rows = self._rows(self.lines, last_modified)
        except HeaderError as err:
            header = Row(1, self.lines.line, self.lines.offset, RejectReason.BAD_HEADER, str(err))
            self.rejects.add(header)
            return self._finish(FAILED, self.lines.offset, f"bad header: {err}")
        out_of_time = self._send_all(rows)
        self.sender.flush()
        for row in self.sender.refused:
            self.rejects.add(row)
        if out_of_time:
            return self._continue()
        return self._finish(DONE, self.lines.offset)

    def _open(self) -> tuple[Callable[[int], bytes], datetime] | None:
        job = self.job
        request: dict[str, Any] = {"Bucket": job.bucket, "Key": job.key}
        if job.version_id:
            request["VersionId"] = job.version_id
        elif job.etag:
            request["IfMatch"] = _entity_tag(job.etag)
        if job.offset and not job.compressed:
            request["Range"] = f"bytes={job.offset}-"
        try:
            response = self.clients.s3.get_object(**request)
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            if code == "InvalidRange":  # the previous chunk stopped exactly at the end
                return (lambda _size: b""), datetime.now().astimezone()
            if code in OBJECT_GONE:
                return None
            raise
        body = response["Body"]
        if not job.compressed:
            return body.read, response["LastModified"]
        stream = gzip.GzipFile(fileobj=body, mode="rb")
        remaining = job.offset
        while remaining:
            skipped = len(stream.read(min(remaining, GZIP_SKIP_BYTES)))
            if not skipped:
                break
            remaining -= skipped
        return stream.read, response["LastModified"]

    def _rows(self, lines: LineReader, last_modified: datetime) -> Iterator[Row]:
        if self.job.format == "jsonl":
            return jsonl_rows(lines, last_modified)
        layout = CsvLayout(self.columns) if self.columns else csv_header(lines)
        self.columns = layout.columns
        return csv_rows(lines, layout, last_modified)

    def _send_all(self, rows: Iterator[Row]) -> bool:
        """Send every row; True when the time budget ended before the rows did."""
        for count, row in enumerate(rows, start=1):
            if row.body is not None:
                self.sender.add(row)
            else:
                self.rejects.add(row)
            if count % DEADLINE_CHECK_ROWS == 0:
                if self.context.get_remaining_time_in_millis() < self.reserve_ms:
                    return True
                self._report_progress()
        return False

    def _counts(self) -> Counts:
        assert self.lines is not None
        start = self.job.counts
        return Counts(
            lines=self.lines.line,
            sent=start.sent + self.sender.sent,
            rejected=start.rejected + self.rejects.count,
        )

    def _report_progress(self) -> None:
        """Rewrite the status now and then, with the chunk's own token (the chain is unchanged)."""
        if time.monotonic() - self._progress_at < PROGRESS_INTERVAL_S:
            return
        self._progress_at = time.monotonic()
        counts = self._counts()
        # Batches still in flight are not counted yet; the figures only ever lag.
        self._status(RUNNING, self.job.token, self.job.offset, counts)

    def _continue(self) -> ChunkResult:
        assert self.lines is not None
        counts = self._counts()
        self.rejects.upload_part(self.clients.s3, self.job, self.job.counts.lines + 1)
        token = secrets.token_hex(8)
        next_job = self.job.continuation(self.lines.offset, token, self.columns, counts)
        message = next_job.to_message()
        # Status first: if the message is then lost, a redelivery of this chunk resends it.
        self._status(
            RUNNING, token, self.lines.offset, counts, previous=self.job.token, continuation=message
        )
        _send_continuation(self.clients, message)
        return self._result(RUNNING, counts)

    def _finish(self, state: str, offset: int, error: str | None = None) -> ChunkResult:
        counts = self._counts() if self.lines else self.job.counts
        self.rejects.upload_part(self.clients.s3, self.job, self.job.counts.lines + 1)
        reports.assemble_report(self.clients.s3, self.job)
        # A token no message carries: any later copy of this chunk's message is skipped.
        final_token = f"{state}:{self.job.token}"
        self._status(state, final_token, offset, counts, previous=self.job.token, error=error)
        return self._result(state, counts)

    def _result(self, state: str, counts: Counts) -> ChunkResult:
        start = self.job.counts
        return ChunkResult(
            Decision.RUN,
            state,
            self.job.offset,
            self.lines.offset if self.lines else self.job.offset,
            counts.sent - start.sent,
            counts.rejected - start.rejected,
        )

    def _status(
        self,
        state: str,
        token: str,
        offset: int,
        counts: Counts,
        *,
        previous: str | None = None,
        error: str | None = None,
        continuation: str | None = None,
    ) -> None:
        reports.write_status(
            self.clients.s3,
            self.job,
            state=state,
            token=token,
            previous_token=previous,
            next_offset=offset,
            lines=counts.lines,
            sent=counts.sent,
            rejected=counts.rejected,
            error=error,
            continuation=continuation,
        )
