"""Benchmark the registration handler against its I/O floor and the tutorial's approach.

    python -m bench.run                 # full run (a few minutes on 2 cores), bench/results.json
    python -m bench.run --quick         # small N, for a smoke check
    python -m bench.run --n 20 --quick  # what tests/bench/test_bench_smoke.py runs

Rows (same moto server + MariaDB for every compared row; see bench/README.md):
limit (the store I/O in a bare loop), ours in-process and from the built zip (batches of 10),
the tutorial baseline (one message per invocation), the same three with a null DynamoDB client
("MySQL-only"), cold-start import time, packaging time, and messages/s through the local
event-source runner at several concurrencies (against servers of its own).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import backends, baseline, e2e, limit, ours, startup, workload
from scripts import package
from scripts.harness import cli
from scripts.harness.lambda_local import code_zip
from scripts.harness.lambda_local import runtime as lambda_runtime
from scripts.harness.stack import processes

PROG = "bench"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "bench" / "results.json"
FULL_N = (2_000, 10_000)
FULL_BASELINE_N = (1_000, 10_000)
FULL_E2E_N = 1_000
QUICK_N = (200,)
DEFAULT_CONCURRENCY = (1, 2, 5)
SEED_N = 10_000
GOAL_OURS_OVER_LIMIT = 1.15
GOAL_SEED_OVER_OURS = 5.0
GOAL_COLD_IMPORT_RATIO = 1.2
# On the runtime's own Python (3.12) with the zip's bytecode (issue #18).
GOAL_COLD_IMPORT_RATIO_312 = 1.25
# One in-region network round trip, added by a proxy in front of moto and of MariaDB.
ROUND_TRIP_S = 0.005
GOAL_ROUND_TRIPS_PER_BATCH = 3.0
# Batches of 10 distinct users: 100 of them, so the cold start and the load's noise average out.
LATENCY_USERS = 1_000
QUICK_LATENCY_USERS = 100
GOAL_NOOP_PACKAGE_S = 0.5
E2E_TIMEOUT_S = 600.0
# Baseline N above this is sampled (see bench/baseline.py) unless --baseline-full.
BASELINE_FULL_MAX = 2_000
BASELINE_SAMPLE = 100


def positive(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser(PROG, __doc__)
    parser.add_argument(
        "--n", type=positive, nargs="+", help=f"users for limit/ours (default {FULL_N})"
    )
    parser.add_argument(
        "--baseline-n",
        type=positive,
        nargs="+",
        help=f"messages for the tutorial baseline (default {FULL_BASELINE_N}; --quick: max --n)",
    )
    parser.add_argument(
        "--e2e-n",
        type=positive,
        help=f"messages per local-runner row (default {FULL_E2E_N}; --quick: max --n)",
    )
    parser.add_argument(
        "--concurrency",
        type=positive,
        nargs="+",
        default=list(DEFAULT_CONCURRENCY),
        help="local-runner concurrencies (default 1 2 5)",
    )
    parser.add_argument(
        "--cold-runs", type=positive, help="fresh interpreters per import probe (default 10)"
    )
    parser.add_argument("--quick", action="store_true", help=f"small N (default --n {QUICK_N})")
    parser.add_argument(
        "--baseline-full",
        action="store_true",
        help=f"time every baseline message even above N={BASELINE_FULL_MAX} (quadratic: ~1 h "
        "at 10,000 on 2 busy cores)",
    )
    parser.add_argument("--skip-e2e", action="store_true", help="leave out the local-runner rows")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results JSON path")
    return parser


def resolve_sizes(args: argparse.Namespace) -> argparse.Namespace:
    """Fill the defaults that depend on --quick (explicit values always win)."""
    args.n = sorted(set(args.n or (QUICK_N if args.quick else FULL_N)))
    args.baseline_n = sorted(
        set(args.baseline_n or ([max(args.n)] if args.quick else FULL_BASELINE_N))
    )
    args.e2e_n = args.e2e_n or (max(args.n) if args.quick else FULL_E2E_N)
    args.cold_runs = args.cold_runs or (3 if args.quick else 10)
    return args


def row(
    name: str, n: int, seconds: float, *, dynamodb: str, verified: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    return {
        "row": name,
        "n": n,
        "seconds": round(seconds, 4),
        "messages_per_s": round(n / seconds, 1),
        "dynamodb": dynamodb,
        "mysql": backends.MYSQL_BACKEND,
        "verified": verified,
        **extra,
    }


def progress(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def store_rows(
    args: argparse.Namespace, servers: backends.Servers, code_dir: Path
) -> list[dict[str, Any]]:
    """limit / ours / baseline, with moto DynamoDB and with the null client, verified after."""
    rows: list[dict[str, Any]] = []

    def measure(
        name: str,
        n: int,
        batch_size: int,
        table: str,
        runner: Callable[[Any, list[dict[str, Any]]], float | tuple[float, dict[str, Any]]],
        *,
        null_dynamodb: bool = False,
    ) -> None:
        progress(f"{name} n={n}{' (MySQL-only)' if null_dynamodb else ''}")
        stores = servers.fresh_stores(f"{name.split(' ', maxsplit=1)[0]}{n}")
        events = workload.events(n, batch_size)
        outcome = runner(stores, events)
        seconds, extra = outcome if isinstance(outcome, tuple) else (outcome, {})
        verified = {
            "mysql_rows": servers.mysql_rows(stores, table),
            "dynamodb_items": None if null_dynamodb else servers.dynamodb_items(stores),
        }
        dynamodb = "null client (MySQL-only)" if null_dynamodb else backends.DYNAMODB_BACKEND
        rows.append(row(name, n, seconds, dynamodb=dynamodb, verified=verified, **extra))

    def limit_run(stores: Any, events: list[dict[str, Any]], **kw: Any) -> float:
        return limit.run(stores, workload.registrations(events), **kw)

    def zip_run(stores: Any, events: list[dict[str, Any]]) -> tuple[float, dict[str, Any]]:
        wall, invoke_s, init_ms = ours.run_zip(stores, events, code_dir)
        return wall, {"invoke_seconds": round(invoke_s, 4), "init_ms": init_ms}

    null = backends.NullDynamoDB()
    for n in args.n:
        measure("limit", n, 10, "users", limit_run)
        measure("ours in-process", n, 10, "users", ours.run_in_process)
        measure("ours zip", n, 10, "users", zip_run)
    full_baseline = [n for n in args.baseline_n if args.baseline_full or n <= BASELINE_FULL_MAX]
    for n in full_baseline:
        measure("tutorial baseline", n, 1, "Customer", baseline.run)
    for n in sorted(set(args.baseline_n) - set(full_baseline)):
        rows.append(sampled_baseline(servers, n, rows[-1] if full_baseline else None))
    # MySQL-only: the same rows with DynamoDB replaced by a null client everywhere.
    mysql_only_n = sorted({max(args.n), min(args.baseline_n)})
    for n in mysql_only_n:
        measure(
            "limit", n, 10, "users", lambda s, e: limit_run(s, e, dynamodb=null), null_dynamodb=True
        )
        measure(
            "ours in-process",
            n,
            10,
            "users",
            lambda s, e: ours.run_in_process(s, e, dynamodb=null),
            null_dynamodb=True,
        )
    measure(
        "tutorial baseline",
        min(args.baseline_n),
        1,
        "Customer",
        lambda s, e: baseline.run(s, e, dynamodb=null),
        null_dynamodb=True,
    )
    return rows


def sampled_baseline(
    servers: backends.Servers, n: int, small: dict[str, Any] | None
) -> dict[str, Any]:
    """The baseline at large N from a pre-filled table and the last BASELINE_SAMPLE messages."""
    if small is None:
        raise cli.UserError(
            f"--baseline-n {n} is sampled and needs a full baseline run at N <= "
            f"{BASELINE_FULL_MAX} too (or --baseline-full)"
        )
    progress(f"tutorial baseline n={n} (sampled: last {BASELINE_SAMPLE} messages)")
    sample = min(BASELINE_SAMPLE, n)
    stores = servers.fresh_stores(f"tutorial{n}")
    first = n - sample + 1
    events = workload.events(sample, 1, first_id=first)
    sample_s = baseline.run(stores, events, prefill=first - 1)
    total = baseline.estimate_total(small["n"], small["seconds"], n, sample, sample_s)
    verified = {
        "mysql_rows": servers.mysql_rows(stores, "Customer"),
        "dynamodb_items": servers.dynamodb_items(stores),
    }
    return row(
        "tutorial baseline",
        n,
        total,
        dynamodb=backends.DYNAMODB_BACKEND,
        verified=verified,
        estimated={
            "method": "cost(k) = a + b*k fitted to the full run at N="
            f"{small['n']} and messages {first}..{n} timed on a table pre-filled to {first - 1} "
            "rows; summed over k = 1..N",
            "sample_messages": sample,
            "sample_seconds": round(sample_s, 4),
            "seconds_per_message_at_n": round(sample_s / sample, 5),
        },
    )


def find(rows: Sequence[dict[str, Any]], name: str, n: int, mysql_only: bool) -> dict[str, Any]:
    for entry in rows:
        if (
            entry["row"] == name
            and entry["n"] == n
            and (entry["verified"]["dynamodb_items"] is None) == mysql_only
        ):
            return entry
    raise KeyError(f"{name} n={n}")


def ratios(args: argparse.Namespace, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The two headline ratios (moto + MariaDB rows) with their raw figures, plus MySQL-only."""
    largest = max(args.n)
    limit_row = find(rows, "limit", largest, False)
    ours_row = find(rows, "ours in-process", largest, False)
    common = sorted(set(args.n) & set(args.baseline_n))
    seed_n = SEED_N if SEED_N in common else (max(common) if common else None)
    result: dict[str, Any] = {
        "ours_over_limit": round(ours_row["seconds"] / limit_row["seconds"], 3),
        "ours_over_limit_n": largest,
        "limit_seconds": limit_row["seconds"],
        "ours_seconds": ours_row["seconds"],
        "ours_zip_over_limit": round(
            find(rows, "ours zip", largest, False)["seconds"] / limit_row["seconds"], 3
        ),
        "seed_over_ours_10k": None,
        "seed_over_ours_n": seed_n,
    }
    if seed_n is not None:
        seed_row = find(rows, "tutorial baseline", seed_n, False)
        ours_seed = find(rows, "ours in-process", seed_n, False)
        result |= {
            "seed_over_ours_10k": round(seed_row["seconds"] / ours_seed["seconds"], 2),
            "seed_seconds": seed_row["seconds"],
            "ours_seconds_at_seed_n": ours_seed["seconds"],
        }
    small = min(args.baseline_n)
    mysql_limit = find(rows, "limit", largest, True)
    mysql_ours = find(rows, "ours in-process", largest, True)
    mysql_seed = find(rows, "tutorial baseline", small, True)
    mysql_ours_small = find(rows, "ours in-process", small, True)
    result["mysql_only"] = {
        "ours_over_limit": round(mysql_ours["seconds"] / mysql_limit["seconds"], 3),
        "ours_over_limit_n": largest,
        "limit_seconds": mysql_limit["seconds"],
        "ours_seconds": mysql_ours["seconds"],
        "seed_over_ours": round(mysql_seed["seconds"] / mysql_ours_small["seconds"], 2),
        "seed_over_ours_n": small,
        "seed_seconds": mysql_seed["seconds"],
        "ours_seconds_at_seed_n": mysql_ours_small["seconds"],
    }
    return result


