"""Replay: crashes between checkpoints, and histories that no longer match the code."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from durable_async import (
    BackendUnavailableError,
    DurableContext,
    InvocationStatus,
    NonDeterministicExecutionError,
    OperationStatus,
    durable_execution,
)
from durable_async.testing import Fault, FaultyBackend, LocalRunner, MemoryBackend

pytestmark = pytest.mark.anyio


def make_workflow(runs: Counter[str]) -> Any:
    def body(label: str) -> Any:
        async def run() -> str:
            runs[label] += 1
            return label.upper()

        run.__name__ = label
        return run

    @durable_execution(checkpoint_window=0)
    async def handler(event: None, ctx: DurableContext) -> str:
        a = await ctx.step(body("a"))
        b = await ctx.step(body("b"))
        await ctx.wait(5)
        c = await ctx.step(body("c"))
        d = await ctx.step(body("d"))
        return a + b + c + d

    return handler


async def test_replay_after_a_crash_between_any_two_checkpoints() -> None:
    clean = await LocalRunner(make_workflow(Counter())).run()
    assert clean.result == "ABCD"
    total_calls = 8  # two per step (START coalesces with SUCCEED only if window allows) at most
    for crash_at in range(1, total_calls + 1):
        runs = Counter[str]()
        handler = make_workflow(runs)
        memory = MemoryBackend()
        backend = FaultyBackend(memory)
        backend.inject(Fault.transient("simulated crash"), at=crash_at)
        event = memory.start_execution(None)
        arn = event.durable_execution_arn
        done_before: set[str] = set()
        output = None
        for _ in range(10):
            try:
                output = await handler.invoke_output(event, backend=backend)
            except BackendUnavailableError:
                done_before = {
                    op.name
                    for op in memory.operations(arn)
                    if op.status is OperationStatus.SUCCEEDED and op.name
                }
                before = runs.copy()
            else:
                memory.complete_invocation(arn, output, started=0)
                if output.status is not InvocationStatus.PENDING:
                    break
                memory.clock.advance(5)  # type: ignore[attr-defined]
            event = memory.invocation_event(arn)
        assert output is not None
        assert output.status is InvocationStatus.SUCCEEDED, crash_at
        assert output.result == '"ABCD"'
        for label in done_before:  # a step acknowledged before the crash never runs again
            assert runs[label] == before[label] == 1, (crash_at, label)
        assert all(n <= 2 for n in runs.values())


async def test_reordered_operations_fail_with_non_determinism_naming_the_operation() -> None:
    flip = {"order": ["first", "second"]}

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        for name in flip["order"]:
            await ctx.step(lambda: None, name=name)
        await ctx.wait(1)
        return "done"

    backend = MemoryBackend()
    event = backend.start_execution(None)
    arn = event.durable_execution_arn
    first = await handler.invoke_output(event, backend=backend)
    assert first.status is InvocationStatus.PENDING
    flip["order"] = ["second", "first"]
    backend.clock.advance(1)  # type: ignore[attr-defined]
    output = await handler.invoke_output(backend.invocation_event(arn), backend=backend)
    assert output.status is InvocationStatus.FAILED  # never PENDING
    assert output.error is not None
    assert output.error.error_type == "NonDeterministicExecutionError"
    message = output.error.error_message or ""
    assert "operation #1" in message
    assert "history has 'first', code has 'second'" in message


async def test_changed_operation_type_is_detected_even_if_user_code_catches_it() -> None:
    calls = {"n": 0}

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        calls["n"] += 1
        try:
            if calls["n"] == 1:
                await ctx.wait(3)
            else:
                await ctx.step(lambda: 1)
        except NonDeterministicExecutionError:
            return "caught it"  # swallowing it must not let the execution succeed
        return "ok"

    result = await LocalRunner(handler).run()
    assert result.status is InvocationStatus.FAILED
    assert result.error is not None
    assert result.error.error_type == "NonDeterministicExecutionError"
    assert "type: history has 'WAIT', code has 'STEP'" in (result.error.error_message or "")


async def test_logger_is_silent_while_replaying(caplog: pytest.LogCaptureFixture) -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> None:
        ctx.logger.warning("before wait")
        await ctx.wait(1)
        ctx.logger.warning("after wait")

    with caplog.at_level("WARNING", logger="durable_async"):
        result = await LocalRunner(handler).run()
    assert result.invocations == 2
    assert [r.getMessage() for r in caplog.records] == ["before wait", "after wait"]
    assert all(r.executionArn == result.execution_arn for r in caplog.records)  # type: ignore[attr-defined]
