"""Plan the messages `make send` puts on the queue, each with the outcome it must have.

A run is only verifiable if every message knows, before it is sent, what it should become: the
stored row of its user, a stale update the stores must ignore, a duplicate they must absorb, or a
DLQ entry with a precise `failure_reason`. Generated runs predict that independently of the
handler (each invalid body is built to break exactly one documented rule); bodies read from files
are classified with the handler's own validator, since re-implementing it here would drift.

User ids carry the run id, so runs never touch each other's users and verify can check a run
against a stack that has seen others.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
LAMBDAS_DIR = REPO_ROOT / "lambdas"

# Message kinds.
VALID = "valid"
OUT_OF_ORDER = "out_of_order"
DUPLICATE = "duplicate"
INVALID = "invalid"
LEGACY = "legacy"

# Expected outcomes.
STORED = "stored"
SUPERSEDED = "superseded"
ABSORBED = "absorbed"
DLQ = "dlq"

# One body per documented failure_reason (lambdas/registration/README.md); each breaks one rule.
OVERSIZED_BYTES = 9 * 1024
_FIRST = ("Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim")
_LAST = ("Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson")
BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)


def format_timestamp(moment: datetime) -> str:
    """The stored text form (docs/CONTRACTS.md): YYYY-MM-DDTHH:MM:SS.ffffffZ in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Record:
    """The content a valid message must leave in both stores."""

    user_id: str
    name: str
    email: str | None
    registered_at: str | None  # None: legacy body, taken from SentTimestamp on arrival


@dataclass(frozen=True)
class PlannedMessage:
    """One message to send and what it must become."""

    kind: str
    body: str
    outcome: str
    record: Record | None = None
    reason: str | None = None  # the DLQ failure_reason expected for an invalid body
    user_id: str | None = None  # also set for invalid bodies that name a user (must stay absent)


@dataclass(frozen=True)
class Mix:
    """Fractions of a generated run (each of the whole run); the rest are fresh valid users."""

    duplicates: float = 0.0
    invalid: float = 0.0
    out_of_order: float = 0.0

    def counts(self, total: int) -> tuple[int, int, int, int]:
        """(valid, out_of_order, duplicates, invalid) message counts for `total` messages."""
        for name, value in vars(self).items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a fraction between 0 and 1, got {value}")
        invalid = round(total * self.invalid)
        duplicates = round(total * self.duplicates)
        out_of_order = round(total * self.out_of_order)
        valid = total - invalid - duplicates - out_of_order
        if valid < 1 or out_of_order > valid:
            raise ValueError(
                f"the fractions leave {valid} fresh registrations for {out_of_order} "
                "out-of-order updates: lower them"
            )
        return valid, out_of_order, duplicates, invalid


def _invalid_bodies(user_id: str, at: str) -> list[tuple[str, str]]:
    """(failure_reason, body) pairs, one per documented reason."""
    good = {"user_id": user_id, "name": "Invalid Ivy", "email": "ivy@example.com"}
    return [
        ("invalid_json", '{"user_id": "' + user_id + '", "name": '),
        ("not_an_object", json.dumps([user_id, "Invalid Ivy"])),
        ("missing_field", json.dumps({"user_id": user_id, "registered_at": at})),
        ("wrong_type", json.dumps({**good, "name": 42, "registered_at": at})),
        ("invalid_value", json.dumps({**good, "user_id": f"{user_id} x", "registered_at": at})),
        ("invalid_email", json.dumps({**good, "email": "ivy.example.com", "registered_at": at})),
        ("invalid_timestamp", json.dumps({**good, "registered_at": "yesterday"})),
        ("oversized", json.dumps({**good, "registered_at": at, "pad": "x" * OVERSIZED_BYTES})),
    ]


INVALID_REASONS = tuple(reason for reason, _ in _invalid_bodies("u", "t"))


def canonical_body(record: Record) -> str:
    payload: dict[str, Any] = {"user_id": record.user_id, "name": record.name}
    if record.email is not None:
        payload["email"] = record.email
    payload["registered_at"] = record.registered_at
    return json.dumps(payload, ensure_ascii=False)


