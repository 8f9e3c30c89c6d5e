"""Execution environments for the local runner: the deployed zip in `runtime.LambdaProcess`.

`runtime.LambdaProcess` (shared with `make invoke`) runs the handler under RIE and awslambdaric
in a sandbox; this module only adapts it to the runner's `ExecutionEnvironment` protocol and
builds its spec from the *deployed* configuration, so the runner cannot drift from what Terraform
set (handler, environment, timeout, memory).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scripts.harness.lambda_local.config import FunctionConfig
from scripts.harness.lambda_local.event_source import Invocation
from scripts.harness.lambda_local.runtime import FunctionSpec, LambdaProcess

# `make chaos` and deadline tests set it: the CPU share AWS gives the function's memory size.
CPU_FIDELITY_VARIABLE = "LAMBDA_CPU_FIDELITY"


def function_spec(function: FunctionConfig, code_dir: Path) -> FunctionSpec:
    """A FunctionSpec for the deployed function, running code extracted into `code_dir`, with
    its LoggingConfig as GetFunction reports it (moto_main.py makes moto keep it)."""
    _, _, _, region, account, *_ = function.arn.split(":")
    return FunctionSpec(
        code_dir=code_dir,
        handler=function.handler,
        function_name=function.name,
        version=function.version,
        memory_mb=function.memory_mb,
        timeout_s=float(function.timeout_s),
        region=region,
        account_id=account,
        environment=dict(function.environment),
        log_format=function.log_format,
        application_log_level=function.application_log_level,
        cpu_fidelity=os.environ.get(CPU_FIDELITY_VARIABLE) == "1",
    )


def describe_error(error: Mapping[str, Any] | None) -> str | None:
    if error is None:
        return None
    return f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}".strip()


class ZipEnvironment:
    """One execution environment (RIE + runtime) running the function."""

    def __init__(self, spec: FunctionSpec) -> None:
        self._process = LambdaProcess(spec)
        self.log_stream_name = self._process.log_stream_name

    def invoke(self, event: Mapping[str, Any], request_id: str) -> Invocation:
        result = self._process.invoke(event, request_id=request_id)
        return Invocation(
            response=result.response,
            error=describe_error(result.error),
            log_lines=result.log_lines,
            duration_ms=result.duration_ms,
            max_memory_used_mb=result.max_memory_used_mb,
            init_duration_ms=result.init_duration_ms,
            timed_out=result.timed_out,
            init_log_lines=result.init_log_lines,
            log_times=[record.at for record in result.records],
        )

    def close(self) -> None:
        self._process.close()