def cold_start(args: argparse.Namespace, code_dir: Path, work: Path) -> dict[str, Any]:
    progress(f"cold start: {args.cold_runs} fresh interpreters per probe")
    runtime_dir = lambda_runtime.runtime_site_packages()
    shipped = startup.measure_imports(code_dir, runtime_dir, args.cold_runs)
    compiled_dir = startup.compiled_copy(code_dir, work / "code-compiled")
    compiled = startup.measure_imports(compiled_dir, runtime_dir, args.cold_runs)
    return {
        "runs": args.cold_runs,
        "on_312": cold_start_312(args, code_dir, runtime_dir),
        "handler_import_ms": round(shipped.handler_median_ms, 1),
        "boto3_pymysql_import_ms": round(shipped.sdk_median_ms, 1),
        "ratio": round(shipped.handler_median_ms / shipped.sdk_median_ms, 3),
        "with_bytecode": {
            "handler_import_ms": round(compiled.handler_median_ms, 1),
            "boto3_pymysql_import_ms": round(compiled.sdk_median_ms, 1),
            "ratio": round(compiled.handler_median_ms / compiled.sdk_median_ms, 3),
        },
        "samples_ms": {"handler": shipped.handler_ms, "boto3_pymysql": shipped.sdk_ms},
        "layers": startup.measure_layers(code_dir, runtime_dir, args.cold_runs),
        "import_profile_self_ms": startup.import_profile(code_dir, runtime_dir),
        "how": "python -I -S -B, extracted zip then a boto3-only dir on sys.path; median",
    }


