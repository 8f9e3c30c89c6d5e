"""Judge what the stores and the DLQ hold against a ledger. Pure: no I/O, so it is unit-tested.

The expected state is recomputed from the messages SQS accepted (not from the sender's plan), with
the same rules the plan used: per user the highest registered_at wins (for legacy bodies, whose
registered_at is the SentTimestamp, the last one sent), repeats are absorbed, and every invalid
body ends in the DLQ with its reason, exactly once, and never in a store. Given the keys a store
holds in the run's scope, every row must also be explained by the ledger: a stray row fails.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from scripts.harness.messages import registrations as reg
from scripts.harness.messages.dlq import DeadLetter
from scripts.harness.messages.ledger import Ledger, SentMessage
from scripts.harness.messages.store_readers import StoredUser

# SentTimestamp is stamped by SQS between the start and the end of the send call; allow for
# clock skew between this machine and the endpoint.
SENT_TIMESTAMP_SLACK_MS = 2_000
VERSION_SEPARATOR = "#"


@dataclass(frozen=True)
class StoreKeys:
    """Every user_id each store holds within the run's scope (for the stray-row count)."""

    dynamodb: frozenset[str]
    mysql: frozenset[str]


def run_scope(ledger: Ledger) -> str | None:
    """The user_id prefix whose every row the run must explain; None when it cannot say.

    A chaos run on empty stores owns everything ("chaos"); generated and chaos runs prefix their
    users with the run id; users named by files may be anyone's, so their rows are not counted.
    """
    source = ledger.header.source
    if source == "chaos":
        return ""
    if source.startswith(("generated", "chaos")):  # e.g. "chaos on used stores"
        return f"{ledger.header.run_id}-"
    return None


@dataclass(frozen=True)
class Check:
    """One row of the summary table."""

    name: str
    expected: int
    found: int

    @property
    def ok(self) -> bool:
        return self.expected == self.found


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches and all(check.ok for check in self.checks)


def by_outcome(messages: Sequence[SentMessage]) -> dict[str, list[SentMessage]]:
    """Sent messages grouped by the outcome they must have, recomputed in sending order."""
    planned = [
        reg.PlannedMessage(m.kind, m.body, m.outcome, m.record, m.reason, m.user_id)
        for m in messages
    ]
    grouped: dict[str, list[SentMessage]] = {}
    for message, resolved in zip(messages, reg.resolve_outcomes(planned), strict=True):
        grouped.setdefault(resolved.outcome, []).append(message)
    return grouped


def expected_users(messages: Sequence[SentMessage]) -> tuple[dict[str, SentMessage], Counter[str]]:
    """Per user the message whose content must be stored; and how many of each outcome."""
    grouped = by_outcome(messages)
    winners = {m.record.user_id: m for m in grouped.get(reg.STORED, []) if m.record is not None}
    return winners, Counter({outcome: len(group) for outcome, group in grouped.items()})


def _ms(text: str) -> int:
    moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def content_problems(expected: SentMessage, stored: StoredUser) -> list[str]:
    """How `stored` differs from what `expected` must have left (empty when it matches)."""
    record = expected.record
    assert record is not None
    problems = []
    if stored.name != record.name:
        problems.append("name differs from the latest version")
    if stored.email != record.email:
        problems.append("email differs from the latest version")
    if record.registered_at is not None:
        if stored.registered_at != record.registered_at:
            problems.append(
                f"registered_at {stored.registered_at}, latest sent is {record.registered_at}"
            )
    else:
        low = expected.sent_after_ms - SENT_TIMESTAMP_SLACK_MS
        high = expected.sent_before_ms + SENT_TIMESTAMP_SLACK_MS
        if not low <= _ms(stored.registered_at) <= high:
            problems.append(f"registered_at {stored.registered_at} is not the send time")
    if not stored.version.startswith(stored.registered_at + VERSION_SEPARATOR):
        problems.append(f"version {stored.version[:40]}... does not start with registered_at")
    return problems


