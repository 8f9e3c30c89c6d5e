"""The message mix of a chaos run: `registrations.generate` plus the hostile cases it lacks.

The base generator already plans fresh users, duplicates, stale updates and one invalid body per
documented failure_reason. A chaos run adds, each with its expected outcome stated up front (not
asked of the handler's validator, so the run also checks the validator):

- more kinds of invalid bodies: JSON scalars, NaN, nesting deeper than the parser allows, an
  injection attempt in `user_id`, a legacy `CustID` as a string, a control character in a name,
  a 250 KB body (accepted by SQS, rejected by the handler's 8 KiB limit) and a 300 KB body;
- valid users whose names are SQL-injection strings, emoji and right-to-left scripts (they must
  be stored verbatim in both stores);
- users updated three times, the versions sent in shuffled order (the newest must win).

SQS's size limit: AWS raised the SendMessage maximum from 256 KiB to 1 MiB in August 2025 and
moto follows it. The 300 KB body is planned for the DLQ; if the queue refuses it at send time (a
queue with MaximumMessageSize 262144), the ledger records it as refused and it is reported as
rejected at send, not lost.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta

from scripts.harness.messages import registrations as reg

INVALID_FRACTION = 0.05
DUPLICATE_FRACTION = 0.03
OUT_OF_ORDER_FRACTION = 0.02
SPECIAL_FRACTION = 0.01
CHAIN_FRACTION = 0.005  # users with three shuffled versions
CHAIN_VERSIONS = 3
HANDLER_OVERSIZED_BYTES = 250_000
SQS_LIMIT_PROBE_BYTES = 300 * 1024

INJECTION_NAMES = (
    "Robert'); DROP TABLE users;--",
    '" OR 1=1 --',
    "' OR '1'='1",
    "1; DELETE FROM users WHERE 1=1; --",
    "\\'; SELECT SLEEP(10); --",
    "%' UNION SELECT password FROM mysql.user --",
)
UNICODE_NAMES = (
    "Zoë 🦄 Ünïcødé",
    "👩\u200d💻 Ada 🚀",
    "مريم الأحمد",
    "שרה כהן",
    "李小龍",
    "\u202eevil right-to-left override",
    "Ἀριστοτέλης",
)
SPECIAL_NAMES = INJECTION_NAMES + UNICODE_NAMES


def _hostile_invalid(run_id: str, at: str) -> list[tuple[str, str, str | None]]:
    """(failure_reason, body, user_id named by the body) for the cases the base plan lacks."""
    uid = f"{run_id}-bad-x"
    good = {"name": "Invalid Ivy", "registered_at": at}
    return [
        ("not_an_object", '"just a string"', None),
        ("not_an_object", "null", None),
        ("not_an_object", "42", None),
        ("invalid_json", "NaN", None),
        ("invalid_json", "[" * 3000 + "]" * 3000, None),
        ("invalid_json", "this is not json", None),
        ("invalid_value", json.dumps({**good, "user_id": "1' OR '1'='1"}), "1' OR '1'='1"),
        ("wrong_type", json.dumps({**good, "user_id": 12345}), None),
        ("wrong_type", json.dumps({"CustID": "01021", "Name": "Martha"}), None),
        ("missing_field", json.dumps({"name": "Nobody", "registered_at": at}), None),
        ("invalid_value", json.dumps({**good, "user_id": f"{uid}1", "name": "a\u0000b"}), None),
        ("invalid_email", json.dumps({**good, "user_id": f"{uid}2", "email": "🦄@example.com"}),
         f"{uid}2"),
        ("oversized", json.dumps({**good, "user_id": f"{uid}3",
                                  "pad": "x" * HANDLER_OVERSIZED_BYTES}), f"{uid}3"),
        ("oversized", json.dumps({**good, "user_id": f"{uid}4",
                                  "pad": "y" * SQS_LIMIT_PROBE_BYTES}), f"{uid}4"),
    ]  # fmt: skip


def _record(user_id: str, name: str, index: int, minutes: int = 0) -> reg.Record:
    at = reg.BASE_TIME + timedelta(seconds=index, minutes=minutes, microseconds=index % 997)
    return reg.Record(user_id, name, f"user.{index}@example.com", reg.format_timestamp(at))


def _valid(record: reg.Record) -> reg.PlannedMessage:
    return reg.PlannedMessage(reg.VALID, reg.canonical_body(record), reg.STORED, record)


def build(total: int, seed: int, run_id: str) -> list[reg.PlannedMessage]:
    """About `total` messages in sending order (~5% invalid, ~3% duplicates), outcomes set."""
    rng = random.Random(seed)
    at = reg.format_timestamp(reg.BASE_TIME)
    hostile = _hostile_invalid(run_id, at)
    n_special = max(len(SPECIAL_NAMES), round(total * SPECIAL_FRACTION))
    n_chains = max(1, round(total * CHAIN_FRACTION))
    base_total = total - len(hostile) - n_special - n_chains * CHAIN_VERSIONS
    base_invalid = max(len(reg.INVALID_REASONS), round(total * INVALID_FRACTION) - len(hostile))
    if base_total < 4 * base_invalid:
        raise ValueError(f"a chaos run needs at least 400 messages, got {total}")
    mix = reg.Mix(
        duplicates=DUPLICATE_FRACTION * total / base_total,
        invalid=base_invalid / base_total,
        out_of_order=OUT_OF_ORDER_FRACTION * total / base_total,
    )
    planned = reg.generate(base_total, mix, seed, run_id)
    extras = [
        reg.PlannedMessage(reg.INVALID, body, reg.DLQ, None, reason, user_id)
        for reason, body, user_id in hostile
    ]
    extras += [
        _valid(_record(f"{run_id}-s{i:05d}", SPECIAL_NAMES[i % len(SPECIAL_NAMES)], i))
        for i in range(n_special)
    ]
    for i in range(n_chains):
        versions = [
            _valid(_record(f"{run_id}-c{i:05d}", f"Chain v{v}", i, minutes=v))
            for v in range(CHAIN_VERSIONS)
        ]
        rng.shuffle(versions)
        extras += versions
    for message in extras:
        planned.insert(rng.randrange(len(planned) + 1), message)
    return reg.resolve_outcomes(planned)
