"""Property: concurrent, duplicated, reordered, partly failing deliveries converge to the contract.

Registrations are drawn for a few users with deliberately colliding timestamps (equal instants
written differently, ties with different content, sub-microsecond digits, lowercase `t`/`z`),
in both message shapes (legacy ids as numbers and as the seed's strings). Every message is
delivered at least once, some several times, duplicates also inside one batch, in any order.
Batches run *concurrently*: each round hands up to three batches to three warm "containers"
(own MySQL connection and thread pool each, as separate Lambda execution environments have), so
two batches race on one user. Some first attempts fail in a store (MySQL for the whole batch, or
DynamoDB for some users); SQS's redelivery is played by retrying the reported failures in a later
round. Afterwards MySQL and DynamoDB must equal each other and the oracle below.

The oracle is written from lambdas/registration/README.md alone, without importing the handler:
per user the newest `registered_at` (UTC, microseconds, rounded half up), ties broken by the
sha256 of the stored fields, so a canonicalisation bug shared by the handler's parser and its
tests cannot hide. `--hypothesis-profile=long` runs 10,000 examples instead of 500.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import re
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registration import app, resources
from registration.errors import StoreUnavailableError
from scripts.harness.lambda_local import sqs_event
from scripts.harness.stack import local_stores
from tests.lambdas.registration.support import ContextStub, HandlerStores

pytestmark = pytest.mark.integration

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:registrations"
CONTAINERS = 3
EXAMPLES = itertools.count(1)
MAX_ROUNDS = 12
# The same instant written five ways (equal registered_at: content decides), and its neighbours.
TIMESTAMPS = [
    "2026-01-01T00:00:00Z",
    "2026-01-01t01:00:00+01:00",
    "2025-12-31T23:59:59.9999995z",
    "2026-01-01T00:00:00.0000004Z",
    "2026-01-01T00:00:00.000001Z",
    "2025-12-31T23:59:59.999999Z",
]
SENT_TIMESTAMPS = [1_767_225_600_000, 1_767_225_600_001]
NAMES = st.sampled_from(
    ["Ada", " Ada ", "Åsa Öberg", "李小龍", "Zoë 🎌", "O'Brien; DROP TABLE users"]
)
EMAILS = st.none() | st.sampled_from(["a@example.com", " b@example.org"])


# ---- the oracle: lambdas/registration/README.md, "Message contract" and "Stored shape" ----

RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})"
)


def utc_micro(text: str) -> datetime:
    """README: UTC, microseconds; more digits rounded half up; a leap second is the next one."""
    match = RFC3339.fullmatch(text)
    assert match is not None, text
    date, hour, minute, second, fraction, offset = match.groups()
    zone = "+00:00" if offset in ("Z", "z") else offset
    minute_start = datetime.fromisoformat(f"{date}T{hour}:{minute}:00{zone}")
    micro = (Decimal("0." + (fraction or "0")) * 1_000_000).quantize(1, rounding=ROUND_HALF_UP)
    return (minute_start + timedelta(seconds=int(second), microseconds=int(micro))).astimezone(UTC)


def expected_row(message: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    document = json.loads(message["Body"])
    if "user_id" in document:
        user_id, name = document["user_id"], document["name"].strip()
        email = document["email"].strip() if document.get("email") is not None else None
        moment = utc_micro(document["registered_at"])
    else:
        user_id, name, email = str(int(document["CustID"])), document["Name"].strip(), None
        attributes = message.get("MessageAttributes", {})
        sent = attributes.get("original_sent_timestamp", {}).get("StringValue")
        sent = sent or message["Attributes"]["SentTimestamp"]
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(sent))
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    stored = json.dumps([user_id, name, email, text], ensure_ascii=False, separators=(",", ":"))
    version = f"{text}#{hashlib.sha256(stored.encode()).hexdigest()}"
    return user_id, {"name": name, "email": email, "registered_at": text, "version": version}


def oracle(messages: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    newest: dict[str, dict[str, Any]] = {}
    for message in messages:
        user_id, row = expected_row(message)
        if user_id not in newest or row["version"] > newest[user_id]["version"]:
            newest[user_id] = row
    return newest


# ---- the deliveries ----

CANONICAL = st.builds(
    lambda user, name, email, moment: (
        {"user_id": user, "name": name, "registered_at": moment}
        | ({"email": email} if email else {}),
        SENT_TIMESTAMPS[0],
        None,
    ),
    st.sampled_from(["u-a", "u-b", "U-A"]),
    NAMES,
    EMAILS,
    st.sampled_from(TIMESTAMPS),
)
LEGACY = st.builds(
    lambda customer, name, sent, original: ({"CustID": customer, "Name": name}, sent, original),
    st.sampled_from([1, "1", 2]),
    NAMES,
    st.sampled_from(SENT_TIMESTAMPS),
    st.none() | st.sampled_from(SENT_TIMESTAMPS),  # redriven: the original send time wins
)


# (body document, SentTimestamp, original_sent_timestamp or None)
Drawn = tuple[dict[str, Any], int, int | None]


@dataclasses.dataclass(frozen=True)
class Batch:
    """Indices into the messages; what its first attempt fails on."""

    indices: list[int]
    mysql_fails: bool
    dynamodb_fails: frozenset[str]


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[Drawn], list[Batch]]:
    """Documents, and batches of indices into them: each at least once, in any order."""
    documents = draw(st.lists(CANONICAL | LEGACY, min_size=1, max_size=4))
    repeats = draw(st.lists(st.integers(0, len(documents) - 1), max_size=len(documents)))
    order = draw(st.permutations(list(range(len(documents))) + repeats))
    batches, start = [], 0
    while start < len(order):
        size = draw(st.integers(1, 4))
        batches.append(
            Batch(
                order[start : start + size],
                draw(st.booleans()) and draw(st.booleans()),  # one batch in four
                draw(st.frozensets(st.sampled_from(["u-a", "U-A", "1", "2"]), max_size=2)),
            )
        )
        start += size
    return documents, batches


def in_namespace(document: dict[str, Any], example: int) -> dict[str, Any]:
    """The same users renamed for this example, so examples never see each other's rows."""
    if "user_id" in document:
        return document | {"user_id": f"{example}-{document['user_id']}"}
    customer = example * 10 + int(document["CustID"])
    return document | {"CustID": str(customer) if isinstance(document["CustID"], str) else customer}


