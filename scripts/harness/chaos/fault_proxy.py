"""An HTTP proxy in front of moto that can make DynamoDB throttle, for `make chaos`.

moto never throttles, yet throttling is the DynamoDB failure a busy function meets first. During
a chaos run the function's AWS_ENDPOINT_URL points here instead of at moto; everything is
forwarded unchanged except, while a throttle window is open, DynamoDB calls (JSON protocol,
`X-Amz-Target: DynamoDB_20120810.*`), which get the HTTP 400 DynamoDB itself answers:
`ProvisionedThroughputExceededException` and `ThrottlingException`, alternately. The handler
does not know about the proxy: it sees what it would see on AWS (botocore retries them, then
the record is handed back to SQS).
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

DYNAMODB_TARGET_PREFIX = "DynamoDB_20120810."
THROTTLE_ERRORS = (
    "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
    "com.amazonaws.dynamodb.v20120810#ThrottlingException",
)
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"}
)
UPSTREAM_TIMEOUT_S = 60.0


class FaultProxy:
    """A threaded proxy on 127.0.0.1:<free port> forwarding to `upstream_url`."""

    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http:// URL, got {upstream_url!r}")
        self._upstream = (parts.hostname, parts.port or 80)
        self._throttling = threading.Event()
        self._lock = threading.Lock()
        self._errors = itertools.cycle(THROTTLE_ERRORS)
        self.injected = 0
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
        """Open (True) or close (False) the DynamoDB throttle window."""
        if on:
            self._throttling.set()
        else:
            self._throttling.clear()

    def _next_fault(self, target: str) -> str | None:
        """The error type to answer with, or None to forward (also counts both)."""
        with self._lock:
            if self._throttling.is_set() and target.startswith(DYNAMODB_TARGET_PREFIX):
                self.injected += 1
                return next(self._errors)
            self.forwarded += 1
            return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as boto3 expects

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy._next_fault(self.headers.get("X-Amz-Target", ""))
                if fault is not None:
                    self._answer(400, {"Content-Type": "application/x-amz-json-1.0"},
                                 json.dumps({"__type": fault, "message": "Rate exceeded (chaos)"})
                                 .encode())  # fmt: skip
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
