"""`durable-async` as a process: `python -m durable_async`, pipes, and the current directory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def command(
    *argv: str, cwd: Path = ROOT, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "durable_async", *argv],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_module_handler_is_imported_from_the_current_directory(tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(
        "from durable_async import durable_execution\n\n"
        "@durable_execution\n"
        "async def handler(event, ctx):\n"
        "    return await ctx.step(lambda: event['n'] * 2, name='double')\n"
    )
    done = command("run", "shop:handler", "--input", '{"n": 21}', "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"] == 42


def test_input_from_stdin(tmp_path: Path) -> None:
    done = command(
        "run", f"{HERE / 'workflows.py'}:echo", "--input", "-", "--json", stdin='["piped"]'
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["result"] == ["piped"]


def test_a_closed_pipe_ends_quietly() -> None:
    # `| head -1`: the reader goes away after one line; no BrokenPipeError traceback.
    script = (
        f"{sys.executable} -m durable_async run {HERE / 'workflows.py'}:nested --json | head -1"
    )
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.stdout == "{\n"
    assert "Traceback" not in done.stderr, done.stderr
    assert "BrokenPipe" not in done.stderr, done.stderr


def test_exit_statuses() -> None:
    flows = HERE / "workflows.py"
    assert command("run", f"{flows}:echo").returncode == 0
    assert command("run", f"{flows}:returns_an_object").returncode == 1
    assert command("run", "nocolon").returncode == 2
    pending = command("run", f"{flows}:approval")
    assert pending.returncode == 3
    assert pending.stderr.count("\n") == 1
    assert command("--version").stdout.startswith("durable-async ")