@dataclass(frozen=True)
class _Observed:
    """What the stores and the DLQ hold, indexed for the checks."""

    dynamodb: Mapping[str, StoredUser]
    mysql: Mapping[str, StoredUser]
    dead: Mapping[str, list[DeadLetter]]  # by the source queue's MessageId
    dead_by_body: Mapping[str, list[DeadLetter]]

    def dead_letters_of(self, message: SentMessage) -> list[DeadLetter]:
        return self.dead.get(message.message_id or "", [])

    def rejected_copies_of(self, message: SentMessage) -> list[DeadLetter]:
        """DLQ entries of an invalid message: by MessageId, or, once it was redriven (the copy
        has a new MessageId), by its body; generated invalid bodies are unique per run."""
        return self.dead_letters_of(message) or self.dead_by_body.get(message.body, [])


def reconcile(
    ledger: Ledger,
    dynamodb: Mapping[str, StoredUser],
    mysql: Mapping[str, StoredUser],
    dead_letters: Sequence[DeadLetter],
    keys: StoreKeys | None = None,
) -> Report:
    """Compare; every difference becomes a mismatch line and a failing summary row."""
    dead: dict[str, list[DeadLetter]] = {}
    dead_by_body: dict[str, list[DeadLetter]] = {}
    for letter in dead_letters:
        dead.setdefault(letter.original_message_id, []).append(letter)
        dead_by_body.setdefault(letter.body, []).append(letter)
    observed = _Observed(dynamodb, mysql, dead, dead_by_body)
    grouped = by_outcome(ledger.sent)
    winners, outcomes = expected_users(ledger.sent)
    report = Report()
    _check_users(report, winners, observed)
    stale = grouped.get(reg.SUPERSEDED, [])
    ignored = sum(1 for m in stale if m.record and _at_latest(m.record.user_id, winners, dynamodb))
    report.checks.append(Check("out-of-order updates ignored", len(stale), ignored))
    _check_invalid(report, grouped.get(reg.DLQ, []), winners, observed)
    valid = [m for outcome, group in grouped.items() if outcome != reg.DLQ for m in group]
    _check_not_dead_lettered(report, valid, observed)
    duplicates = grouped.get(reg.ABSORBED, [])
    absorbed = sum(1 for m in duplicates if not observed.dead_letters_of(m))
    report.checks.append(Check("duplicates absorbed", len(duplicates), absorbed))
    _check_dead_lettered_once(report, grouped.get(reg.DLQ, []), observed)
    if keys is None:
        report.notes.append("stray rows not counted: the run's users have no common prefix")
    else:
        _check_no_stray_rows(report, winners, keys)
    refused = len(ledger.messages) - len(ledger.sent)
    if refused:
        report.notes.append(f"{refused} message(s) were refused by SQS at send time (not checked)")
    report.notes.append(
        "sent: " + ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items()))
    )
    return report


def _check_users(report: Report, winners: Mapping[str, SentMessage], observed: _Observed) -> None:
    """Every user once in each store, identical, at its latest version."""
    in_dynamodb = in_mysql = identical = latest = 0
    for user_id, message in sorted(winners.items()):
        item, row = observed.dynamodb.get(user_id), observed.mysql.get(user_id)
        in_dynamodb += item is not None
        in_mysql += row is not None
        if item is None or row is None:
            where = " and ".join(s for s, v in (("DynamoDB", item), ("MySQL", row)) if v is None)
            report.mismatches.append(f"user {user_id}: missing in {where}")
            continue
        if item == row:
            identical += 1
        else:
            report.mismatches.append(f"user {user_id}: DynamoDB and MySQL differ: {item} != {row}")
        problems = content_problems(message, item) + [
            f"MySQL {p}" for p in content_problems(message, row) if item != row
        ]
        if problems:
            report.mismatches.append(f"user {user_id}: " + "; ".join(problems))
        else:
            latest += 1
    expected = len(winners)
    report.checks += [
        Check("users in DynamoDB", expected, in_dynamodb),
        Check("users in MySQL", expected, in_mysql),
        Check("users identical in both stores", expected, identical),
        Check("users at their latest registered_at version", expected, latest),
    ]


