"""A failure records where it happened: the `StackTrace` of its error, user frames first.

Entries are the frames of the handler's or step body's code, innermost first; frames of
durable_async, anyio and the standard library are left out; every field stays within the limits
of `durable_async._traceback` (the service's model publishes none).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore
import pytest

import durable_async
from durable_async import (
    DurableContext,
    InvocationStatus,
    RetryPolicy,
    StepError,
    durable_execution,
)
from durable_async._cli import main
from durable_async._errors import OperationError
from durable_async._models import ErrorObject
from durable_async._traceback import (
    MAX_ENTRY_BYTES,
    MAX_MESSAGE_BYTES,
    MAX_STACK_BYTES,
    MAX_STACK_ENTRIES,
    MAX_TYPE_BYTES,
    stack_trace,
)
from durable_async.testing import LocalRunner

pytestmark = pytest.mark.anyio

THIS_FILE = Path(__file__).name
PACKAGE = os.path.dirname(durable_async.__file__)
_PATH = re.compile(r'^File "(?P<path>[^"]*)", line \d+, in (?P<name>\S+)')


def _frames(entries: list[str] | None) -> list[tuple[str, str]]:
    """(path, function) of each frame entry, innermost first."""
    found = [_PATH.match(entry) for entry in entries or []]
    return [(m["path"], m["name"]) for m in found if m is not None]


def _assert_user_frames_only(entries: list[str] | None) -> None:
    for path, _ in _frames(entries):
        absolute = os.path.abspath(path)
        assert not absolute.startswith(PACKAGE + os.sep), path
        assert "asyncio" not in path, path
        assert "anyio" not in path, path


def _assert_within_limits(entries: list[str] | None) -> None:
    entries = entries or []
    assert len(entries) <= MAX_STACK_ENTRIES
    assert all(len(entry.encode()) <= MAX_ENTRY_BYTES for entry in entries)
    assert sum(len(entry.encode()) for entry in entries) <= MAX_STACK_BYTES


def _check_stock(sku: str) -> None:
    raise LookupError(f"no stock for {sku}")


def _reserve(sku: str) -> str:
    _check_stock(sku)
    return "never"


async def _reserve_async(sku: str) -> str:
    _check_stock(sku)
    return "never"


@pytest.mark.parametrize("always_replay", [False, True])
async def test_a_handler_failure_records_its_frames_innermost_first(always_replay: bool) -> None:
    @durable_execution
    async def handler(event: str, ctx: DurableContext) -> None:
        await ctx.wait(1)
        _check_stock(event)

    result = await LocalRunner(handler, always_replay=always_replay).run("a-1")
    assert result.status is InvocationStatus.FAILED
    assert result.error is not None
    assert (result.error.error_type, result.error.error_message) == (
        "LookupError",
        "no stock for a-1",
    )
    frames = _frames(result.error.stack_trace)
    assert frames[0][1] == "_check_stock"
    assert frames[0][0].endswith(THIS_FILE)
    assert frames[1][1] == "handler"
    assert 'raise LookupError(f"no stock for {sku}")' in (result.error.stack_trace or [""])[0]
    _assert_user_frames_only(result.error.stack_trace)
    _assert_within_limits(result.error.stack_trace)


@pytest.mark.parametrize("body", [_reserve, _reserve_async], ids=["sync", "async"])
async def test_a_step_body_failure_records_the_bodys_frames_and_the_execution_keeps_them(
    body: Callable[[str], Any],
) -> None:
    @durable_execution
    async def handler(event: str, ctx: DurableContext) -> str:
        return await ctx.step(body, event, name="reserve", retry=RetryPolicy.none())

    result = await LocalRunner(handler).run("a-1")
    step = result.operation("reserve").step_details
    assert step is not None
    assert step.error is not None
    names = [name for _, name in _frames(step.error.stack_trace)]
    assert names == ["_check_stock", body.__name__]
    _assert_user_frames_only(step.error.stack_trace)
    # the handler does not catch the StepError: the execution's error points into the body
    assert result.error is not None
    assert (result.error.error_type, result.error.error_data) == ("StepError", "LookupError")
    assert result.error.stack_trace == step.error.stack_trace


async def test_a_caught_step_error_carries_the_recorded_stack_on_first_run_and_replay() -> None:
    seen: list[list[str]] = []

    @durable_execution
    async def handler(event: str, ctx: DurableContext) -> str:
        try:
            await ctx.step(_reserve, event, name="reserve", retry=RetryPolicy.none())
        except StepError as exc:
            seen.append(exc.stack_trace)
        await ctx.wait(1)  # forces a replay of the failed step
        return "handled"

    result = await LocalRunner(handler).run("a-1")
    assert result.result == "handled"
    assert len(seen) == 2
    assert seen[0] == seen[1]
    assert _frames(seen[0])[0][1] == "_check_stock"


def test_chained_exceptions_follow_under_a_header() -> None:
    def parse(raw: dict[str, str]) -> str:
        return raw["sku"]

    try:
        try:
            parse({})
        except KeyError as exc:
            raise ValueError("bad order") from exc
    except ValueError as exc:
        entries = stack_trace(exc)
    assert _frames(entries[:1])[0][1] == "test_chained_exceptions_follow_under_a_header"
    header = entries.index("caused by KeyError: 'sku'")
    assert [name for _, name in _frames(entries[header + 1 :])] == [
        "parse",
        "test_chained_exceptions_follow_under_a_header",
    ]


def test_an_error_raised_by_the_runtime_alone_keeps_the_runtimes_frames() -> None:
    inside = os.path.join(PACKAGE, "_plumbing.py")  # a file of the package (no source to read)
    code = compile(
        "try:\n    raise RuntimeError('x')\nexcept RuntimeError as e:\n    caught = e\n",
        inside,
        "exec",
    )
    scope: dict[str, BaseException] = {}
    exec(code, scope)
    entries = stack_trace(scope["caught"])
    [(path, name)] = _frames(entries)
    assert os.path.abspath(path) == inside
    assert name == "<module>"


def _recurse(n: int) -> None:
    _recurse(n + 1)


def _ping(n: int) -> None:
    if n > 500:
        raise ValueError("too deep")
    _pong(n + 1)


def _pong(n: int) -> None:
    _ping(n + 1)


async def test_a_recursion_error_is_one_entry_and_a_count() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> None:
        _recurse(0)

    result = await LocalRunner(handler).run()
    assert result.error is not None
    assert result.error.error_type == "RecursionError"
    entries = result.error.stack_trace or []
    _assert_within_limits(entries)
    assert [name for _, name in _frames(entries)][:2] == ["_recurse", "handler"]
    assert re.fullmatch(r"\[the frame above repeated \d+ more times\]", entries[1])


async def test_a_deep_stack_is_cut_to_the_entry_and_size_limits_innermost_kept() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> None:
        _ping(0)

    result = await LocalRunner(handler).run()
    assert result.error is not None
    entries = result.error.stack_trace or []
    _assert_within_limits(entries)
    assert len(entries) == MAX_STACK_ENTRIES
    assert _frames(entries)[0][1] == "_ping"
    assert re.fullmatch(r"\.\.\. cut here: \d+ more frame\(s\)", entries[-1])
    omitted = int(entries[-1].split()[3])
    assert omitted + MAX_STACK_ENTRIES - 1 == 504  # 252 _ping and 251 _pong frames, the handler


@pytest.mark.parametrize("char", ["x", "é", "🦆"])
async def test_a_huge_message_is_cut_to_the_message_limit(char: str) -> None:
    def shout() -> None:
        raise ValueError(char * 1_000_000)

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> int:
        try:
            await ctx.step(shout, name="shout", retry=RetryPolicy.none())
        except StepError as exc:
            return len(exc.error_message.encode())
        return 0

    result = await LocalRunner(handler).run()
    step = result.operation("shout").step_details
    assert step is not None
    assert step.error is not None
    assert step.error.error_message is not None
    message = step.error.error_message
    assert len(message.encode()) <= MAX_MESSAGE_BYTES
    assert len(message.encode()) > MAX_MESSAGE_BYTES - 16  # cut, not dropped
    assert message.startswith(char * 100)
    assert message.endswith(" [truncated]")
    assert result.result == len(message.encode())  # the handler sees the recorded message


def test_an_operation_error_recorded_elsewhere_is_cut_to_the_limits() -> None:
    huge = OperationError(
        "T" * 1000,
        "m" * (MAX_MESSAGE_BYTES * 2),
        stack_trace=["frame " + "f" * 5000] * 100,
    )
    error = ErrorObject.from_exception(huge)
    assert error.error_data is not None
    assert len(error.error_data) <= MAX_TYPE_BYTES
    assert error.error_message is not None
    assert len(error.error_message) <= MAX_MESSAGE_BYTES
    _assert_within_limits(error.stack_trace)
    assert error.stack_trace
    assert error.stack_trace[0].startswith("frame ffff")


def test_our_limits_sit_within_what_the_service_model_allows() -> None:
    """botocore's model bounds none of these shapes today; if it ever does, ours must fit."""
    model = Path(botocore.__file__).parent / "data/lambda/2015-03-31/service-2.json.gz"
    shapes = json.loads(gzip.decompress(model.read_bytes()))["shapes"]
    members = shapes["ErrorObject"]["members"]
    assert set(members) == {"ErrorMessage", "ErrorType", "ErrorData", "StackTrace"}
    ours = {
        "ErrorMessage": MAX_MESSAGE_BYTES,
        "ErrorType": MAX_TYPE_BYTES,
        "ErrorData": MAX_TYPE_BYTES,
    }
    for member, limit in ours.items():
        assert shapes[members[member]["shape"]].get("max", limit) >= limit
    entries = shapes[members["StackTrace"]["shape"]]
    assert entries.get("max", MAX_STACK_ENTRIES) >= MAX_STACK_ENTRIES
    assert shapes[entries["member"]["shape"]].get("max", MAX_ENTRY_BYTES) >= MAX_ENTRY_BYTES


