"""The record of a send run: what went onto the queue and what each message must become.

`make verify` judges the stores against this file, not against the sender's memory, so a run can
be verified later, from another shell, or against AWS. It is JSONL written as messages are
accepted by SQS (a crash leaves a truthful prefix): a `run` header line, one `message` line per
message with its SQS MessageId, and a closing `summary` line. `.local/ledgers/latest` points at
the newest run.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from scripts.harness.cli import UserError
from scripts.harness.messages.registrations import PlannedMessage, Record

REPO_ROOT = Path(__file__).resolve().parents[3]
LEDGER_DIR = REPO_ROOT / ".local" / "ledgers"
LATEST = "latest"


@dataclass(frozen=True)
class RunHeader:
    run_id: str
    created_at: str
    profile: str
    queue_url: str
    source: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SentMessage:
    """One ledger line: the plan for a message plus what SQS said when it was sent."""

    seq: int
    kind: str
    outcome: str
    body: str
    message_id: str | None
    sent_after_ms: int  # the SendMessageBatch call started at or after this time
    sent_before_ms: int  # ... and ended by this time (bounds SentTimestamp for legacy bodies)
    record: Record | None = None
    reason: str | None = None
    user_id: str | None = None
    error: str | None = None  # set when SQS refused the message for good

    @classmethod
    def of(
        cls, seq: int, planned: PlannedMessage, message_id: str | None, window: tuple[int, int]
    ) -> SentMessage:
        return cls(
            seq=seq,
            kind=planned.kind,
            outcome=planned.outcome,
            body=planned.body,
            message_id=message_id,
            sent_after_ms=window[0],
            sent_before_ms=window[1],
            record=planned.record,
            reason=planned.reason,
            user_id=planned.user_id or (planned.record.user_id if planned.record else None),
        )

    @property
    def sent(self) -> bool:
        return self.message_id is not None


@dataclass(frozen=True)
class Ledger:
    path: Path
    header: RunHeader
    messages: list[SentMessage]
    summary: dict[str, Any] | None

    @property
    def sent(self) -> list[SentMessage]:
        return [m for m in self.messages if m.sent]


def new_path(directory: Path = LEDGER_DIR, now: datetime | None = None) -> Path:
    """A fresh ledger file name: the UTC timestamp of the run."""
    moment = now or datetime.now(UTC)
    return directory / f"{moment:%Y%m%dT%H%M%S%fZ}.jsonl"


class LedgerWriter:
    """Append-only writer; the `latest` pointer moves to this ledger when it opens."""

    def __init__(self, path: Path, header: RunHeader) -> None:
        self.path = path
        self._header = header
        self._file: TextIO | None = None
        self._counts: dict[str, int] = {}

    def __enter__(self) -> LedgerWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("x", encoding="utf-8")
        self._write({"type": "run", **asdict(self._header)})
        point_latest(self.path)
        return self

    def write(self, message: SentMessage) -> None:
        self._write({"type": "message", **asdict(message)})
        key = "sent" if message.sent else "failed"
        self._counts[key] = self._counts.get(key, 0) + 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._file is not None
        status = "complete" if exc is None else f"aborted: {exc_type.__name__ if exc_type else ''}"
        self._write(
            {
                "type": "summary",
                "status": status,
                "finished_at": datetime.now(UTC).isoformat(),
                **self._counts,
            }
        )
        self._file.close()

    def _write(self, line: dict[str, Any]) -> None:
        assert self._file is not None
        self._file.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._file.flush()


def point_latest(path: Path) -> None:
    """Atomically make `<dir>/latest` a relative symlink to `path`."""
    link = path.parent / LATEST
    temporary = path.parent / f".{LATEST}.{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(path.name)
    temporary.replace(link)


def resolve(path: Path | None, directory: Path = LEDGER_DIR) -> Path:
    """The ledger to read: `path`, or the latest run's."""
    candidate = path or directory / LATEST
    if not candidate.exists():
        raise UserError(
            f"no ledger at {candidate}: run `make send` first or pass --ledger FILE"
            if path is None
            else f"no ledger at {candidate}"
        )
    return candidate.resolve()


def read(path: Path) -> Ledger:
    """Parse a ledger file."""
    header: RunHeader | None = None
    messages: list[SentMessage] = []
    summary: dict[str, Any] | None = None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise UserError(f"cannot read ledger {path}: {err}") from err
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
            kind = entry.pop("type")
            if kind == "run":
                header = RunHeader(**entry)
            elif kind == "message":
                record = entry.pop("record")
                messages.append(SentMessage(record=Record(**record) if record else None, **entry))
            elif kind == "summary":
                summary = entry
        except (ValueError, KeyError, TypeError) as err:
            raise UserError(f"{path}:{number}: not a ledger line ({err})") from err
    if header is None:
        raise UserError(f"{path} has no run header: not a ledger")
    return Ledger(path=path, header=header, messages=messages, summary=summary)