def _check_invalid(
    report: Report,
    invalid: Sequence[SentMessage],
    winners: Mapping[str, SentMessage],
    observed: _Observed,
) -> None:
    """Every invalid message in the DLQ with its reason, and never in a store."""
    in_dlq = 0
    for message in invalid:
        reasons = {letter.failure_reason for letter in observed.rejected_copies_of(message)}
        if not reasons:
            report.mismatches.append(f"message {message.message_id}: not in the DLQ")
        elif message.reason not in reasons:
            report.mismatches.append(
                f"message {message.message_id}: DLQ reason {sorted(map(str, reasons))}, "
                f"expected {message.reason}"
            )
        else:
            in_dlq += 1
    report.checks.append(
        Check("invalid messages in the DLQ with their reason", len(invalid), in_dlq)
    )
    named = [m.user_id for m in invalid if m.user_id and m.user_id not in winners]
    leaked = [u for u in named if u in observed.dynamodb or u in observed.mysql]
    report.mismatches += [f"user {u}: stored from an invalid message" for u in leaked]
    report.checks.append(
        Check("invalid messages kept out of the stores", len(named), len(named) - len(leaked))
    )


def _check_dead_lettered_once(
    report: Report, invalid: Sequence[SentMessage], observed: _Observed
) -> None:
    """One DLQ entry per invalid message: a second copy means it was rejected (or redriven)
    twice, so whoever drains the DLQ would handle it twice."""
    once = 0
    copies_by_body: dict[str, list[SentMessage]] = {}
    for message in invalid:
        by_id = observed.dead_letters_of(message)
        if by_id:
            once += len(by_id) == 1
            if len(by_id) > 1:
                report.mismatches.append(
                    f"message {message.message_id}: {len(by_id)} copies in the DLQ"
                )
        else:
            copies_by_body.setdefault(message.body, []).append(message)
    for body, messages in copies_by_body.items():  # redriven copies: matched by their body
        found = len(observed.dead_by_body.get(body, []))
        once += min(found, len(messages)) if found <= len(messages) else 0
        if found > len(messages):
            report.mismatches.append(
                f"message {messages[0].message_id}: {found} copies in the DLQ of a body sent "
                f"{len(messages)} time(s)"
            )
    report.checks.append(Check("invalid messages dead-lettered exactly once", len(invalid), once))


def _check_no_stray_rows(
    report: Report, winners: Mapping[str, SentMessage], keys: StoreKeys
) -> None:
    """Rows in the run's scope that no ledger entry explains: left by another writer, by an
    earlier run of the same id, or stored from an invalid message."""
    for store, held in (("DynamoDB", keys.dynamodb), ("MySQL", keys.mysql)):
        stray = sorted(held - winners.keys())
        report.checks.append(
            Check(f"rows in {store} the ledger explains", len(held), len(held) - len(stray))
        )
        report.mismatches += [f"user {u}: in {store} but in no ledger entry" for u in stray[:10]]


def _check_not_dead_lettered(
    report: Report, valid: Sequence[SentMessage], observed: _Observed
) -> None:
    """No valid message in the DLQ: neither sent there by the handler nor redriven by SQS."""
    dead = 0
    for message in valid:
        for letter in observed.dead_letters_of(message):
            dead += 1
            why = letter.failure_reason or f"redriven after {letter.receive_count} receives"
            report.mismatches.append(f"message {message.message_id}: valid but in the DLQ ({why})")
    report.checks.append(Check("valid messages not dead-lettered", len(valid), len(valid) - dead))


def _at_latest(
    user_id: str, winners: Mapping[str, SentMessage], dynamodb: Mapping[str, StoredUser]
) -> bool:
    winner, stored = winners.get(user_id), dynamodb.get(user_id)
    return bool(winner and stored and not content_problems(winner, stored))


def table(report: Report) -> str:
    """The summary as an aligned text table."""
    width = max((len(c.name) for c in report.checks), default=10)
    lines = [f"{'check':<{width}}  {'expected':>8}  {'found':>8}  status"]
    lines.append("-" * len(lines[0]))
    for check in report.checks:
        status = "ok" if check.ok else "MISMATCH"
        lines.append(f"{check.name:<{width}}  {check.expected:>8}  {check.found:>8}  {status}")
    return "\n".join(lines)
