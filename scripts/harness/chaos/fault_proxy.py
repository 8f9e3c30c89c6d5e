"""An HTTP proxy in front of moto that can make DynamoDB throttle or fail, for `make chaos`.

moto never throttles, yet throttling is the DynamoDB failure a busy function meets first. During
a chaos run the function's AWS_ENDPOINT_URL points here instead of at moto; everything is
forwarded unchanged except, while a fault window is open, DynamoDB calls (JSON protocol,
`X-Amz-Target: DynamoDB_20120810.*`), which get what DynamoDB itself answers: for `THROTTLE` the
HTTP 400 `ProvisionedThroughputExceededException` and `ThrottlingException`, alternately; for
`OUTAGE` an HTTP 500 `InternalServerError`. The handler does not know about the proxy: it sees
what it would see on AWS (botocore retries them, then the record is handed back to SQS).

A window opened with `open(fault, requests=N)` closes itself once N DynamoDB requests have been
answered with the fault, so a fault is guaranteed to hit traffic however fast or slow the
machine is; `open(fault)` stays open until `close()`.
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

DYNAMODB_TARGET_PREFIX = "DynamoDB_20120810."
THROTTLE_ERRORS = (
    "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
    "com.amazonaws.dynamodb.v20120810#ThrottlingException",
)
OUTAGE_ERROR = "com.amazonaws.dynamodb.v20120810#InternalServerError"
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"}
)
UPSTREAM_TIMEOUT_S = 60.0


class Fault(StrEnum):
    THROTTLE = "throttle"
    OUTAGE = "outage"


class FaultProxy:
    """A threaded proxy on 127.0.0.1:<free port> forwarding to `upstream_url`."""

    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http:// URL, got {upstream_url!r}")
        self._upstream = (parts.hostname, parts.port or 80)
        self._lock = threading.Lock()
        self._errors = itertools.cycle(THROTTLE_ERRORS)
        self._fault: Fault | None = None
        self._remaining: int | None = None  # faulty answers left before the window closes
        self._closed = threading.Event()
        self._closed.set()
        self.injected = 0  # every faulty answer, of any fault
        self.injected_by: dict[Fault, int] = dict.fromkeys(Fault, 0)
        self.forwarded = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def throttle(self, on: bool) -> None:
        """Open (True) or close (False) an open-ended DynamoDB throttle window."""
        if on:
            self.open(Fault.THROTTLE)
        else:
            self.close()

    def open(self, fault: Fault, requests: int | None = None) -> threading.Event:
        """Answer DynamoDB calls with `fault` until `requests` have been (or `close()`).

        Returns an event that is set when the window closes.
        """
        if requests is not None and requests < 1:
            raise ValueError(f"a fault window needs at least one request, got {requests}")
        with self._lock:
            self._fault, self._remaining = fault, requests
            self._closed.clear()
            return self._closed

    def close(self) -> None:
        with self._lock:
            self._fault, self._remaining = None, None
            self._closed.set()

    def _next_fault(self, target: str) -> tuple[int, str] | None:
        """(status, error type) to answer with, or None to forward (also counts both)."""
        with self._lock:
            fault = self._fault
            if fault is None or not target.startswith(DYNAMODB_TARGET_PREFIX):
                self.forwarded += 1
                return None
            self.injected += 1
            self.injected_by[fault] += 1
            if self._remaining is not None:
                self._remaining -= 1
                if self._remaining == 0:
                    self._fault, self._remaining = None, None
                    self._closed.set()
            if fault is Fault.OUTAGE:
                return 500, OUTAGE_ERROR
            return 400, next(self._errors)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as boto3 expects

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy._next_fault(self.headers.get("X-Amz-Target", ""))
                if fault is not None:
                    status, error = fault
                    message = json.dumps({"__type": error, "message": f"{error} (chaos)"})
                    self._answer(
                        status, {"Content-Type": "application/x-amz-json-1.0"}, message.encode()
                    )
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream = http.client.HTTPConnection(*proxy._upstream, timeout=UPSTREAM_TIMEOUT_S)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    payload = response.read()
                    kept = {
                        k: v
                        for k, v in response.getheaders()
                        if k.lower() not in HOP_BY_HOP | {"content-length"}
                    }
                    self._answer(response.status, kept, payload)
                finally:
                    upstream.close()

            def _answer(self, status: int, headers: dict[str, str], payload: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _relay

            def log_message(self, format: str, *args: object) -> None:
                """Silent: one line per AWS call would drown the chaos report."""

        return Handler