def cold_start_312(args: argparse.Namespace, code_dir: Path, runtime_dir: Path) -> dict[str, Any]:
    """Cold import on the function's runtime, CPython 3.12, with the zip's 3.12 bytecode."""
    python = package.runtime_python()
    if python is None:
        return {"skipped": "no CPython 3.12 on PATH or under pyenv"}
    sdk_dir = startup.compiled_runtime_dir(
        str(python[0]), runtime_dir, runtime_dir.parent / "runtime-312"
    )
    times = startup.measure_imports(code_dir, sdk_dir, args.cold_runs, str(python[0]))
    return {
        "python": python[1],
        "bytecode_in_zip": any(code_dir.glob("registration/__pycache__/*.cpython-312.pyc")),
        "handler_import_ms": round(times.handler_median_ms, 1),
        "boto3_pymysql_import_ms": round(times.sdk_median_ms, 1),
        "ratio": round(times.handler_median_ms / times.sdk_median_ms, 3),
    }


def latency_rows(servers: backends.Servers, users: int) -> dict[str, Any]:
    """A batch of 10 distinct users with and without 5 ms per round trip to both stores.

    The extra time per batch divided by the round trip is the number of round trips the batch
    waits for one after another: the handler's goal is at most 3 (MySQL upsert, the concurrent
    puts, and a connection check), against ~11 when every put waited for the previous one.
    """
    events = workload.events(users)
    batches = len(events)
    measured: dict[str, dict[str, float]] = {}
    for name, run_row in (
        ("limit", lambda s: limit.run(s, workload.registrations(events))),
        ("ours in-process", lambda s: ours.run_in_process(s, events)),
    ):
        for label, delay in (("0 ms", 0.0), ("5 ms", ROUND_TRIP_S)):
            progress(f"{name}: {users} users, {label} per round trip")
            stores = servers.fresh_stores(f"lat{len(measured)}{label[0]}")
            if delay:
                with backends.behind_latency(stores, delay) as slow:
                    seconds = run_row(slow)
            else:
                seconds = run_row(stores)
            measured.setdefault(name, {})[label] = seconds / batches * 1000
    rows = {}
    for name, per_batch in measured.items():
        rows[name] = {
            "batch_ms_0ms": round(per_batch["0 ms"], 2),
            "batch_ms_5ms": round(per_batch["5 ms"], 2),
            "round_trips_per_batch": round(
                (per_batch["5 ms"] - per_batch["0 ms"]) / (ROUND_TRIP_S * 1000), 2
            ),
        }
    rows["ours_over_limit_5ms"] = round(
        measured["ours in-process"]["5 ms"] / measured["limit"]["5 ms"], 3
    )
    rows["how"] = (
        f"{batches} batches of 10 distinct users, cold start included; a TCP proxy delays every "
        "reply from moto and from MariaDB by 5 ms"
    )
    return rows