def message(index: int, document: dict[str, Any], sent: int, original: int | None) -> dict:
    body = json.dumps(document, ensure_ascii=False)
    received: dict[str, Any] = {
        "MessageId": f"message-{index}",
        "ReceiptHandle": f"handle-{index}",
        "Body": body,
        "MD5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 (SQS's checksum)
        "Attributes": {"SentTimestamp": str(sent), "ApproximateReceiveCount": "1"},
    }
    if original is not None:
        received["MessageAttributes"] = {
            "original_sent_timestamp": {"DataType": "Number", "StringValue": str(original)}
        }
    return received


# ---- warm containers that fail some first attempts ----


@dataclasses.dataclass
class Faults:
    """What the attempt running in a container fails on (read by its wrapped stores)."""

    mysql: bool = False
    dynamodb_users: frozenset[str] = frozenset()


class FlakyMySQL:
    def __init__(self, store: Any, faults: Faults) -> None:
        self._store, self._faults = store, faults

    def upsert(self, registrations: Any, check_deadline: Any) -> int:
        if self._faults.mysql:
            raise StoreUnavailableError("injected: MySQL down for this attempt")
        return int(self._store.upsert(registrations, check_deadline))

    def close(self) -> None:
        self._store.close()


class FlakyDynamoDB:
    def __init__(self, store: Any, faults: Faults) -> None:
        self._store, self._faults = store, faults

    def put(self, registration: Any) -> Any:
        if registration.user_id in self._faults.dynamodb_users:
            raise StoreUnavailableError("injected: DynamoDB throttled for this user")
        return self._store.put(registration)


class Containers(threading.local):
    """Per pool thread: one execution environment (its resources and its fault switches)."""

    resources: resources.Resources
    faults: Faults


