from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from durable_async._cli import format_history, main
from durable_async._models import Operation, OperationStatus, OperationType, StepDetails

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "order.py"


def test_run_prints_the_result_and_the_history(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", f"{EXAMPLE}:handler", "--input", '{"sku": "a-1"}']) == 0
    out = capsys.readouterr().out
    assert "status: SUCCEEDED after 3 invocation(s)" in out
    assert 'result: {"price": 103, "reservation": "reservation-a-1"}' in out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("ID"))
    assert lines[header].split() == ["ID", "TYPE", "NAME", "STATUS", "ATTEMPT", "DURATION"]
    rows = [line.split() for line in lines[header + 1 :]]
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("EXECUTION", "execution-1", "SUCCEEDED"),
        ("STEP", "price", "SUCCEEDED"),
        ("WAIT", "-", "SUCCEEDED"),
        ("STEP", "reserve", "SUCCEEDED"),
        ("WAIT", "cool-off", "SUCCEEDED"),
    ]
    assert rows[2][-1] == "5.000s"  # the wait's duration, on the skipped clock
    assert "\x1b[" not in out  # not a terminal: no colour


def test_bad_targets_are_reported(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"expected FILE\.py:HANDLER"):
        main(["run", "nocolon"])
    with pytest.raises(SystemExit, match="no such file"):
        main(["run", f"{tmp_path}/missing.py:handler"])
    (tmp_path / "plain.py").write_text("def handler(e, c):\n    return 1\n")
    with pytest.raises(SystemExit, match="neither"):
        main(["run", f"{tmp_path}/plain.py:handler"])


def test_history_table_is_aligned_and_coloured_on_request() -> None:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    ops = [
        Operation(
            id="a" * 64,
            type=OperationType.STEP,
            status=OperationStatus.FAILED,
            name="charge-card",
            start_timestamp=t0,
            end_timestamp=t0 + dt.timedelta(seconds=2),
            step_details=StepDetails(attempt=2),
        ),
        Operation(id="b" * 64, type=OperationType.WAIT, status=OperationStatus.STARTED),
    ]
    plain = format_history(ops).splitlines()
    assert len({line.index("STATUS") if "STATUS" in line else -1 for line in plain[:1]}) == 1
    assert plain[1].index("FAILED") == plain[0].index("STATUS") == plain[2].index("STARTED")
    assert plain[1].split()[-2:] == ["3", "2.000s"]  # two retries, then the third attempt failed
    coloured = format_history(ops, colour=True)
    assert "\x1b[31mFAILED" in coloured
