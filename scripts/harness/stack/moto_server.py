"""A moto server process standing in for the AWS APIs (DynamoDB, SQS, Secrets Manager, …).

A real HTTP endpoint rather than in-process ``mock_aws``: the handler reaches it through
``AWS_ENDPOINT_URL`` exactly as it reaches AWS, and subprocesses (the zip run by scripts.invoke,
the local stack) see the same state as the test that set it up.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

from scripts.harness.stack import processes

MOTO_MAIN = Path(__file__).resolve().with_name("moto_main.py")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566


class MotoServer:
    def __init__(
        self,
        base_dir: Path,
        *,
        port: int = DEFAULT_PORT,
        host: str = DEFAULT_HOST,
        pidfile: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.log_path = base_dir / "moto.log"
        self.pidfile = pidfile or base_dir / "moto.pid"

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def pid(self) -> int | None:
        return processes.read_pid(self.pidfile)

    def start(self, timeout_s: float = 30.0) -> bool:
        """Start unless already running (idempotent); returns True when it started it."""
        if self.pid() is not None:
            return False
        if processes.port_open(self.host, self.port):
            raise processes.ServerError(
                f"port {self.host}:{self.port} is taken by another process (LocalStack?); stop it "
                "or pick another port"
            )
        # moto.server's entry point with the local stack's fixes (moto_main.py), with this
        # interpreter, so it works from any venv without relying on PATH.
        command = [sys.executable, str(MOTO_MAIN), "-H", self.host, "-p", str(self.port)]
        pid = processes.spawn(command, log_path=self.log_path, pidfile=self.pidfile)
        processes.wait_until(
            self.healthy,
            timeout_s=timeout_s,
            pid=pid,
            what=f"moto server on {self.endpoint_url}",
            log_path=self.log_path,
        )
        return True

    def stop(self) -> int | None:
        return processes.stop(self.pidfile)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(  # noqa: S310 (fixed http URL on loopback)
                f"{self.endpoint_url}/moto-api/config", timeout=1
            ) as response:
                json.load(response)
        except (OSError, ValueError, urllib.error.URLError):
            return False
        return True

    def reset(self) -> None:
        """Forget every resource (``POST /moto-api/reset``)."""
        url = f"{self.endpoint_url}/moto-api/reset"
        request = urllib.request.Request(url, method="POST")  # noqa: S310 (http on loopback)
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass
