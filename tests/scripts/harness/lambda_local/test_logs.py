"""The platform lines of an invocation in both of Lambda's log formats, and reading them back."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from scripts.harness.lambda_local import event_source, logs

COLD_FAILURE = logs.Report(
    request_id="r1",
    duration_ms=12.345,
    memory_size_mb=256,
    max_memory_used_mb=256,
    init_duration_ms=400.5,
    status="error",
    error_type="Runtime.OutOfMemory",
)
INIT = logs.Init(function_name="registration", function_version="$LATEST", runtime_version="3.12")


def test_text_format_puts_init_start_first_and_the_status_on_failures() -> None:
    lines = logs.invocation_lines(
        "Text", COLD_FAILURE, ["hello"], init=INIT, init_lines=["importing"]
    )
    assert lines == [
        "INIT_START Runtime Version: python:3.12\tRuntime Version ARN: local",
        "importing",
        "START RequestId: r1 Version: $LATEST",
        "hello",
        "END RequestId: r1",
        "REPORT RequestId: r1\tDuration: 12.35 ms\tBilled Duration: 413 ms\tMemory Size: 256 MB"
        "\tMax Memory Used: 256 MB\tInit Duration: 400.50 ms\tStatus: error"
        "\tError Type: Runtime.OutOfMemory\t",
    ]


def test_a_success_report_has_no_status() -> None:
    warm = logs.Report(request_id="r2", duration_ms=1.0, memory_size_mb=128, max_memory_used_mb=40)
    assert "Status" not in warm.line()
    assert logs.invocation_lines("Text", warm, [])[0] == "START RequestId: r2 Version: $LATEST"


def test_json_format_gives_platform_events() -> None:
    lines = logs.invocation_lines("JSON", COLD_FAILURE, ['{"level":"INFO"}'], init=INIT)
    events = [json.loads(line) for line in lines]
    assert [e.get("type") for e in events] == [
        "platform.initStart",
        "platform.start",
        None,
        "platform.report",
    ]
    assert events[0]["record"]["runtimeVersion"] == "python:3.12"
    assert events[0]["record"]["phase"] == "init"
    assert events[1]["record"] == {"requestId": "r1", "version": "$LATEST"}
    assert events[3]["record"] == {
        "requestId": "r1",
        "metrics": {
            "durationMs": 12.35,
            "billedDurationMs": 413,
            "memorySizeMB": 256,
            "maxMemoryUsedMB": 256,
            "initDurationMs": 400.5,
        },
        "status": "error",
        "errorType": "Runtime.OutOfMemory",
    }
    assert all(e["time"].endswith("Z") for e in events if "time" in e)


def test_json_platform_events_render_as_their_text_lines() -> None:
    text = logs.invocation_lines("Text", COLD_FAILURE, [], init=INIT)
    as_json = logs.invocation_lines("JSON", COLD_FAILURE, [], init=INIT)
    rendered = [logs.render(line) for line in as_json]
    assert rendered == [line for line in text if not line.startswith("END")]


@pytest.mark.parametrize("message", ['{"time": "x"}', '{"time": oops', "plain", '{"a": 1}'])
def test_anything_else_renders_unchanged(message: str) -> None:
    assert logs.render(message) == message


@pytest.mark.parametrize("log_format", ["Text", "JSON"])
def test_each_line_gets_its_time(log_format: str) -> None:
    started, printed, ended = (datetime(2026, 1, 1, 0, 0, s, tzinfo=UTC) for s in (1, 2, 3))
    lines = logs.invocation_lines(log_format, COLD_FAILURE, ["x"], init=INIT, init_lines=["i"])
    times = [at for _, at in logs.stamped(lines, ["x"], [printed], started, ended)]
    assert times[: lines.index("x")] == [started] * lines.index("x")
    assert times[lines.index("x")] == printed
    assert set(times[lines.index("x") + 1 :]) == {ended}


def test_an_invocation_becomes_its_stream_events() -> None:
    started, printed, ended = (datetime(2026, 1, 1, 0, 0, s, tzinfo=UTC) for s in (1, 2, 3))
    invocation = event_source.Invocation(
        response=None,
        error="Runtime.OutOfMemory: RequestId: r1 Error: Runtime exited with error: signal: killed",
        log_lines=["allocating"],
        duration_ms=12.345,
        max_memory_used_mb=256,
        init_duration_ms=400.5,
        init_log_lines=["importing"],
        log_times=[printed],
    )
    events = logs.invocation_events(
        invocation,
        request_id="r1",
        function_name="registration",
        version="$LATEST",
        memory_size_mb=256,
        runtime_version="3.12",
        started=started,
        ended=ended,
    )
    expected = logs.invocation_lines(
        "Text", COLD_FAILURE, ["allocating"], init=INIT, init_lines=["importing"]
    )
    assert [line for line, _ in events] == expected
    assert [at for _, at in events] == [started] * 3 + [printed] + [ended] * 2


def test_json_events_carry_the_invocation_times() -> None:
    started, ended = (datetime(2026, 1, 1, 0, 0, s, tzinfo=UTC) for s in (1, 3))
    lines = logs.invocation_lines("JSON", COLD_FAILURE, [], init=INIT, started=started, ended=ended)
    times = [json.loads(line)["time"] for line in lines]
    assert times == ["2026-01-01T00:00:01.000Z"] * 2 + ["2026-01-01T00:00:03.000Z"]