def test_the_cli_prints_the_stack_trace_of_a_failed_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "failing_checkout.py").write_text(
        "from durable_async import DurableContext, RetryPolicy, durable_execution\n"
        "\n"
        "\n"
        "def charge(card):\n"
        "    raise RuntimeError(f'card {card} declined')\n"
        "\n"
        "\n"
        "@durable_execution\n"
        "async def handler(event, ctx: DurableContext):\n"
        "    return await ctx.step(charge, event, name='charge', retry=RetryPolicy.none())\n"
    )
    assert main(["run", f"{tmp_path}/failing_checkout.py:handler", "--input", '"4242"']) == 1
    lines = capsys.readouterr().out.splitlines()
    start = lines.index("error: StepError: card 4242 declined")
    assert lines[start + 1 : start + 3] == [
        "  error data: RuntimeError",
        "stack trace (most recent call first):",
    ]
    assert re.fullmatch(r'  File ".*failing_checkout\.py", line 5, in charge', lines[start + 3])
    assert lines[start + 4] == "      raise RuntimeError(f'card {card} declined')"
    assert lines[start + 5] == ""  # then the history table, as for a run that succeeds


def test_importing_the_package_does_not_load_the_stack_trace_helper() -> None:
    probe = "import sys, durable_async; print('durable_async._traceback' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
