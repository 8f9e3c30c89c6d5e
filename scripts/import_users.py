"""`make import FILE=users.csv`: upload a file of users for the importer and follow the import.

    python -m scripts.import_users users.csv                       # local profile
    python -m scripts.import_users export.jsonl.gz --profile aws
    python -m scripts.import_users users.csv --outputs outputs.json --no-ledger

The file goes to ``imports/<file name>`` in the bucket of the ``import_bucket_name`` output
(``--bucket`` overrides it). The command then polls the import's status object
(``imports/reports/<name>.status.json``) with a progress bar of rows read, sent and rejected,
and prints the rejects report when the importer is done. It also writes a send ledger of the
file's valid rows, so `make verify` checks them in both stores once the registration queue has
drained (rows the handler rejects are counted, not ledgered: their DLQ entries name message ids
only the importer saw).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from botocore.exceptions import ClientError
from tqdm import tqdm

from scripts.harness import cli
from scripts.harness.messages import ledger, registrations
from scripts.harness.stack import aws_session

PROG = "import_users"
IMPORT_PREFIX = "imports/"
REPORT_PREFIX = "imports/reports/"
SUFFIXES = (".csv", ".csv.gz", ".jsonl", ".jsonl.gz")
POLL_INTERVAL_S = 1.0
MAX_REJECT_LINES = 20
# The importer's row mapping, imported from the function's source (lambdas/importer).
LAMBDAS_DIR = Path(__file__).resolve().parents[1] / "lambdas"


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser(PROG, __doc__)
    parser.add_argument("file", type=Path, help="a .csv, .jsonl, .csv.gz or .jsonl.gz file")
    cli.add_profile(parser)
    cli.add_endpoint(parser)
    parser.add_argument("--bucket", help="override the import_bucket_name output")
    parser.add_argument("--outputs", type=Path, help="stack outputs JSON instead of Terraform")
    parser.add_argument(
        "--timeout", type=cli.positive_int, default=3600, help="seconds to wait for the import"
    )
    parser.add_argument(
        "--no-ledger", action="store_true", help="do not write a ledger for make verify"
    )
    parser.add_argument("--ledger-dir", type=Path, default=ledger.LEDGER_DIR)
    return parser


def bucket_name(args: argparse.Namespace) -> str:
    if args.bucket:
        return str(args.bucket)
    if args.outputs is not None:
        try:
            raw = json.loads(args.outputs.read_text())
        except (OSError, ValueError) as err:
            raise cli.UserError(f"cannot read outputs file {args.outputs}: {err}") from err
    else:
        from scripts.harness.stack import terraform  # noqa: PLC0415 (needs the toolchain)

        raw = terraform.outputs(args.profile)
    value = raw.get("import_bucket_name")
    value = value.get("value") if isinstance(value, dict) else value
    if not value:
        raise cli.UserError("no import_bucket_name output: is the bulk import deployed?")
    return str(value)


def check_file(path: Path) -> str:
    """The object key for `path`; refuses what the importer would not import."""
    if not path.is_file():
        raise cli.UserError(f"no such file: {path}")
    if not path.name.lower().endswith(SUFFIXES):
        raise cli.UserError(f"{path.name}: the importer reads {', '.join(SUFFIXES)} files only")
    return f"{IMPORT_PREFIX}{path.name}"


def open_lines(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")


def count_lines(path: Path) -> int:
    """Physical lines of the file (the progress bar's total)."""
    count = 0
    last = b"\n"
    with open_lines(path) as stream:
        while chunk := stream.read(1024 * 1024):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def file_bodies(path: Path, key: str, last_modified: datetime) -> Iterator[str]:
    """The bodies the importer sends for this file, from its own row mapping."""
    if str(LAMBDAS_DIR) not in sys.path:
        sys.path.insert(0, str(LAMBDAS_DIR))
    from importer import rows  # noqa: PLC0415 (the function's source, not a harness module)

    with open_lines(path) as stream:
        lines = rows.LineReader(stream.read, offset=0, line=0)
        if key.lower().removesuffix(".gz").endswith(".jsonl"):
            parsed = rows.jsonl_rows(lines, last_modified)
        else:
            try:
                layout = rows.csv_header(lines)
            except rows.HeaderError:
                return
            parsed = rows.csv_rows(lines, layout, last_modified)
        for row in parsed:
            if row.body is not None:
                yield row.body


def write_ledger(
    args: argparse.Namespace, bucket: str, key: str, last_modified: datetime, version: str
) -> tuple[Path, int, int]:
    """A ledger of the file's valid rows (message ids name the line, not an SQS message)."""
    now = datetime.now(UTC)
    planned = registrations.classify(file_bodies(args.file, key, last_modified), now)
    valid = [p for p in planned if p.outcome != registrations.DLQ]
    header = ledger.RunHeader(
        run_id=f"import-{now:%Y%m%dt%H%M%S}",
        created_at=now.isoformat(),
        profile=args.profile,
        queue_url=f"s3://{bucket}/{key}?versionId={version}",
        source=f"import: {args.file}",
        options={"rows": len(planned), "invalid_not_ledgered": len(planned) - len(valid)},
    )
    path = ledger.new_path(args.ledger_dir, now)
    window = (int(last_modified.timestamp() * 1000), int(time.time() * 1000))
    with ledger.LedgerWriter(path, header) as writer:
        for index, message in enumerate(valid):
            writer.write(ledger.SentMessage.of(index, message, f"import-{index}", window))
    return path, len(valid), len(planned) - len(valid)


def read_json(s3: Any, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    return dict(json.loads(body))


def wait_for_import(
    s3: Any,
    bucket: str,
    key: str,
    version: str,
    *,
    total_lines: int,
    timeout_s: int,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll the status object of this version until the importer is done (or failed)."""
    status_key = f"{REPORT_PREFIX}{key.removeprefix(IMPORT_PREFIX)}.status.json"
    deadline = time.monotonic() + timeout_s
    with tqdm(total=total_lines, unit="line", desc="import", disable=None) as progress:
        while True:
            status = read_json(s3, bucket, status_key)
            if status and status.get("import_id") == version:
                progress.update(status["lines"] - progress.n)
                progress.set_postfix(sent=status["sent"], rejected=status["rejected"])
                if status["state"] != "running":
                    return status
            if time.monotonic() > deadline:
                raise cli.UserError(
                    f"the import of {key} did not finish within {timeout_s} s "
                    f"(status: s3://{bucket}/{status_key}); is the importer running?"
                )
            sleep(POLL_INTERVAL_S)


def print_report(s3: Any, bucket: str, status: dict[str, Any]) -> None:
    print(
        f"{PROG}: {status['state']}: {status['lines']} lines read, {status['sent']} rows sent, "
        f"{status['rejected']} rejected"
    )
    if status.get("error"):
        print(f"{PROG}: {status['error']}")
    report = status.get("report")
    if not report or not status["rejected"]:
        return
    print(f"{PROG}: rejects report s3://{bucket}/{report}")
    body = s3.get_object(Bucket=bucket, Key=report)["Body"]
    for number, line in enumerate(body.iter_lines()):
        if number == MAX_REJECT_LINES:
            print(f"  ... and {status['rejected'] - MAX_REJECT_LINES} more")
            break
        entry = json.loads(line)
        lines = f"{entry['line']}" + (
            f"-{entry['end_line']}" if entry["end_line"] != entry["line"] else ""
        )
        print(f"  line {lines}: {entry['reason']}: {entry['detail']}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    key = check_file(args.file)
    bucket = bucket_name(args)
    s3 = aws_session.session(cli.target(args)).client("s3")
    total = count_lines(args.file)
    s3.upload_file(str(args.file), bucket, key)
    head = s3.head_object(Bucket=bucket, Key=key)
    version = head.get("VersionId")
    if not version or version == "null":
        raise cli.UserError(f"bucket {bucket} is not versioned: deploy modules/bulk_import")
    print(f"{PROG}: uploaded s3://{bucket}/{key} (version {version}, {total} lines)")
    if not args.no_ledger:
        path, valid, invalid = write_ledger(args, bucket, key, head["LastModified"], version)
        print(f"{PROG}: ledger {path}: {valid} valid rows for make verify ({invalid} invalid)")
    status = wait_for_import(s3, bucket, key, version, total_lines=total, timeout_s=args.timeout)
    print_report(s3, bucket, status)
    return 0 if status["state"] == "done" else 1


def run(argv: Sequence[str] | None = None) -> int:
    return cli.run(PROG, main, argv)


if __name__ == "__main__":
    sys.exit(run())