def local_runner_rows(args: argparse.Namespace, code_dir: Path) -> dict[str, Any]:
    if args.skip_e2e:
        return {"skipped": "--skip-e2e given"}
    results: dict[str, Any] = {
        "n": args.e2e_n,
        "dynamodb": backends.DYNAMODB_BACKEND + ", own server",
        "mysql": backends.MYSQL_BACKEND + ", own server",
        "sqs": "moto server (same process as DynamoDB)",
        "by_concurrency": {},
    }
    with backends.running_servers("bench-e2e-") as servers:
        for concurrency in args.concurrency:
            progress(f"local runner: {args.e2e_n} messages at concurrency {concurrency}")
            stores = servers.fresh_stores(f"e2e{concurrency}")
            outcome = e2e.run(
                stores, workload.bodies(args.e2e_n), code_dir, concurrency, E2E_TIMEOUT_S
            )
            outcome["verified"] = {
                "mysql_rows": servers.mysql_rows(stores, "users"),
                "dynamodb_items": servers.dynamodb_items(stores),
            }
            outcome["seconds"] = round(outcome["seconds"], 3)
            outcome["messages_per_s"] = round(outcome["messages_per_s"], 1)
            results["by_concurrency"][str(concurrency)] = outcome
    return results


def goals(results: dict[str, Any]) -> list[dict[str, Any]]:
    r, cold, pkg = results["ratios"], results["cold_start"], results["packaging"]
    latency, cold_312 = results["latency_5ms"], cold["on_312"]
    checks = [
        ("ours/limit", r["ours_over_limit"], "<=", GOAL_OURS_OVER_LIMIT),
        ("seed/ours at 10k", r["seed_over_ours_10k"], ">=", GOAL_SEED_OVER_OURS),
        ("cold import / boto3+pymysql", cold["ratio"], "<=", GOAL_COLD_IMPORT_RATIO),
        ("no-op package (s)", pkg["noop_median_s"], "<=", GOAL_NOOP_PACKAGE_S),
        (
            "round trips/batch at 5 ms",
            latency["ours in-process"]["round_trips_per_batch"],
            "<=",
            GOAL_ROUND_TRIPS_PER_BATCH,
        ),
        (
            "cold import 3.12 / boto3+pymysql",
            cold_312.get("ratio"),
            "<=",
            GOAL_COLD_IMPORT_RATIO_312,
        ),
    ]
    out = []
    for name, value, op, target in checks:
        met = None if value is None else (value <= target if op == "<=" else value >= target)
        out.append({"goal": name, "value": value, "target": f"{op} {target}", "met": met})
    return out


