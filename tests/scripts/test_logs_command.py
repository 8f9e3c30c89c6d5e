"""`make logs` on a JSON-format log group: platform events read as text, keyword filters work."""

from __future__ import annotations

from typing import Any

from scripts import logs
from scripts.harness.lambda_local import logs as lambda_logs

REPORT = lambda_logs.Report(
    request_id="r1", duration_ms=2.0, memory_size_mb=256, max_memory_used_mb=80
)


class FakeLogs:
    """FilterLogEvents over fixed events; records the patterns it was sent."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = messages
        self.patterns: list[str | None] = []

    def filter_log_events(self, **request: Any) -> dict[str, Any]:
        self.patterns.append(request.get("filterPattern"))
        return {
            "events": [
                {"eventId": str(i), "timestamp": i, "message": m, "logStreamName": "stream"}
                for i, m in enumerate(self.messages)
            ]
        }


def printed(client: FakeLogs, pattern: str | None) -> list[str]:
    lines: list[str] = []
    logs.tail(client, "group", 0, pattern, follow=False, emit=lines.append)
    return [line.split(" ", 2)[2] for line in lines]


def test_json_platform_events_print_as_text() -> None:
    client = FakeLogs(
        lambda_logs.invocation_lines("JSON", REPORT, ['{"message":"batch finished"}'])
    )
    assert printed(client, None) == [
        "START RequestId: r1 Version: $LATEST",
        '{"message":"batch finished"}',
        REPORT.line().rstrip(),
    ]


def test_platform_keyword_filters_match_both_formats_here() -> None:
    both = [
        *lambda_logs.invocation_lines("JSON", REPORT, ["json function line"]),
        *lambda_logs.invocation_lines("Text", REPORT, ["text function line"]),
    ]
    client = FakeLogs(both)
    assert printed(client, "REPORT") == [REPORT.line().rstrip()] * 2
    assert client.patterns == [None]  # applied here, not sent to CloudWatch Logs


def test_other_patterns_go_to_cloudwatch() -> None:
    client = FakeLogs([])
    printed(client, '"batch finished"')
    assert client.patterns == ['"batch finished"']
