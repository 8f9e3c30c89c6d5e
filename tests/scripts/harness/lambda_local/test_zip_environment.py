"""The runner's side of the runtime: a spec from the deployed configuration, an Invocation back."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from scripts.harness.lambda_local import config, zip_environment

FUNCTION = config.FunctionConfig(
    name="registration",
    arn="arn:aws:lambda:eu-west-1:111122223333:function:registration",
    handler="fn.handler",
    runtime="python3.12",
    timeout_s=7,
    memory_mb=512,
    environment={"TABLE_NAME": "users"},
    code_sha256="",
    version="3",
)


def test_the_spec_is_the_deployed_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(zip_environment.CPU_FIDELITY_VARIABLE, raising=False)
    json_logs = dataclasses.replace(FUNCTION, log_format="JSON", application_log_level="DEBUG")
    spec = zip_environment.function_spec(json_logs, tmp_path)
    assert (spec.region, spec.account_id, spec.version) == ("eu-west-1", "111122223333", "3")
    assert (spec.memory_mb, spec.timeout_s, spec.handler) == (512, 7.0, "fn.handler")
    assert (spec.log_format, spec.application_log_level) == ("JSON", "DEBUG")
    assert spec.environment == {"TABLE_NAME": "users"} and not spec.cpu_fidelity
    monkeypatch.setenv(zip_environment.CPU_FIDELITY_VARIABLE, "1")
    assert zip_environment.function_spec(FUNCTION, tmp_path).cpu_fidelity


def test_an_invocation_carries_the_init_output_and_line_times(tmp_path: Path) -> None:
    (tmp_path / "fn.py").write_text(
        "print('init line')\n\ndef handler(event, context):\n    print('invoke line')\n"
        "    return {'batchItemFailures': []}\n"
    )
    environment = zip_environment.ZipEnvironment(zip_environment.function_spec(FUNCTION, tmp_path))
    try:
        assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[3\][0-9a-f]{32}", environment.log_stream_name)
        cold = environment.invoke({"Records": []}, "request-1")
        warm = environment.invoke({"Records": []}, "request-2")
    finally:
        environment.close()
    assert cold.error is None and cold.response == {"batchItemFailures": []}
    assert (list(cold.init_log_lines), list(cold.log_lines)) == (["init line"], ["invoke line"])
    assert len(cold.log_times) == len(cold.log_lines)
    assert cold.init_duration_ms is not None and warm.init_duration_ms is None
    assert list(warm.init_log_lines) == []
