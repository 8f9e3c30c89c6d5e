"""`make release` / `make rollback` against a moto server: the alias, versions and metrics are real.

The function never runs here (moto needs Docker for that); the per-version metrics the local
runner or Lambda would publish are put by the test, so each verdict is driven by the same
CloudWatch data the release command reads on AWS. The end-to-end release under load, with the
local runner honouring the alias weights, is in tests/scripts/local_stack/.
"""

from __future__ import annotations

import io
import json
import secrets
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scripts import package, release
from scripts.harness.release import alias, verdict
from scripts.harness.stack import aws_session, outputs
from scripts.harness.stack.moto_server import MotoServer

pytestmark = pytest.mark.integration

HANDLER_SOURCE = "def handler(event, context):\n    return {{'batchItemFailures': []}}  # {tag}\n"


def code_zip(path: Path, source: str) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("app.py", date_time=(1980, 1, 1, 0, 0, 0))
        archive.writestr(info, source)
    path.write_bytes(buffer.getvalue())
    return path


class Stack:
    """A function with version 1 behind `live`, and the outputs file the commands read."""

    def __init__(self, endpoint: str, tmp_path: Path) -> None:
        self.endpoint = endpoint
        self.tmp_path = tmp_path
        session = aws_session.session(aws_session.local_target(endpoint))
        self.lam = session.client("lambda")
        self.cloudwatch = session.client("cloudwatch")
        self.function = f"registration-{secrets.token_hex(4)}"
        role = session.client("iam").create_role(
            RoleName=f"role-{self.function}", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        first = code_zip(tmp_path / "v1.zip", HANDLER_SOURCE.format(tag="v1"))
        self.lam.create_function(
            FunctionName=self.function,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": first.read_bytes()},
            Publish=True,
        )
        self.lam.create_alias(FunctionName=self.function, Name="live", FunctionVersion="1")
        self.outputs = tmp_path / "outputs.json"
        self.outputs.write_text(
            json.dumps(
                {
                    "queue_url": f"{endpoint}/123456789012/{self.function}-queue",
                    "queue_arn": "arn:aws:sqs:us-east-1:123456789012:q",
                    "dlq_url": f"{endpoint}/123456789012/{self.function}-dlq",
                    "dlq_arn": "arn:aws:sqs:us-east-1:123456789012:d",
                    "table_name": f"{self.function}-users",
                    "db_host": "127.0.0.1",
                    "db_port": 3306,
                    "db_name": "registrations",
                    "db_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x",
                    "function_name": self.function,
                    "log_group_name": f"/aws/lambda/{self.function}",
                    "event_source_mapping_uuid": "00000000-0000-0000-0000-000000000000",
                }
            )
        )

    def new_zip(self, tag: str, source: str | None = None) -> Path:
        return code_zip(self.tmp_path / f"{tag}.zip", source or HANDLER_SOURCE.format(tag=tag))

    def run(self, *args: str) -> int:
        common = ["--endpoint-url", self.endpoint, "--outputs", str(self.outputs)]
        return release.run([*common, *args])

    def start(self, zip_path: Path, *extra: str) -> int:
        return self.run("start", "--zip", str(zip_path), "--bake", "2", "--poll", "1", *extra)

    def alias(self) -> alias.AliasState:
        return alias.read(self.lam, self.function)

    def versions(self) -> list[str]:
        listed = self.lam.list_versions_by_function(FunctionName=self.function)["Versions"]
        return [v["Version"] for v in listed if v["Version"] != "$LATEST"]

    def publish_metrics(self, version: str, invocations: int, errors: int) -> None:
        """What Lambda (or the local runner) publishes for batches run by `version`."""
        dimensions = [
            {"Name": "FunctionName", "Value": self.function},
            {"Name": "Resource", "Value": f"{self.function}:live"},
            {"Name": "ExecutedVersion", "Value": version},
        ]
        now = datetime.now(UTC)
        self.cloudwatch.put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=[
                {"MetricName": name, "Dimensions": dimensions, "Value": value, "Timestamp": now}
                for name, value in (("Invocations", invocations), ("Errors", errors))
            ],
        )

    def start_canary(self, tag: str) -> str:
        """A release interrupted during its bake: version published, 10 % on it."""
        zip_path = self.new_zip(tag)
        version = release.Release(
            aws_session.session(aws_session.local_target(self.endpoint)), self.stack_outputs()
        ).publish(zip_path, _sha(zip_path))
        alias.write(
            self.lam,
            self.alias(),
            stable=self.alias().stable,
            canary=version,
            weight=0.1,
            record={"canary": version, "previous": "1", "started": int(datetime.now().timestamp())},
        )
        return version

    def stack_outputs(self) -> outputs.StackOutputs:
        return outputs.load("local", self.outputs)


def _sha(path: Path) -> str:
    return package.sha256_base64(path)


@pytest.fixture
def stack(moto_server: MotoServer, tmp_path: Path) -> Stack:
    return Stack(moto_server.endpoint_url, tmp_path)


