"""`durable-async run` in a real pseudo-terminal: prompts for callbacks, the progress line,
Ctrl-C. Driven with pexpect; every wait is on output, never on time."""

from __future__ import annotations

import sys
from pathlib import Path

import pexpect

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FLOWS = HERE / "workflows.py"


def spawn(*argv: str) -> pexpect.spawn:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "durable_async", "run", *argv],
        cwd=str(ROOT),
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 200),
    )
    return child


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus if child.exitstatus is not None else 128 + child.signalstatus)


def test_a_waiting_callback_is_asked_for_and_succeeded_with_json() -> None:
    child = spawn(f"{FLOWS}:approval")
    child.expect_exact("callback approval (callback id ")
    child.expect_exact("[s]ucceed with a JSON result, [f]ail, [t]ime out, [q]uit: ")
    child.sendline("s")
    child.expect_exact("result (JSON): ")
    child.sendline("{not json")
    child.expect_exact("not valid JSON")
    child.expect_exact("[q]uit: ")
    child.sendline("s")
    child.expect_exact("result (JSON): ")
    child.sendline('{"approved": true, "by": "kim"}')
    child.expect_exact('result: {"approved": true, "by": "kim"}')
    assert finish(child) == 0


def test_a_waiting_callback_can_be_failed_or_timed_out_from_the_prompt() -> None:
    child = spawn(f"{FLOWS}:approval")
    child.expect_exact("[q]uit: ")
    child.sendline("t")
    child.expect_exact('result: {"approved": false, "why": "timed out"}')
    assert finish(child) == 0
    child = spawn(f"{FLOWS}:approval")
    child.expect_exact("[q]uit: ")
    child.sendline("f")
    child.expect_exact("error message: ")
    child.sendline("no budget")
    child.expect_exact("status: FAILED")
    child.expect_exact("no budget")
    assert finish(child) == 1


def test_ctrl_c_at_a_prompt_ends_with_one_line() -> None:
    child = spawn(f"{FLOWS}:approval")
    child.expect_exact("[q]uit: ")
    child.sendintr()
    child.expect_exact("durable-async: interrupted")
    rest = child.read() if child.isalive() else ""
    assert "Traceback" not in (child.before or "") + rest
    assert finish(child) == 130


def test_a_long_run_shows_a_progress_line_then_erases_it(tmp_path: Path) -> None:
    release = tmp_path / "release"
    child = spawn(f"{FLOWS}:held", "--input", f'{{"release": "{release}"}}')
    child.expect(r"invocations 1 · operations 0 done, 1 pending · simulated clock \+0m00s")
    release.write_text("go")
    child.expect_exact("status: SUCCEEDED after 1 invocation(s)")
    assert finish(child) == 0


def test_ctrl_c_while_running_ends_with_one_line(tmp_path: Path) -> None:
    child = spawn(f"{FLOWS}:held", "--input", f'{{"release": "{tmp_path / "never"}"}}')
    child.expect("invocations 1")
    child.sendintr()
    child.expect_exact("durable-async: interrupted")
    assert "Traceback" not in (child.before or "")
    assert finish(child) == 130