@pytest.fixture
def containers(
    handler_stores: HandlerStores, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ThreadPoolExecutor, Containers]]:
    """Three warm execution environments; the handler on each pool thread uses its own."""
    built: list[resources.Resources] = []
    local = Containers()

    def start_container() -> None:
        fresh = resources.get_resources.__wrapped__()  # uncached: a container of its own
        local.faults = Faults()
        local.resources = dataclasses.replace(
            fresh,
            mysql=FlakyMySQL(fresh.mysql, local.faults),
            dynamodb=FlakyDynamoDB(fresh.dynamodb, local.faults),
        )
        built.append(local.resources)

    monkeypatch.setattr(app, "get_resources", lambda: local.resources)
    pool = ThreadPoolExecutor(CONTAINERS, initializer=start_container)
    try:
        yield pool, local
    finally:
        pool.shutdown()
        for container in built:
            container.mysql.close()
            container.pool.shutdown()


def invoke(local: Containers, records: list[dict[str, Any]], faults: Faults) -> set[str]:
    """One invocation on this thread's container; the message ids SQS must redeliver."""
    local.faults.mysql, local.faults.dynamodb_users = faults.mysql, faults.dynamodb_users
    try:
        response = app.lambda_handler(sqs_event.event(records, QUEUE_ARN), ContextStub())
    except BatchProcessingError:  # every record failed: SQS redelivers the whole batch
        return {record["MessageId"] for record in records}
    finally:
        local.faults.mysql, local.faults.dynamodb_users = False, frozenset()
    return {failure["itemIdentifier"] for failure in response["batchItemFailures"]}


@settings(
    max_examples=max(500, settings.default.max_examples),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=deliveries())
def test_concurrent_partial_failing_deliveries_converge_to_the_oracle(
    read_back: ReadBack,
    containers: tuple[ThreadPoolExecutor, Containers],
    plan: tuple[list[Drawn], list[Batch]],
) -> None:
    pool, local = containers
    documents, batches = plan
    example = next(EXAMPLES)
    messages = [
        message(index, in_namespace(document, example), sent, original)
        for index, (document, sent, original) in enumerate(documents)
    ]
    pending = [
        (
            [messages[index] for index in batch.indices],
            Faults(batch.mysql_fails, batch.dynamodb_fails),
        )
        for batch in batches
    ]
    for _ in range(MAX_ROUNDS):
        round_, pending = pending[:CONTAINERS], pending[CONTAINERS:]
        running = [
            (records, faults, pool.submit(invoke, local, records, faults))
            for records, faults in round_
        ]
        for records, faults, future in running:
            retry = future.result()
            if faults == Faults():
                assert not retry, "a record failed without an injected fault"
            # SQS redelivers the reported records, this time without the fault.
            redelivered = [record for record in records if record["MessageId"] in retry]
            if redelivered:
                pending.append((redelivered, Faults()))
        if not pending:
            break
    assert not pending, "retries did not settle"
    expected = oracle(messages)
    assert read_back.mysql(expected) == read_back.dynamodb(expected) == expected


class ReadBack:
    """Both stores read by key, over one connection kept for all examples (a connect is slow)."""

    def __init__(self, stores: HandlerStores) -> None:
        self._mysql = stores.root_connection()
        self._dynamodb = local_stores.client("dynamodb", stores.stores.endpoint_url)
        self._table = stores.stores.table_name

    def mysql(self, users: Iterable[str]) -> dict[str, dict[str, Any]]:
        keys = sorted(users)
        with self._mysql.cursor() as cursor:
            cursor.execute(
                "SELECT user_id, name, email, registered_at, version FROM users "
                f"WHERE user_id IN ({', '.join(['%s'] * len(keys))})",
                keys,
            )
            return {
                user_id: {
                    "name": name,
                    "email": email,
                    "registered_at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    "version": version,
                }
                for user_id, name, email, at, version in cursor.fetchall()
            }

    def dynamodb(self, users: Iterable[str]) -> dict[str, dict[str, Any]]:
        response = self._dynamodb.batch_get_item(
            RequestItems={
                self._table: {
                    "Keys": [{"user_id": {"S": user_id}} for user_id in users],
                    "ConsistentRead": True,
                }
            }
        )
        return {
            item["user_id"]["S"]: {
                "name": item["name"]["S"],
                "email": item["email"]["S"] if "email" in item else None,
                "registered_at": item["registered_at"]["S"],
                "version": item["version"]["S"],
            }
            for item in response["Responses"][self._table]
        }

    def close(self) -> None:
        self._mysql.close()


@pytest.fixture
def read_back(handler_stores: HandlerStores) -> Iterator[ReadBack]:
    reader = ReadBack(handler_stores)
    try:
        yield reader
    finally:
        reader.close()