def test_healthy_canary_is_promoted(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    assert stack.start(stack.new_zip("v2"), "--canary", "25") == 0

    state = stack.alias()
    assert (state.stable, state.canary) == ("2", None)
    assert state.record == {"previous": "1"}
    out = capsys.readouterr().out
    assert "canary: live -> version 1 (75 %) + version 2 (25 %)" in out
    assert "baking v2 at 25 %" in out
    assert "promoted: live -> version 2 (100 %)" in out


def test_canary_with_more_errors_is_rolled_back(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    version = stack.start_canary("v2")
    stack.publish_metrics("1", invocations=90, errors=0)
    stack.publish_metrics(version, invocations=10, errors=10)

    # Rerunning with the canary's own zip resumes its bake, which then judges the metrics.
    assert stack.start(stack.tmp_path / "v2.zip") == 1

    state = stack.alias()
    assert (state.stable, state.canary) == ("1", None)
    assert state.record["rolled_back"] == version
    out = capsys.readouterr().out
    assert "resuming the release of version 2" in out
    assert "rolled back (v2 error ratio 100% > v1 0% + 5%)" in out


def test_errors_within_the_margin_do_not_roll_back(stack: Stack) -> None:
    version = stack.start_canary("v2")
    stack.publish_metrics("1", invocations=100, errors=10)
    stack.publish_metrics(version, invocations=20, errors=3)  # 15 % vs 10 % + 5 %: not above

    assert stack.start(stack.tmp_path / "v2.zip") == 0
    assert stack.alias().stable == version


def test_an_alarm_of_the_stack_rolls_back(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    stack.start_canary("v2")
    alarm = f"{stack.function}-dlq-depth"
    stack.cloudwatch.put_metric_alarm(
        AlarmName=alarm,
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": f"{stack.function}-dlq"}],
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )
    stack.cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test")

    assert stack.start(stack.tmp_path / "v2.zip") == 1
    assert stack.alias().canary is None
    assert f"rolled back (alarm in ALARM: {alarm})" in capsys.readouterr().out


def test_identical_code_is_refused(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    same = stack.new_zip("v1")  # byte-identical to what version 1 holds

    assert stack.start(same) == 1
    assert "nothing to release: live -> version 1 already runs this code" in (
        capsys.readouterr().err
    )
    assert stack.versions() == ["1"]


def test_a_second_release_during_a_canary_is_refused(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.start_canary("v2")

    assert stack.start(stack.new_zip("v3")) == 1
    err = capsys.readouterr().err
    assert "a release is in progress (live -> version 1 (90 %) + version 2 (10 %))" in err
    assert stack.versions() == ["1", "2"]


def test_rollback_during_a_canary_restores_the_stable_version(stack: Stack) -> None:
    stack.start_canary("v2")

    assert stack.run("rollback") == 0
    state = stack.alias()
    assert (state.stable, state.canary, state.weight) == ("1", None, 0.0)


def test_rollback_after_a_promotion_goes_to_the_previous_version(stack: Stack) -> None:
    assert stack.start(stack.new_zip("v2")) == 0
    assert stack.alias().stable == "2"

    assert stack.run("rollback") == 0
    assert stack.alias().stable == "1"
    assert stack.run("rollback") == 1  # no earlier release recorded: nothing to go back to


def test_a_zip_that_does_not_import_is_refused_before_publishing(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = stack.new_zip("broken", "import module_that_is_not_in_the_zip\n")

    assert stack.start(broken) == 1
    assert "does not import app.handler: ModuleNotFoundError" in capsys.readouterr().err
    assert stack.versions() == ["1"]


def test_an_interrupted_upload_is_not_published_twice(stack: Stack) -> None:
    zip_path = stack.new_zip("v2")
    session = aws_session.session(aws_session.local_target(stack.endpoint))
    first = release.Release(session, stack.stack_outputs()).publish(zip_path, _sha(zip_path))

    assert stack.start(zip_path) == 0  # finds version 2 by its sha, bakes and promotes it
    assert stack.versions() == ["1", first]
    assert stack.alias().stable == first


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["start", "--canary", "150"], "must be a whole percentage from 1 to 99"),
        (["start", "--margin", "2"], "must be a ratio from 0 to 1"),
        (["--profile", "prod", "status"], "invalid choice: 'prod'"),
    ],
)
def test_bad_arguments_get_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        release.run(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_no_stack_applied_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "outputs.json"
    empty.write_text("{}")

    assert release.run(["--outputs", str(empty), "status"]) == 1
    assert "is the stack applied?" in capsys.readouterr().err


def test_the_rule() -> None:
    rule = verdict.Rule(margin=0.05, min_invocations=3)
    healthy = verdict.VersionStats("1", 100, 1)
    assert verdict.judge(healthy, verdict.VersionStats("2", 2, 2), [], rule).action == "bake"
    assert verdict.judge(healthy, verdict.VersionStats("2", 3, 1), [], rule).action == "rollback"
    assert verdict.judge(healthy, verdict.VersionStats("2", 50, 3), [], rule).action == "bake"
    assert verdict.judge(healthy, verdict.VersionStats("2", 0, 0), ["a"], rule).action == (
        "rollback"
    )
