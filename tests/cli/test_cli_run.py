"""`durable-async run`, called in process: input sources, callbacks, exit status, output."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from durable_async import __name__ as _package
from durable_async._cli import format_history, main
from durable_async._models import Operation, OperationStatus, OperationType, StepDetails

HERE = Path(__file__).resolve().parent
WORKFLOWS = HERE / "workflows.py"
EXAMPLE = HERE.parent.parent / "examples" / "order.py"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["run", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def flow(name: str) -> str:
    return f"{WORKFLOWS}:{name}"


def rows(out: str) -> list[list[str]]:
    """The history table's rows, split on runs of two or more spaces."""
    import re

    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("ID  "))
    body = []
    for line in lines[header + 1 :]:
        if not line.strip():
            break
        body.append(re.split(r" {2,}", line.strip()))
    return body


def test_run_prints_the_result_and_the_history_tree(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, f"{EXAMPLE}:handler", "--input", '{"sku": "a-1"}')
    assert status == 0
    assert "status: SUCCEEDED after 3 invocation(s)" in out
    assert 'result: {"price": 103, "reservation": "reservation-a-1"}' in out
    header = next(line for line in out.splitlines() if line.startswith("ID  "))
    assert header.split() == ["ID", "TYPE", "NAME", "STATUS", "ATTEMPT", "SIM", "WALL", "ERROR"]
    table = rows(out)
    assert [(r[1], r[2], r[3]) for r in table] == [
        ("EXECUTION", "execution-1", "SUCCEEDED"),
        ("STEP", "price", "SUCCEEDED"),
        ("WAIT", "-", "SUCCEEDED"),
        ("STEP", "reserve", "SUCCEEDED"),
        ("WAIT", "cool-off", "SUCCEEDED"),
    ]
    wait = table[2]
    assert wait[5] == "5.000s"  # simulated: the wait's five seconds, skipped
    assert float(wait[6].rstrip("s")) < 5  # real time: it took none of them
    assert "SIM: simulated time" in out
    assert "WALL: real time" in out
    assert "\x1b[" not in out  # not a terminal: no colour


def test_children_are_drawn_under_their_context_and_items_with_their_index(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, flow("nested"))
    assert status == 0, out
    table = out.splitlines()
    start = next(i for i, line in enumerate(table) if line.startswith("ID  "))
    name_at, status_at = table[start].index("NAME"), table[start].index("STATUS")
    shown = [line[name_at:status_at].rstrip() for line in table[start + 1 : start + 10]]
    assert shown == [
        "execution-1",
        "checkout",
        "  charge",
        "  -",
        "items",
        "  [0]",
        "    upper",
        "  [1]",
        "    upper",
    ]
    kinds = [r[1] for r in rows(out)]
    assert kinds[4] == "CONTEXT:Map"
    assert kinds[5] == "CONTEXT:MapIteration"


def test_a_step_failure_shows_its_error_in_its_row_and_the_users_frames(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, flow("fails"), "--input", '"x-9"')
    assert status == 1
    assert "error: StepError: bad sku 'x-9'" in out
    assert "workflows.py" in out
    assert ", in _check" in out
    assert "durable_async/" not in out.split("stack trace")[1].split("\n\n")[0]
    check = next(r for r in rows(out) if r[2].strip() == "check")
    assert check[3] == "FAILED"
    assert check[4] == "1"
    assert check[7] == "ValueError: bad sku 'x-9'"


def test_a_handler_result_that_is_not_json_names_the_handler(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run(capsys, flow("returns_an_object"))
    assert status == 1
    assert "Opaque is not JSON serialisable" in out
    assert "the handler is defined at " in out
    assert "workflows.py:" in out
    assert "Traceback" not in out + err


def test_a_step_result_that_is_not_json_is_named_by_its_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, flow("unserialisable_step"))
    assert status == 1
    assert "'make-object'" in out


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (
            ["--callback", 'approval={"approved": true, "by": "sam"}'],
            {"approved": True, "by": "sam"},
        ),
        (["--callback", '*={"approved": false}'], {"approved": False, "by": None}),
        (["--callback-timeout"], {"approved": False, "why": "timed out"}),
    ],
)
def test_callbacks_are_answered_from_flags(
    capsys: pytest.CaptureFixture[str], flags: list[str], expected: dict[str, object]
) -> None:
    status, out, err = run(capsys, flow("approval"), "--json", *flags)
    assert status == 0, err
    assert json.loads(out)["result"] == expected


def test_a_failed_callback_fails_the_execution(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, flow("approval"), "--callback-fail", "approval=rejected by sam")
    assert status == 1
    assert "rejected by sam" in out


def test_flags_answer_callbacks_in_order_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(
        capsys, flow("two_callbacks"), "--json", "--callback", "second=2", "--callback", "first=1"
    )
    assert status == 0, err
    assert json.loads(out)["result"] == [1, 2]


def test_unanswered_callbacks_end_the_run_at_once_naming_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run(capsys, flow("approval"))
    assert status == 3
    assert out == ""
    assert "waiting on 1 callback(s) nothing answers: approval (callback id " in err
    assert "--callback approval=JSON" in err
    assert err.count("\n") == 1  # one line, no traceback


