"""`make lake`: query the registrations data lake with DuckDB, and chart it.

    python -m scripts.lake                           # registrations and updates per day
    python -m scripts.lake --sql "SELECT change, count(*) FROM changes GROUP BY ALL"
    python -m scripts.lake --chart                   # also dist/registrations-per-day.png
    python -m scripts.lake --profile aws

The lake is the `changes` function's output: gzipped JSON Lines under
`registrations/dt=YYYY-MM-DD/` in the lake bucket (lambdas/changes/README.md). The objects are
copied from the endpoint (moto locally, S3 on AWS) into a temporary directory and DuckDB reads
them there, with `dt` from the Hive-style path: DuckDB's S3 reader (httpfs) is an extension it
downloads on first use, which an offline machine cannot. On AWS, for a lake too big to copy,
query the Glue table `registrations.changes` with Athena instead (the same columns).
Your SQL sees one view, `changes`, with the row's columns plus `dt`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from scripts.harness import cli
from scripts.harness.stack import aws_session, outputs

PROG = "lake"
PREFIX = "registrations/"
# How long `make verify` waits for the lake to catch up with the table (batch window + polling).
LAKE_LAG_S = 60.0
LAKE_POLL_S = 2.0
CHART = Path(__file__).resolve().parents[1] / "dist" / "registrations-per-day.png"
PER_DAY = """
SELECT dt AS day,
       count(*) FILTER (WHERE change = 'created') AS registrations,
       count(*) FILTER (WHERE change = 'updated') AS updates,
       count(*) FILTER (WHERE change = 'updated' AND list_contains(changed_fields, 'email'))
           AS email_changes,
       count(*) FILTER (WHERE change = 'removed') AS removals
FROM changes GROUP BY dt ORDER BY dt
"""


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser(PROG, __doc__)
    cli.add_profile(parser)
    cli.add_endpoint(parser)
    parser.add_argument("--outputs", type=Path, help="stack outputs JSON instead of Terraform")
    parser.add_argument("--sql", help="a query over the view `changes` (default: per day)")
    parser.add_argument("--chart", action="store_true", help=f"also write {CHART.name}")
    parser.add_argument("--chart-path", type=Path, default=CHART, help=argparse.SUPPRESS)
    return parser


def download(s3: Any, bucket: str, directory: Path) -> int:
    """Copy every lake object into `directory` (same keys); returns how many."""
    copied = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PREFIX):
        for listed in page.get("Contents", []):
            target = directory / listed["Key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, listed["Key"], str(target))
            copied += 1
    return copied


def connect(directory: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the view `changes` over the copied objects."""
    connection = duckdb.connect()
    pattern = (directory / PREFIX / "dt=*" / "*.jsonl.gz").as_posix()
    connection.execute(
        "CREATE VIEW changes AS SELECT * FROM read_json("
        f"'{pattern}', format = 'newline_delimited', hive_partitioning = true, "
        "columns = {user_id: 'VARCHAR', change: 'VARCHAR', changed_fields: 'VARCHAR[]', "
        "old_version: 'VARCHAR', new_version: 'VARCHAR', registered_at: 'VARCHAR', "
        "source: 'VARCHAR', event_time: 'TIMESTAMPTZ', sequence_number: 'VARCHAR'})"
    )
    return connection


def read_changes(s3: Any, bucket: str) -> list[dict[str, Any]]:
    """Every change row of the lake, in no particular order."""
    found: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PREFIX):
        for listed in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=listed["Key"])["Body"].read()
            found += [json.loads(line) for line in gzip.decompress(body).splitlines() if line]
    return found


def problems(rows: list[dict[str, Any]], table_versions: Mapping[str, str]) -> list[str]:
    """What is wrong with the lake given the table's {user_id: version} (empty: consistent).

    Each change appears once (a sequence number twice means a batch was written twice under
    different names), and the newest change of every user of the table carries the table's
    version.
    """
    found: list[str] = []
    seen = Counter(row["sequence_number"] for row in rows)
    found += [f"change {seq} appears {n} times in the lake" for seq, n in seen.items() if n > 1]
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        current = latest.get(row["user_id"])
        if current is None or int(row["sequence_number"]) > int(current["sequence_number"]):
            latest[row["user_id"]] = row
    for user_id, version in sorted(table_versions.items()):
        row = latest.get(user_id)
        if row is None:
            found.append(f"user {user_id}: no change in the lake")
        elif row["new_version"] != version:
            found.append(
                f"user {user_id}: the lake's latest version {row['new_version']} is not the "
                f"table's {version}"
            )
    return found


def check(
    s3: Any, bucket: str, table_versions: Mapping[str, str], *, wait_s: float = LAKE_LAG_S
) -> list[str]:
    """`problems`, read again until none or `wait_s` passed: the stream runs seconds behind."""
    deadline = time.monotonic() + wait_s
    while True:
        found = problems(read_changes(s3, bucket), table_versions)
        if not found or time.monotonic() >= deadline:
            return found
        time.sleep(LAKE_POLL_S)


def lake_rows(s3: Any, bucket: str, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run `sql` over the lake in `bucket`: (column names, rows); empty lake -> no rows."""
    with tempfile.TemporaryDirectory(prefix="lake-") as directory:
        if download(s3, bucket, Path(directory)) == 0:
            return [], []
        relation = connect(Path(directory)).sql(sql)
        return list(relation.columns), relation.fetchall()


def draw(rows: list[tuple[Any, ...]], path: Path) -> None:
    import matplotlib  # noqa: PLC0415 (only for --chart: ~0.3 s to import)

    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: PLC0415

    days = [str(row[0]) for row in rows]
    figure, axes = pyplot.subplots(figsize=(max(6, len(days) * 0.6), 4))
    axes.bar(days, [row[1] for row in rows], label="registrations")
    axes.bar(days, [row[2] for row in rows], bottom=[row[1] for row in rows], label="updates")
    axes.set_title("Registrations per day (from the change lake)")
    axes.set_ylabel("changes")
    axes.legend()
    figure.autofmt_xdate()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def print_table(columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    cells = [columns, *[["" if v is None else str(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    for n, row in enumerate(cells):
        print("  ".join(value.rjust(width) for value, width in zip(row, widths, strict=True)))
        if n == 0:
            print("  ".join("-" * width for width in widths))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.chart and args.sql:
        raise cli.UserError("--chart draws the per-day query; leave out --sql")
    raw = outputs.load_raw(args.profile, args.outputs)
    bucket = raw.get("lake_bucket")
    if not bucket:
        raise cli.UserError("the stack has no lake_bucket output: is the change stream applied?")
    s3 = aws_session.session(cli.target(args)).client("s3")
    try:
        columns, rows = lake_rows(s3, bucket, args.sql or PER_DAY)
    except duckdb.Error as err:
        raise cli.UserError(f"query failed: {str(err).splitlines()[0]}") from err
    if not columns:
        print(f"{PROG}: the lake s3://{bucket}/{PREFIX} is empty (no change written yet)")
        return 0
    print_table(columns, rows)
    if args.chart:
        draw(rows, args.chart_path)
        print(f"{PROG}: chart {args.chart_path}")
    return 0


def run(argv: Sequence[str] | None = None) -> int:
    return cli.run(PROG, main, argv)


if __name__ == "__main__":
    sys.exit(run())
