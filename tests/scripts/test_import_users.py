"""`make import`: upload, follow the importer's status to the end, print the report, ledger."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from scripts import import_users
from scripts.harness.messages import ledger
from tests.lambdas.importer.conftest import configure, handler_stores, import_stack
from tests.lambdas.importer.support import ImportStack, users_csv

__all__ = ["configure", "handler_stores", "import_stack"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "import_users: no such file:"),
        ("users.txt", b"x", "import_users: users.txt: the importer reads .csv, .csv.gz"),
    ],
)
def test_bad_input_is_one_line_without_a_traceback(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes | None,
    message: str,
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    assert import_users.run([str(path), "--bucket", "b"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert len(err.strip().splitlines()) == 1


@pytest.mark.integration
def test_an_import_is_uploaded_followed_reported_and_ledgered(
    import_stack: ImportStack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generated = users_csv(60, malformed=0.05, invalid=0.05, seed=3)
    path = tmp_path / "users.csv"
    path.write_bytes(generated.data)
    outcome: list[int] = []
    command = threading.Thread(
        target=lambda: outcome.append(
            import_users.run(
                [
                    str(path),
                    "--bucket",
                    import_stack.bucket,
                    "--endpoint-url",
                    import_stack.endpoint_url,
                    "--ledger-dir",
                    str(tmp_path / "ledgers"),
                    "--timeout",
                    "120",
                ]
            )
        )
    )
    command.start()
    while command.is_alive():  # the importer, as the runner would run it
        import_stack.run_import()
        command.join(0.2)

    assert outcome == [0]
    out = capsys.readouterr().out
    rejected = len(generated.malformed_lines)
    assert f"done: 61 lines read, {60 - rejected} rows sent, {rejected} rejected" in out
    for line in generated.malformed_lines:
        assert f"  line {line}: " in out
    run = ledger.read(ledger.resolve(None, tmp_path / "ledgers"))
    assert {m.user_id for m in run.sent} == set(generated.valid)
