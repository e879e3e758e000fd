"""What the test suite and CI may rely on: no test assumes how fast a step body runs, and CI runs
the README's test command in a venv that holds only the `[test]` extra.

`tests/test_plugins.py::test_hooks_fire_once_each_across_invocations_and_retries` asserted one
total order of attempt hooks (which follow the step body) and operation hooks (which follow the
service's responses). A sync body runs in a worker thread; when it outlasted the 2 ms window of
its fire-and-forget START, the response reporting the START arrived first. The tests below force
each order and check what the plugin contract promises in both.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from durable_async import (
    DurableContext,
    DurablePlugin,
    OperationStart,
    RetryPolicy,
    durable_execution,
)
from durable_async.testing import LocalRunner

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
README_TEST_COMMAND = (
    "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && python -m pytest"
)


class Streams(DurablePlugin):
    """Records each invocation's own hooks and the service's (operation) hooks apart."""

    def __init__(self) -> None:
        self.invocations: list[tuple[list[Any], list[Any]]] = []
        self.step_started = threading.Event()

    def on_invocation_start(self, event: Any) -> None:
        self.invocations.append(([("invocation-start", event.first_invocation)], []))

    def on_invocation_end(self, event: Any) -> None:
        self.invocations[-1][0].append(("invocation-end", event.status.value))

    def on_attempt_start(self, event: Any) -> None:
        self.invocations[-1][0].append(("attempt-start", event.attempt))

    def on_attempt_end(self, event: Any) -> None:
        self.invocations[-1][0].append(("attempt-end", event.attempt, event.outcome))

    def on_operation_start(self, event: OperationStart) -> None:
        self.invocations[-1][1].append(("operation-start", event.name))
        if event.name == "flaky":
            self.step_started.set()

    def on_operation_end(self, event: Any) -> None:
        self.invocations[-1][1].append(("operation-end", event.name, event.status.value))


EXPECTED = [
    (
        [
            ("invocation-start", True),
            ("attempt-start", 1),
            ("attempt-end", 1, "FAILED"),
            ("invocation-end", "PENDING"),
        ],
        [("operation-start", "flaky")],
    ),
    (
        [
            ("invocation-start", False),
            ("attempt-start", 2),
            ("attempt-end", 2, "SUCCEEDED"),
            ("invocation-end", "SUCCEEDED"),
        ],
        [("operation-end", "flaky", "SUCCEEDED")],
    ),
]


async def _run(body_ends: str) -> list[tuple[list[Any], list[Any]]]:
    streams = Streams()
    calls = {"n": 0}

    def flaky() -> str:  # a sync body: it runs in a worker thread
        calls["n"] += 1
        if calls["n"] == 1:
            if body_ends == "after the START response":
                assert streams.step_started.wait(timeout=20), "the START was never reported"
            raise ValueError("first attempt fails")
        return "ok"

    async def fast_flaky() -> str:  # an async body that fails without yielding to the loop
        return flaky()

    body = flaky if body_ends == "after the START response" else fast_flaky

    @durable_execution(plugins=[streams])
    async def handler(event: None, ctx: DurableContext) -> str:
        return await ctx.step(body, name="flaky", retry=RetryPolicy.fixed(2, 1))

    result = await LocalRunner(handler).run()
    assert result.result == "ok", result.error
    return streams.invocations


@pytest.mark.parametrize("body_ends", ["before the START response", "after the START response"])
async def test_each_hook_fires_once_whichever_comes_first_body_or_response(body_ends: str) -> None:
    assert await _run(body_ends) == EXPECTED


def test_the_last_line_of_ci_is_the_readmes_test_command() -> None:
    assert README_TEST_COMMAND in (ROOT / "README.md").read_text()
    lines = [line for line in (ROOT / ".ci/run").read_text().splitlines() if line.strip()]
    assert lines[-1] == README_TEST_COMMAND


def _stub(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.mark.skipif(shutil.which("tar") is None, reason="needs tar")
def test_ci_runs_the_readme_command_in_a_fresh_venv_with_only_the_test_extra(
    tmp_path: Path,
) -> None:
    # A checkout whose .venv is the [dev] one the earlier CI steps installed.
    checkout = tmp_path / "checkout"
    (checkout / ".venv").mkdir(parents=True)
    (checkout / ".venv" / "DEV").write_text("[dev] installed here")
    (checkout / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    log = tmp_path / "log"
    stubs = tmp_path / "bin"
    stubs.mkdir()
    _stub(
        stubs,
        "python3",
        'if [ -e .venv/DEV ]; then echo "venv reused: $PWD" >> "$LOG"; fi\n'
        'mkdir -p .venv/bin && : > .venv/bin/activate && echo "venv: $PWD" >> "$LOG"\n',
    )
    _stub(stubs, "pip", 'test -f pyproject.toml && echo "pip $*: $PWD" >> "$LOG"\n')
    _stub(stubs, "python", 'echo "python $*: $PWD" >> "$LOG"\n')
    script = (ROOT / ".ci/run").read_text().splitlines()
    tail = script[len(script) - script[::-1].index("deactivate") :]  # what runs after [dev]
    env = {**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}", "LOG": str(log)}
    subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(tail)], cwd=checkout, env=env, check=True
    )
    lines = log.read_text().splitlines()
    assert not [line for line in lines if line.startswith("venv reused")], lines
    venv, pip, pytest_run = lines
    fresh = venv.removeprefix("venv: ")
    assert fresh != str(checkout)
    assert pip == f"pip install -e .[test]: {fresh}"
    assert pytest_run == f"python -m pytest: {fresh}"
    assert not Path(fresh).exists()  # cleaned up afterwards
    assert (checkout / ".venv" / "DEV").exists()  # the developer's venv is left alone
