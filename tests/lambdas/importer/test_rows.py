"""rows: bytes in, bodies or rejected rows out, with exact positions to resume from."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest

from importer import rows
from importer.rows import CsvLayout, HeaderError, LineReader, RejectReason

LAST_MODIFIED = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def reader(data: bytes, offset: int = 0, line: int = 0) -> LineReader:
    return LineReader(io.BytesIO(data[offset:]).read, offset=offset, line=line)


def csv_all(data: bytes) -> list[rows.Row]:
    lines = reader(data)
    layout = rows.csv_header(lines)
    return list(rows.csv_rows(lines, layout, LAST_MODIFIED))


def test_raw_lines_keep_every_byte_and_split_only_on_newline() -> None:
    # Lines of 97 bytes cross every read boundary; the last one has no newline.
    data = b"a,b\r\n\xc3\xa9\n" + b"x" * 96 + b"\n" + (b"y" * 96 + b"\n") * 6000 + b"last"
    pieces = list(rows.raw_lines(io.BytesIO(data).read))
    assert all(piece is not None for piece, _ in pieces)
    assert b"".join(piece or b"" for piece, _ in pieces) == data
    assert [size for _, size in pieces] == [5, 3, 97, *[97] * 6000, 4]


def test_an_over_long_line_is_one_rejected_line_and_memory_does_not_hold_it() -> None:
    data = (
        b"user_id,name,email,registered_at\n" + b"y" * (3 * rows.MAX_LINE_BYTES) + b"\nu-1,N,,t\n"
    )
    result = csv_all(data)
    assert [(r.line, r.reason) for r in result] == [
        (2, RejectReason.LINE_TOO_LONG),
        (3, None),
    ]
    assert result[-1].end_offset == len(data)


def test_canonical_csv_rows_become_bodies_with_the_offset_after_each_record() -> None:
    data = (
        "user_id,name,email,registered_at\r\n"
        'u-1,"Lovelace, Ada",ada@example.com,2026-01-01T00:00:00Z\r\n'
        "\r\n"
        'u-2,"multi\nline",,2026-01-02T00:00:00Z\r\n'
        "u-3,Zoë,z@example.com,2026-01-03T00:00:00Z"
    ).encode()
    result = csv_all(data)
    assert [json.loads(r.body or "") for r in result] == [
        {
            "user_id": "u-1",
            "name": "Lovelace, Ada",
            "email": "ada@example.com",
            "registered_at": "2026-01-01T00:00:00Z",
        },
        {"user_id": "u-2", "name": "multi\nline", "registered_at": "2026-01-02T00:00:00Z"},
        {
            "user_id": "u-3",
            "name": "Zoë",
            "email": "z@example.com",
            "registered_at": "2026-01-03T00:00:00Z",
        },
    ]
    assert [(r.line, r.end_line) for r in result] == [(2, 2), (4, 5), (6, 6)]
    # Resuming at a record's end offset reads exactly the records after it.
    second_end = result[1].end_offset
    assert data[second_end:].startswith(b"u-3,")


def test_malformed_rows_are_rejected_with_their_line_and_reading_goes_on() -> None:
    data = (
        b"user_id,name,email,registered_at\n"
        b"u-1,Ada,,2026-01-01T00:00:00Z\n"
        b'u-2,"Al"an,,2026-01-01T00:00:00Z\n'
        b"u-3,Grace,2026-01-01T00:00:00Z\n"
        b"u-4,Gr\xffce,,2026-01-01T00:00:00Z\n"
        b"u-5,Edsger,,2026-01-01T00:00:00Z\n"
    )
    result = csv_all(data)
    assert [(r.line, r.reason) for r in result] == [
        (2, None),
        (3, RejectReason.BAD_QUOTING),
        (4, RejectReason.COLUMN_COUNT),
        (5, RejectReason.UNDECODABLE),
        (6, None),
    ]
    assert result[2].detail == "expected 4 fields, found 3"
    assert json.loads(result[-1].body or "")["user_id"] == "u-5"


def test_a_byte_order_mark_does_not_become_part_of_the_first_column() -> None:
    data = "\ufeffuser_id,name,registered_at\nu-1,Ada,2026-01-01T00:00:00Z\n".encode()
    assert json.loads(csv_all(data)[0].body or "")["user_id"] == "u-1"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (b"id,name\n", "lacks user_id or CustID"),
        (b"user_id,name\n", "lacks registered_at"),
        (b"user_id,name,name,registered_at\n", "twice"),
        (b"", "empty"),
    ],
)
def test_a_header_of_neither_shape_refuses_the_file(header: bytes, message: str) -> None:
    with pytest.raises(HeaderError, match=message):
        rows.csv_header(reader(header))


def test_legacy_rows_get_last_modified_plus_one_microsecond_per_line() -> None:
    data = b"CustID,Name\n1021,Martha Rivera\n7,Ken\n1021,Martha Later\n"
    bodies = [json.loads(r.body or "") for r in csv_all(data)]
    assert bodies == [
        {
            "user_id": "1021",
            "name": "Martha Rivera",
            "registered_at": "2026-03-01T12:00:00.000002Z",
        },
        {"user_id": "7", "name": "Ken", "registered_at": "2026-03-01T12:00:00.000003Z"},
        {"user_id": "1021", "name": "Martha Later", "registered_at": "2026-03-01T12:00:00.000004Z"},
    ]


@pytest.mark.parametrize(
    ("cell", "sent"),
    [("abc", "abc"), ("-5", "-5"), (str(2**63), 2**63), ("٣", "٣")],
)
def test_a_legacy_id_that_is_no_legacy_integer_is_left_for_the_handler_to_reject(
    cell: str, sent: object
) -> None:
    (row,) = csv_all(f"CustID,Name\n{cell},Ken\n".encode())
    assert json.loads(row.body or "") == {"CustID": sent, "Name": "Ken"}


def test_jsonl_lines_are_sent_as_written_and_legacy_objects_get_the_timestamp_rule() -> None:
    data = (
        b'{"user_id":"u-1","name":"Ada","registered_at":"2026-01-01T00:00:00Z"}\n'
        b"\n"
        b"not json\n"
        b'{"CustID": 12, "Name": "Ken"}\n'
        b'{"CustID": "12", "Name": "Ken"}\n'
        b"\xff\n"
    )
    result = list(rows.jsonl_rows(reader(data), LAST_MODIFIED))
    assert [(r.line, r.body, r.reason) for r in result] == [
        (1, '{"user_id":"u-1","name":"Ada","registered_at":"2026-01-01T00:00:00Z"}', None),
        (3, "not json", None),
        (4, '{"user_id":"12","name":"Ken","registered_at":"2026-03-01T12:00:00.000004Z"}', None),
        (5, '{"CustID":"12","Name":"Ken"}', None),
        (6, None, RejectReason.UNDECODABLE),
    ]


def test_a_layout_from_a_continuation_reads_rows_from_the_middle() -> None:
    data = b"user_id,name,registered_at\nu-1,A,t1\nu-2,B,t2\n"
    first = csv_all(data)[0]
    lines = reader(data, offset=first.end_offset, line=first.end_line)
    layout = CsvLayout(("user_id", "name", "registered_at"))
    (row,) = rows.csv_rows(lines, layout, LAST_MODIFIED)
    assert (row.line, json.loads(row.body or "")["user_id"]) == (3, "u-2")
    assert row.end_offset == len(data)