def render(results: dict[str, Any]) -> str:
    lines = [
        f"{'row':<20} {'DynamoDB':<26} {'N':>6} {'seconds':>9} {'msg/s':>9}  notes",
        "-" * 90,
    ]
    for entry in results["rows"]:
        dynamodb = "moto server" if entry["verified"]["dynamodb_items"] is not None else "null"
        note = ""
        if "estimated" in entry:
            note = (
                f"ESTIMATED from {entry['estimated']['sample_messages']} messages at the end "
                f"({entry['estimated']['seconds_per_message_at_n'] * 1000:.0f} ms/message there)"
            )
        if "invoke_seconds" in entry:
            note = f"sum of invokes {entry['invoke_seconds']:.2f} s, init {entry['init_ms']:.0f} ms"
        lines.append(
            f"{entry['row']:<20} {dynamodb:<26} {entry['n']:>6} {entry['seconds']:>9.2f} "
            f"{entry['messages_per_s']:>9.1f}  {note}"
        )
    e2e_rows = results["local_runner"]
    if "skipped" in e2e_rows:
        lines.append(f"{'local runner':<20} skipped: {e2e_rows['skipped']}")
    else:
        for concurrency, entry in e2e_rows["by_concurrency"].items():
            lines.append(
                f"{'local runner c=' + concurrency:<20} {'moto server (own)':<26} "
                f"{e2e_rows['n']:>6} {entry['seconds']:>9.2f} {entry['messages_per_s']:>9.1f}  "
                f"{entry['runner_stats'].get('invocations', 0)} invocations"
            )
    cold, pkg = results["cold_start"], results["packaging"]
    compiled = cold["with_bytecode"]
    lines += [
        "-" * 90,
        f"cold import (median of {cold['runs']}): registration.app {cold['handler_import_ms']} ms"
        f" vs import boto3, pymysql {cold['boto3_pymysql_import_ms']} ms (x{cold['ratio']});"
        f" with bytecode {compiled['handler_import_ms']} vs "
        f"{compiled['boto3_pymysql_import_ms']} ms (x{compiled['ratio']})",
        f"cold import on 3.12 with bytecode: {_cold_312_line(cold['on_312'])}",
        "5 ms per round trip, batch of 10 distinct users: "
        + ", ".join(
            f"{name} {row['batch_ms_0ms']} -> {row['batch_ms_5ms']} ms "
            f"({row['round_trips_per_batch']} round trips)"
            for name, row in results["latency_5ms"].items()
            if isinstance(row, dict)
        )
        + f"; ours/limit {results['latency_5ms']['ours_over_limit_5ms']}",
        "cold import by layer: "
        + ", ".join(f"{layer['layer']} {layer['median_ms']} ms" for layer in cold["layers"]),
        f"zip {pkg['zip_bytes']:,} bytes; package clean {pkg['clean_s']:.2f} s, "
        f"no-op {pkg['noop_median_s']:.2f} s (median of {len(pkg['noop_s'])}, whole CLI process)",
    ]
    r = results["ratios"]
    m = r["mysql_only"]
    lines.append(
        f"ratios: ours/limit {r['ours_over_limit']} (N={r['ours_over_limit_n']}; zip "
        f"{r['ours_zip_over_limit']}), seed/ours {r['seed_over_ours_10k']} "
        f"(N={r['seed_over_ours_n']}); MySQL-only: ours/limit {m['ours_over_limit']}, seed/ours "
        f"{m['seed_over_ours']} (N={m['seed_over_ours_n']})"
    )
    for goal in results["goals"]:
        state = {True: "met", False: "MISSED", None: "n/a"}[goal["met"]]
        lines.append(f"goal {goal['goal']:<28} {goal['value']!s:>8} {goal['target']:<8} {state}")
    return "\n".join(lines)


