"""What one invocation of the importer is asked to do: start a file, or carry on with one.

Two kinds of message arrive on the import queue. S3 sends an event notification when an object
is created (and an ``s3:TestEvent`` when the notification is configured, which is skipped); the
importer itself sends a continuation when its time budget ends before the file does. Both become
an `ImportJob`: which object version, where to start reading, and the running counts.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from urllib.parse import unquote_plus

IMPORT_PREFIX = "imports/"
REPORT_PREFIX = "imports/reports/"
# Suffix -> (format, gzip-compressed). The bucket notification filters on the same suffixes.
FORMATS = {
    ".csv": ("csv", False),
    ".csv.gz": ("csv", True),
    ".jsonl": ("jsonl", False),
    ".jsonl.gz": ("jsonl", True),
}
CONTINUATION_KEY = "import_continuation"
FIRST_CHUNK = "start"


class NotAnImport(ValueError):
    """A message the importer has nothing to do with (test event, its own report, other key)."""


@dataclass(frozen=True, slots=True)
class Counts:
    """Running totals over every chunk of one import."""

    lines: int = 0  # physical lines read (the next chunk starts after this one)
    sent: int = 0  # bodies accepted by SendMessageBatch
    rejected: int = 0  # rows in the rejects report


@dataclass(frozen=True, slots=True)
class ImportJob:
    """One chunk of work on one object version.

    ``token`` names the chunk: the status object records the token of the chunk that may run
    next, so a redelivered or duplicated message for a chunk already done is recognized (see
    `reports.ImportStatus`).
    """

    bucket: str
    key: str
    version_id: str | None
    etag: str | None
    sequencer: str | None = None
    offset: int = 0
    token: str = FIRST_CHUNK
    columns: tuple[str, ...] | None = None
    counts: Counts = field(default_factory=Counts)

    @property
    def import_id(self) -> str:
        """The object version being imported.

        Without versioning, the ETag plus the event's sequencer: the same content uploaded
        again is a new import, as it would be with a new version id.
        """
        return self.version_id or f"{self.etag}:{self.sequencer}"

    @property
    def starts_file(self) -> bool:
        return self.offset == 0 and self.token == FIRST_CHUNK

    @property
    def format(self) -> str:
        return source_format(self.key)[0]

    @property
    def compressed(self) -> bool:
        return source_format(self.key)[1]

    def continuation(
        self, offset: int, token: str, columns: tuple[str, ...] | None, counts: Counts
    ) -> ImportJob:
        return replace(self, offset=offset, token=token, columns=columns, counts=counts)

    def to_message(self) -> str:
        document = asdict(self)
        document["columns"] = list(self.columns) if self.columns is not None else None
        return json.dumps({CONTINUATION_KEY: document}, separators=(",", ":"))


def source_format(key: str) -> tuple[str, bool]:
    """(format, compressed) from the key's suffix."""
    lowered = key.lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if lowered.endswith(suffix):
            return FORMATS[suffix]
    raise NotAnImport(f"{key!r} is not .csv, .jsonl or their .gz")


def relative_key(key: str) -> str:
    """The key below ``imports/`` (reports are named after it)."""
    return key.removeprefix(IMPORT_PREFIX)


def jobs_from_body(body: str) -> list[ImportJob]:
    """The jobs one import-queue message asks for; [] for a message to skip.

    Raises ValueError for a body that is neither an S3 notification nor a continuation.
    """
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError("import queue message is not a JSON object")
    if document.get("Event") == "s3:TestEvent":
        return []
    if CONTINUATION_KEY in document:
        return [_continuation(document[CONTINUATION_KEY])]
    if "Records" in document:
        return [job for record in document["Records"] if (job := _from_s3_record(record))]
    raise ValueError("import queue message is neither an S3 event nor a continuation")


def _continuation(document: dict[str, Any]) -> ImportJob:
    columns = document.get("columns")
    return ImportJob(
        bucket=document["bucket"],
        key=document["key"],
        version_id=document.get("version_id"),
        etag=document.get("etag"),
        sequencer=document.get("sequencer"),
        offset=int(document["offset"]),
        token=document["token"],
        columns=tuple(columns) if columns is not None else None,
        counts=Counts(**document.get("counts", {})),
    )


def _from_s3_record(record: dict[str, Any]) -> ImportJob | None:
    if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
        return None
    s3 = record["s3"]
    key = unquote_plus(s3["object"]["key"])  # S3 events URL-encode keys
    if not key.startswith(IMPORT_PREFIX) or key.startswith(REPORT_PREFIX):
        return None  # the notification cannot exclude a sub-prefix: skip our own reports
    try:
        source_format(key)
    except NotAnImport:
        return None
    return ImportJob(
        bucket=s3["bucket"]["name"],
        key=key,
        version_id=s3["object"].get("versionId") or None,
        etag=s3["object"].get("eTag") or None,
        # Unique per event on AWS; an emulator that leaves it out still sends the event time.
        sequencer=s3["object"].get("sequencer") or record.get("eventTime"),
    )
