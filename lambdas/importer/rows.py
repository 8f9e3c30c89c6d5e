"""Turn a byte stream of CSV or JSON Lines into registration bodies, one row at a time.

Pure and streaming: the input is any ``read(n) -> bytes`` callable (a botocore StreamingBody, a
GzipFile over one), memory holds one line at a time, and every yielded row carries the byte
offset just past it, so a later invocation can resume exactly there.

A row becomes a rejected row only when it cannot be turned into a body at all (undecodable
bytes, bad CSV quoting, wrong number of fields, a line too long to be a registration). Whether a
body is a valid registration is the registration handler's decision, never this module's.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

READ_SIZE = 256 * 1024
# A registration body is at most 8 KiB; a line far beyond that is garbage (or a missing newline
# in a binary file), and holding it would make memory depend on the input.
MAX_LINE_BYTES = 64 * 1024
MAX_LEGACY_CUSTOMER_ID = 2**63 - 1

CANONICAL_COLUMNS = ("user_id", "name", "email", "registered_at")
REQUIRED_CANONICAL_COLUMNS = ("user_id", "name", "registered_at")
LEGACY_COLUMNS = ("CustID", "Name")

# csv raises instead of growing a field past this (an unclosed quote swallowing the file).
csv.field_size_limit(MAX_LINE_BYTES)


class RejectReason(StrEnum):
    """Codes in the rejects report (lambdas/importer/README.md)."""

    BAD_HEADER = "bad_header"
    UNDECODABLE = "undecodable"
    BAD_QUOTING = "bad_quoting"
    COLUMN_COUNT = "column_count"
    LINE_TOO_LONG = "line_too_long"
    REFUSED_BY_SQS = "refused_by_sqs"


class HeaderError(ValueError):
    """The CSV header is neither the canonical nor the legacy shape: the file cannot be read."""


@dataclass(frozen=True, slots=True)
class Row:
    """One input record: a body to send, or the reason it cannot be one.

    ``line``/``end_line`` are 1-based physical lines of the file (a quoted CSV field may span
    several); ``end_offset`` is the byte offset just past the record.
    """

    line: int
    end_line: int
    end_offset: int
    reason: RejectReason | None = None  # None: ``body`` is set
    detail: str | None = None
    body: str | None = None


class _LineError(Exception):
    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def raw_lines(read: Callable[[int], bytes]) -> Iterator[tuple[bytes | None, int]]:
    """``(line, size)`` per physical line, newline included; ``line`` is None when too long.

    Splitting bytes on ``\\n`` before decoding is safe for UTF-8 (no multi-byte sequence contains
    0x0A) and lets one bad byte reject its line instead of the file.
    """
    buffer = b""
    skipping = 0  # bytes of an over-long line consumed so far
    while chunk := read(READ_SIZE):
        buffer += chunk
        start = 0
        while (newline := buffer.find(b"\n", start)) != -1:
            size = skipping + newline + 1 - start
            skipping = 0
            yield (buffer[start : newline + 1] if size <= MAX_LINE_BYTES else None), size
            start = newline + 1
        buffer = buffer[start:]
        if len(buffer) > MAX_LINE_BYTES:
            skipping += len(buffer)
            buffer = b""
    if skipping or buffer:
        size = skipping + len(buffer)
        yield (buffer if size <= MAX_LINE_BYTES else None), size


class LineReader:
    """Decoded lines with the position they end at; what `csv.reader` pulls from.

    Errors are raised *through* csv.reader (it resets its state at the next record), so a bad
    line becomes one rejected record and reading carries on.
    """

    def __init__(self, read: Callable[[int], bytes], *, offset: int, line: int) -> None:
        self.offset = offset  # byte offset just past the last line handed out
        self.line = line  # number of the last line handed out (0: none yet)
        self._lines = raw_lines(read)
        # utf-8-sig drops a byte-order mark at the start of the file (Excel writes one).
        self._decoder = codecs.getincrementaldecoder("utf-8-sig" if offset == 0 else "utf-8")()

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        raw, size = next(self._lines)
        self.offset += size
        self.line += 1
        if raw is None:
            raise _LineError(RejectReason.LINE_TOO_LONG, f"line longer than {MAX_LINE_BYTES} bytes")
        try:
            # Every line is complete, so the decoder holds no state between lines.
            return self._decoder.decode(raw, final=False)
        except UnicodeDecodeError as err:
            self._decoder.reset()
            raise _LineError(
                RejectReason.UNDECODABLE, f"not UTF-8 (byte {err.start + 1} of the line)"
            ) from None


def legacy_timestamp(last_modified: datetime, line: int) -> str:
    """``registered_at`` of a legacy row: the object's LastModified plus one microsecond per line.

    Legacy exports have no timestamp; this keeps later lines newer than earlier ones for the same
    id (the last line wins, as a sequential import of the export would), stays within a second of
    the upload for a million lines, and is the same on every redelivery of the chunk.
    """
    moment = last_modified.astimezone(UTC) + timedelta(microseconds=line)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _dumps(document: dict[str, object]) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def legacy_body(customer_id: object, name: object, registered_at: str) -> str:
    """The body for a tutorial ``Customer`` record.

    An id that is an integer in the legacy range becomes the canonical shape the handler maps
    the legacy one to (``user_id = str(CustID)``, no email) with the documented timestamp; any
    other id is sent in the legacy shape unchanged, so the handler rejects it with its own reason.
    """
    if (
        isinstance(customer_id, int)
        and not isinstance(customer_id, bool)
        and 0 <= customer_id <= MAX_LEGACY_CUSTOMER_ID
    ):
        return _dumps({"user_id": str(customer_id), "name": name, "registered_at": registered_at})
    return _dumps({"CustID": customer_id, "Name": name})


def _csv_integer(cell: str) -> int | str:
    """A CSV cell holding an ASCII decimal integer as that integer (what JSON would carry)."""
    text = cell.strip()
    return int(text) if text.isascii() and text.isdigit() else cell


@dataclass(frozen=True, slots=True)
class CsvLayout:
    """Which column holds what, from the header line (kept in continuations)."""

    columns: tuple[str, ...]

    @classmethod
    def from_header(cls, fields: Sequence[str]) -> CsvLayout:
        columns = tuple(field.strip() for field in fields)
        if "user_id" in columns:
            missing = [c for c in REQUIRED_CANONICAL_COLUMNS if c not in columns]
        elif "CustID" in columns:
            missing = [c for c in LEGACY_COLUMNS if c not in columns]
        else:
            missing = ["user_id or CustID"]
        if missing:
            raise HeaderError(
                f"header lacks {', '.join(missing)}: expected "
                f"{','.join(CANONICAL_COLUMNS)} or {','.join(LEGACY_COLUMNS)}"
            )
        if len(set(columns)) != len(columns):
            raise HeaderError("header names a column twice")
        return cls(columns)

    @property
    def legacy(self) -> bool:
        return "user_id" not in self.columns

    def body(self, fields: Sequence[str], line: int, last_modified: datetime) -> str:
        """The registration body of a row with the right number of fields."""
        values = dict(zip(self.columns, fields, strict=True))
        if self.legacy:
            return legacy_body(
                _csv_integer(values["CustID"]),
                values["Name"],
                legacy_timestamp(last_modified, line),
            )
        document: dict[str, object] = {
            column: values[column] for column in CANONICAL_COLUMNS if column in values
        }
        if not document.get("email"):
            document.pop("email", None)  # an empty cell is "no email", as null is in JSON
        return _dumps(document)


def csv_header(lines: LineReader) -> CsvLayout:
    """Read the header line (the first non-blank record) of a file read from its start."""
    for fields in csv.reader(lines, strict=True):
        if fields:
            return CsvLayout.from_header(fields)
    raise HeaderError("the file is empty: no header line")


def csv_rows(lines: LineReader, layout: CsvLayout, last_modified: datetime) -> Iterator[Row]:
    """Every record after the header, as a body or a rejected row; blank lines are skipped."""
    reader = csv.reader(lines, strict=True)
    expected = len(layout.columns)
    while True:
        first = lines.line + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except _LineError as err:
            yield Row(first, lines.line, lines.offset, err.reason, err.detail)
            continue
        except csv.Error as err:
            yield Row(first, lines.line, lines.offset, RejectReason.BAD_QUOTING, str(err))
            continue
        if not fields:
            continue
        if len(fields) != expected:
            detail = f"expected {expected} fields, found {len(fields)}"
            yield Row(first, lines.line, lines.offset, RejectReason.COLUMN_COUNT, detail)
            continue
        body = layout.body(fields, first, last_modified)
        yield Row(first, lines.line, lines.offset, body=body)


def jsonl_rows(lines: LineReader, last_modified: datetime) -> Iterator[Row]:
    """One body per non-blank line, sent as written except for the legacy shape.

    A line that is not JSON is still a body: the handler dead-letters it as ``invalid_json``.
    Legacy objects get the same timestamp rule as legacy CSV rows.
    """
    while True:
        try:
            text = next(lines).strip()
        except StopIteration:
            return
        except _LineError as err:
            yield Row(lines.line, lines.line, lines.offset, err.reason, err.detail)
            continue
        if not text:
            continue
        body = _jsonl_body(text, lines.line, last_modified)
        yield Row(lines.line, lines.line, lines.offset, body=body)


def _jsonl_body(text: str, line: int, last_modified: datetime) -> str:
    if '"CustID"' not in text:  # cheap pre-check: most lines are canonical
        return text
    try:
        document = json.loads(text)
    except ValueError:
        return text
    if (
        isinstance(document, dict)
        and "CustID" in document
        and "Name" in document
        and "user_id" not in document
    ):
        return legacy_body(
            document["CustID"], document["Name"], legacy_timestamp(last_modified, line)
        )
    return text