def generate(total: int, mix: Mix, seed: int, run_id: str) -> list[PlannedMessage]:
    """`total` messages in sending order: content from `seed`, user ids from `run_id`."""
    rng = random.Random(seed)
    n_valid, n_stale, n_dup, n_invalid = mix.counts(total)
    keyed: list[tuple[float, PlannedMessage]] = []
    originals: list[tuple[float, PlannedMessage]] = []
    for index in range(n_valid):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        at = BASE_TIME + timedelta(seconds=index, microseconds=rng.randrange(1_000_000))
        record = Record(
            user_id=f"{run_id}-u{index:06d}",
            name=f"{first} {last}",
            email=f"{first}.{last}.{index}@example.com".lower(),
            registered_at=format_timestamp(at),
        )
        entry = (float(index), PlannedMessage(VALID, canonical_body(record), STORED, record))
        keyed.append(entry)
        originals.append(entry)
    for key, newer in rng.sample(originals, n_stale):
        assert newer.record is not None and newer.record.registered_at is not None
        older_at = datetime.fromisoformat(newer.record.registered_at) - timedelta(
            seconds=rng.randrange(1, 86_400)
        )
        record = Record(
            user_id=newer.record.user_id,
            name=f"{newer.record.name} (before rename)",
            email=f"old.{newer.record.email}",
            registered_at=format_timestamp(older_at),
        )
        stale = PlannedMessage(OUT_OF_ORDER, canonical_body(record), SUPERSEDED, record)
        keyed.append((rng.uniform(key, n_valid), stale))
    sendable = list(keyed)
    for _ in range(n_dup):
        key, original = rng.choice(sendable)
        copy = PlannedMessage(DUPLICATE, original.body, ABSORBED, original.record)
        keyed.append((rng.uniform(key, n_valid), copy))
    for index in range(n_invalid):
        user_id = f"{run_id}-bad{index:06d}"
        reason, body = _invalid_bodies(user_id, format_timestamp(BASE_TIME))[
            index % len(INVALID_REASONS)
        ]
        keyed.append(
            (rng.uniform(0, n_valid), PlannedMessage(INVALID, body, DLQ, None, reason, user_id))
        )
    keyed.sort(key=lambda pair: pair[0])
    return [message for _, message in keyed]


# ---------------------------------------------------------------------------- bodies from files


def read_bodies(path: Path) -> list[str]:
    """Message bodies from a JSON file (a body, a list of bodies, or an SQS event) or JSONL."""
    text = path.read_text()
    if path.suffix == ".jsonl":
        return [line for line in text.splitlines() if line.strip()]
    document = json.loads(text)
    if isinstance(document, dict) and isinstance(document.get("Records"), list):
        return [str(record["body"]) for record in document["Records"]]
    items = document if isinstance(document, list) else [document]
    return [item if isinstance(item, str) else json.dumps(item) for item in items]


def _handler_validation() -> Any:
    """The handler's validation module (lambdas/registration/validation.py)."""
    if str(LAMBDAS_DIR) not in sys.path:
        sys.path.append(str(LAMBDAS_DIR))
    from registration import validation  # noqa: PLC0415 (lives beside the handler, not here)

    return validation


def classify(bodies: Iterable[str], now: datetime) -> list[PlannedMessage]:
    """Predict each body's outcome with the handler's validator; later versions win."""
    validation = _handler_validation()
    sent_timestamp = {"SentTimestamp": str(int(now.timestamp() * 1000))}
    planned: list[PlannedMessage] = []
    for body in bodies:
        try:
            parsed = validation.parse_registration(body, sent_timestamp, now=now)
        except validation.ValidationError as error:
            planned.append(PlannedMessage(INVALID, body, DLQ, None, str(error.reason)))
            continue
        legacy = validation.LEGACY_KEY in json.loads(body)
        record = Record(
            user_id=parsed.user_id,
            name=parsed.name,
            email=parsed.email,
            registered_at=None if legacy else format_timestamp(parsed.registered_at),
        )
        planned.append(PlannedMessage(LEGACY if legacy else VALID, body, STORED, record))
    return resolve_outcomes(planned)


def resolve_outcomes(messages: Sequence[PlannedMessage]) -> list[PlannedMessage]:
    """Mark repeats as absorbed and older versions as superseded, in sending order."""
    seen: set[str] = set()
    latest: dict[str, PlannedMessage] = {}
    for message in messages:
        if message.record is None:
            continue
        current = latest.get(message.record.user_id)
        if current is None or _newer(message.record, current.record):
            latest[message.record.user_id] = message
    resolved = []
    for message in messages:
        if message.record is None:
            resolved.append(message)
            continue
        if message.body in seen:
            outcome, kind = ABSORBED, DUPLICATE
        else:
            winner = latest[message.record.user_id]
            outcome = STORED if winner.body == message.body else SUPERSEDED
            kind = message.kind if outcome == STORED else OUT_OF_ORDER
        seen.add(message.body)
        resolved.append(PlannedMessage(kind, message.body, outcome, message.record))
    return resolved


def _newer(candidate: Record, current: Record | None) -> bool:
    """Whether `candidate` replaces `current` (legacy bodies: the later one sent wins)."""
    if current is None or candidate.registered_at is None or current.registered_at is None:
        return True
    return candidate.registered_at > current.registered_at
