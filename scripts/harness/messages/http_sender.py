"""POST planned messages to the ingest API (`make send VIA=http`), several at a time.

Each worker thread keeps one `requests.Session`, so its connection is reused across requests as
a real producer's would be. Messages of one user always go to the same worker, in plan order:
the out-of-order and duplicate cases depend on the order a user's messages arrive in, not on the
order between users. The API answers `200 {"messageId"}` (the SQS message id, so the ledger and
`make verify` work unchanged); `429` and `503` are retried with backoff (nothing was enqueued);
any other answer is final and recorded with API Gateway's message.
"""

from __future__ import annotations

import queue
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from scripts.harness.gateway import ingest_outputs
from scripts.harness.messages.registrations import PlannedMessage
from scripts.harness.messages.sender import SendResult, now_ms

LOCAL_GATEWAY_URL = "http://127.0.0.1:4567"
RETRIED_STATUSES = frozenset({429, 503})
MAX_ATTEMPTS = 6
BACKOFF_BASE_S = 0.2
TIMEOUT_S = 30


@dataclass(frozen=True)
class HttpTarget:
    url: str
    api_key: str | None

    def describe(self) -> str:
        return self.url + (" with an API key" if self.api_key else "")


def resolve_target(
    profile: str,
    session: Any,
    *,
    outputs_file: Any = None,
    url: str | None = None,
    api_key: str | None = None,
) -> HttpTarget:
    """Where to POST: the ingest_url output (its path on the local gateway for `local`), and
    the API key's value read through API Gateway from the ingest_api_key_id output."""
    if url is None or api_key is None:
        outputs = ingest_outputs.load(profile, outputs_file)
        if url is None:
            url = outputs.url
            if profile == "local":
                url = LOCAL_GATEWAY_URL + urlsplit(outputs.url).path
        if api_key is None and outputs.api_key_id:
            api_key = session.client("apigateway").get_api_key(
                apiKey=outputs.api_key_id, includeValue=True
            )["value"]
    return HttpTarget(url, api_key)


def send_all(
    plan: Sequence[PlannedMessage],
    target: HttpTarget,
    concurrency: int,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[SendResult]:
    """POST every message; yield each result as it completes (workers run concurrently)."""
    lanes: list[list[int]] = [[] for _ in range(concurrency)]
    for index, message in enumerate(plan):
        user = message.user_id or (message.record.user_id if message.record else None)
        key = user if user is not None else str(index)
        lanes[zlib.crc32(key.encode("utf-8", "surrogatepass")) % concurrency].append(index)
    results: queue.Queue[SendResult | BaseException] = queue.Queue()
    stop = threading.Event()

    def work(lane: list[int]) -> None:
        with requests.Session() as http:
            for index in lane:
                if stop.is_set():
                    return
                try:
                    results.put(_post(http, target, index, plan[index], sleep))
                except BaseException as error:  # handed to the caller's thread, re-raised there
                    results.put(error)
                    return

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="http-send") as pool:
        for lane in lanes:
            pool.submit(work, lane)
        try:
            for _ in range(len(plan)):
                result = results.get()
                if isinstance(result, BaseException):
                    raise result
                yield result
        finally:
            stop.set()


def _post(
    http: requests.Session,
    target: HttpTarget,
    index: int,
    message: PlannedMessage,
    sleep: Callable[[float], None],
) -> SendResult:
    headers = {"Content-Type": "application/json"}
    if target.api_key:
        headers["x-api-key"] = target.api_key
    data = message.body.encode("utf-8", "surrogatepass")
    error = ""
    window = (now_ms(), now_ms())
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            sleep(BACKOFF_BASE_S * 2 ** (attempt - 1))
        started = now_ms()
        try:
            response = http.post(target.url, data=data, headers=headers, timeout=TIMEOUT_S)
        except requests.ConnectionError as failure:
            # Nothing reached the API (or it is down): worth another attempt.
            window, error = (started, now_ms()), f"connection failed: {failure}"
            continue
        window = (started, now_ms())
        if response.status_code == 200:
            return SendResult(index, response.json()["messageId"], window)
        error = f"HTTP {response.status_code}: {_describe(response)}"
        if response.status_code not in RETRIED_STATUSES:
            break
    return SendResult(index, None, window, error)


def _describe(response: requests.Response) -> str:
    try:
        document = response.json()
    except ValueError:
        return response.text[:200]
    detail = document.get("validationError")
    return f"{document.get('message')}{f' {detail}' if detail else ''}"[:500]