def _cold_312_line(cold: dict[str, Any]) -> str:
    if "skipped" in cold:
        return f"skipped ({cold['skipped']})"
    return (
        f"registration.app {cold['handler_import_ms']} ms vs import boto3, pymysql "
        f"{cold['boto3_pymysql_import_ms']} ms (x{cold['ratio']}, Python {cold['python']})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = resolve_sizes(build_parser().parse_args(argv))
    if args.out.exists() and args.out.is_dir():
        raise cli.UserError(f"--out {args.out} is a directory")
    started = time.perf_counter()
    results: dict[str, Any] = {
        "meta": {
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "note": "shared machine: other jobs may run; compare rows of the same run only",
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        },
        "backends": {"dynamodb": backends.DYNAMODB_BACKEND, "mysql": backends.MYSQL_BACKEND},
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as temp:
        work = Path(temp)
        progress("packaging into a temporary output (clean build, then no-op rebuilds)")
        pkg = startup.measure_packaging(work / "dist", noop_runs=2 if args.quick else 5)
        results["packaging"] = {
            "clean_s": round(pkg.clean_s, 3),
            "noop_s": [round(s, 3) for s in pkg.noop_s],
            "noop_median_s": round(pkg.noop_median_s, 3),
            "zip_bytes": pkg.zip_bytes,
            "how": "python -m scripts.package --output <temp>; dependency cache: toolchain cache",
        }
        code_dir = code_zip.extract(pkg.zip_path, work / "code")
        results["cold_start"] = cold_start(args, code_dir, work)
        try:
            with backends.running_servers() as servers:
                results["rows"] = store_rows(args, servers, code_dir)
                results["latency_5ms"] = latency_rows(
                    servers, QUICK_LATENCY_USERS if args.quick else LATENCY_USERS
                )
            results["local_runner"] = local_runner_rows(args, code_dir)
        except processes.ServerError as error:
            raise cli.UserError(str(error)) from error
    results["ratios"] = ratios(args, results["rows"])
    results["goals"] = goals(results)
    results["meta"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["meta"]["total_seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(render(results))
    print(f"results: {args.out} ({results['meta']['total_seconds']} s)")
    return 0


def run(argv: Sequence[str] | None = None) -> int:
    return cli.run(PROG, main, argv)


if __name__ == "__main__":
    sys.exit(run())
