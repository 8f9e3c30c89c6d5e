"""Throughput and latency of the local gateway: POST /registrations → validation → SQS (moto).

    python -m bench.gateway                     # 600 requests at concurrency 1 and at 8
    python -m bench.gateway -n 200 --concurrency 1 4 8

Starts its own moto server on a free port, creates the ingest API in it (as the Terraform
module does), runs `scripts.local_gateway` as a separate process (as `make local-up` does), and
posts valid registrations from client threads with one keep-alive `requests.Session` each. For
scale it also times invalid bodies (validated and refused, no SQS call: the gateway's own cost)
and `SendMessage` straight to moto at concurrency 1. Prints a table, writes
bench/gateway-results.json.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from scripts.harness import cli
from scripts.harness.stack import aws_session, processes
from scripts.harness.stack.moto_server import MotoServer
from tests.scripts.gateway.support import STAGE, create_ingest_api

RESULTS = Path(__file__).resolve().parent / "gateway-results.json"
WARM_UP = 30


def body(index: int) -> bytes:
    return json.dumps(
        {
            "user_id": f"bench-u{index:07d}",
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "registered_at": "2026-01-01T09:00:00Z",
        }
    ).encode()


def measure(
    requests_total: int,
    concurrency: int,
    send: Callable[[Any, int], None],
    session_factory: Callable[[], Any],
) -> dict[str, Any]:
    """Run `send(session, index)` `requests_total` times from `concurrency` threads."""
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(requests_total))

    def worker() -> None:
        session = session_factory()
        own: list[float] = []
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                break
            started = time.perf_counter()
            send(session, index)
            own.append(time.perf_counter() - started)
        with lock:
            latencies.extend(own)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "concurrency": concurrency,
        "requests": len(ordered),
        "wall_s": round(wall, 3),
        "requests_per_s": round(len(ordered) / wall, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.parser("bench.gateway", __doc__)
    parser.add_argument("-n", type=cli.positive_int, default=600, help="requests per row")
    parser.add_argument("--concurrency", type=cli.positive_int, nargs="+", default=[1, 8])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as scratch:
        moto = MotoServer(Path(scratch), port=processes.free_port())
        moto.start()
        try:
            rows = run(moto, Path(scratch), args.n, args.concurrency)
        finally:
            moto.stop()
    print(f"{'row':<28} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for row in rows:
        print(
            f"{row['row']:<28} {row['concurrency']:>4} {row['requests_per_s']:>8} "
            f"{row['p50_ms']:>8} {row['p99_ms']:>8}"
        )
    RESULTS.write_text(
        json.dumps(
            {
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "load_average_1m": os.getloadavg()[0],
                "rows": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"bench.gateway: wrote {RESULTS}")
    return 0


def run(
    moto: MotoServer, scratch: Path, total: int, concurrencies: list[int]
) -> list[dict[str, Any]]:
    session = aws_session.session(aws_session.local_target(moto.endpoint_url))
    api = create_ingest_api(session, rate=10_000, burst=5_000, quota=None)
    port = processes.free_port()
    pidfile = scratch / "gateway.pid"
    command = [
        sys.executable, "-m", "scripts.local_gateway", "--quiet",
        "--endpoint-url", moto.endpoint_url, "--api-id", api.api_id, "--stage", STAGE,
        "--port", str(port),
    ]  # fmt: skip
    pid = processes.spawn(command, log_path=scratch / "gateway.log", pidfile=pidfile)
    rows = []
    try:
        processes.wait_until(
            lambda: processes.port_open("127.0.0.1", port),
            timeout_s=30,
            pid=pid,
            what="local gateway",
            log_path=scratch / "gateway.log",
        )
        url = f"http://127.0.0.1:{port}/{STAGE}/registrations"
        headers = {"Content-Type": "application/json", "x-api-key": api.api_key or ""}

        def post(http: requests.Session, index: int) -> None:
            response = http.post(url, data=body(index), headers=headers, timeout=30)
            if response.status_code != 200:
                raise RuntimeError(f"HTTP {response.status_code}: {response.text}")

        sqs = session.client("sqs")

        def empty_queue() -> None:
            # moto allows one PurgeQueue a minute; a new queue of the same name has the same URL.
            sqs.delete_queue(QueueUrl=api.queue_url)
            sqs.create_queue(QueueName="registrations")

        measure(WARM_UP, 1, post, requests.Session)
        for concurrency in concurrencies:
            # moto's SQS slows down as a queue grows: every row starts from an empty one.
            empty_queue()
            row = measure(total, concurrency, post, requests.Session)
            rows.append({"row": "local gateway → SQS (moto)", **row})

        def refused(http: requests.Session, index: int) -> None:
            response = http.post(url, data=b'{"user_id": 1}', headers=headers, timeout=30)
            if response.status_code != 400:
                raise RuntimeError(f"HTTP {response.status_code}: {response.text}")

        for concurrency in concurrencies:
            row = measure(total, concurrency, refused, requests.Session)
            rows.append({"row": "local gateway, 400 (no SQS)", **row})

        def send(client: Any, index: int) -> None:
            client.send_message(QueueUrl=api.queue_url, MessageBody=body(index).decode())

        empty_queue()
        row = measure(total, 1, send, lambda: sqs)
        rows.append({"row": "SendMessage straight to moto", **row})
    finally:
        processes.stop(pidfile)
    return rows


if __name__ == "__main__":
    sys.exit(cli.run("bench.gateway", main, None))