def test_a_callback_with_no_timeout_cannot_be_timed_out(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, flow("untimed"), "--callback-timeout")
    assert status == 3
    assert "forever (callback id " in err
    assert "It cannot be made to time out: it has no timeout" in err


def test_a_runaway_loop_ends_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, flow("runaway"), "--max-invocations", "5")
    assert status == 3
    assert "still running after 5 invocations" in err
    assert err.count("\n") == 1
    assert out == ""


def test_input_comes_from_a_file_of_any_size(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    big = {"blob": "x" * (10 * 1024 * 1024)}  # past what a shell takes as one argument
    path = tmp_path / "input.json"
    path.write_text(json.dumps(big))
    status, out, err = run(capsys, flow("measure"), "--input-file", str(path), "--json")
    assert status == 0, err
    assert json.loads(out)["result"] == 10 * 1024 * 1024


def test_input_comes_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO('{"from": "stdin"}'))
    status, out, _ = run(capsys, flow("echo"), "--input", "-", "--json")
    assert status == 0
    assert json.loads(out)["result"] == {"from": "stdin"}


def test_bad_input_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = run(capsys, flow("echo"), "--input", "{nope")
    assert status == 2
    assert "the input (--input) is not valid JSON" in err
    status, _, err = run(capsys, flow("echo"), "--input-file", str(tmp_path / "missing.json"))
    assert status == 2
    assert "cannot read --input-file" in err


def test_json_output_is_one_document_with_the_history(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, f"{EXAMPLE}:handler", "--input", '{"sku": "a-1"}', "--json")
    assert status == 0
    document = json.loads(out)
    assert document["status"] == "SUCCEEDED"
    assert document["invocations"] == 3
    assert [op["Type"] for op in document["operations"]] == [
        "EXECUTION",
        "STEP",
        "WAIT",
        "STEP",
        "WAIT",
    ]
    assert document["operations"][2]["SimulatedSeconds"] == 5.0
    assert document["history"][0]["EventType"] == "ExecutionStarted"


def test_bad_targets_are_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = run(capsys, "nocolon")
    assert status == 2
    assert "expected FILE.py:HANDLER or MODULE:HANDLER" in err
    status, _, err = run(capsys, f"{tmp_path}/missing.py:handler")
    assert status == 2
    assert "no such file" in err
    status, _, err = run(capsys, flow("plain_function"))
    assert status == 2
    assert "a plain (non-async) function" in err
    assert "workflows.py:" in err
    status, _, err = run(capsys, flow("no_such_name"))
    assert status == 2
    assert "has no attribute 'no_such_name'" in err
    assert "approval" in err
    status, _, err = run(capsys, "no_such_module_here:handler")
    assert status == 2
    assert "no module named 'no_such_module_here'" in err


def test_a_syntax_error_points_at_the_users_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "broken.py").write_text("x = 1\ndef handler(:\n    pass\n")
    status, _, err = run(capsys, f"{tmp_path}/broken.py:handler")
    assert status == 2
    assert "broken.py:2: SyntaxError:" in err
    assert "def handler(:" in err
    assert "importlib" not in err
    assert "Traceback" not in err


def test_an_import_error_in_the_users_module_shows_only_their_frames(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "imports.py").write_text("import json\n\nraise RuntimeError('no config')\n")
    status, _, err = run(capsys, f"{tmp_path}/imports.py:handler")
    assert status == 2
    assert "importing" in err
    assert "RuntimeError: no config" in err
    assert 'imports.py", line 3' in err
    assert "importlib" not in err
    assert "<frozen" not in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.startswith("durable-async ")


def test_history_rows_are_aligned_and_coloured_on_request() -> None:
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
    plain = format_history(ops, wall={"a" * 64: 0.25}).splitlines()
    assert plain[1].index("FAILED") == plain[0].index("STATUS") == plain[2].index("STARTED")
    assert plain[1].split()[-3:] == ["3", "2.000s", "0.250s"]  # two retries, then the third
    coloured = format_history(ops, colour=True)
    assert "\x1b[31mFAILED" in coloured
    assert _package == "durable_async"


def test_runs_are_kept_and_shown_again(capsys: pytest.CaptureFixture[str], kept_runs: Path) -> None:
    status, first, _ = run(capsys, flow("nested"))
    assert status == 0
    status, _, _ = run(capsys, flow("fails"), "--input", '"x-1"')
    assert status == 1
    kept = sorted(kept_runs.glob("*.json"))
    assert len(kept) == 2
    assert main(["runs"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in listed] == ["SUCCEEDED", "FAILED"]
    assert main(["show"]) == 1  # the latest, with its own exit status
    latest = capsys.readouterr().out
    assert "error: StepError: bad sku 'x-1'" in latest
    assert main(["show", kept[0].name[:20]]) == 0
    again = capsys.readouterr().out
    # the same report as when it ran, from the kept document
    assert again.split("\n", 1)[1] == first
    assert main(["show", str(kept[0]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "SUCCEEDED"


def test_no_save_keeps_nothing_and_show_says_so(
    capsys: pytest.CaptureFixture[str], kept_runs: Path
) -> None:
    status, _, _ = run(capsys, flow("echo"), "--no-save")
    assert status == 0
    assert not kept_runs.exists()
    assert main(["show"]) == 2
    assert "no runs kept in" in capsys.readouterr().err
    assert main(["show", "nothing-like-this"]) == 2
