"""The invocation returns before Lambda's deadline, whatever hangs.

With a Lambda context, an invocation stops handler code at `stop` (Lambda's remaining time less a
margin), waits for checkpoints in flight until half-way through the margin, and for cleanup and
plugin hooks until three quarters of it. A request that never returns, a plugin hook that never
returns, or a task that ignores cancellation cannot hold it past that.

Time here is a `ManualClock`: a test moves it to each limit in turn and checks the invocation has
returned, so nothing depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from durable_async import (
    DurableContext,
    DurablePlugin,
    InvocationDeadlineError,
    InvocationStatus,
    OperationType,
    durable_execution,
)
from durable_async._models import InvocationOutput, OperationAction
from durable_async.testing import Fault, FaultyBackend, ManualClock, MemoryBackend

pytestmark = pytest.mark.anyio

REMAINING_MS = 3000  # margin 0.5 s: stop at 2.5, flush by 2.75, return by 2.875, Lambda ends at 3
STOP, FLUSH_BY, RETURN_BY = 2.5, 2.75, 2.875


class LambdaContext:
    def get_remaining_time_in_millis(self) -> int:
        return REMAINING_MS


async def until(condition: Callable[[], bool]) -> None:
    """Wait for `condition` (bounded in real time only to fail instead of hanging)."""
    for _ in range(10_000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the condition never held")


async def one() -> int:
    return 1


class Setup:
    def __init__(self, *, page_size: int = 1000) -> None:
        self.clock = ManualClock(start=0.0)
        self.memory = MemoryBackend(clock=self.clock, page_size=page_size)
        self.faulty = FaultyBackend(self.memory)

    def start(self, handler: Any) -> asyncio.Task[InvocationOutput]:
        event = self.memory.start_execution({"n": 1})
        return asyncio.ensure_future(
            handler.invoke_output(event, LambdaContext(), backend=self.faulty)
        )

    async def advance_to(self, when: float) -> None:
        self.clock.advance_to(when)
        for _ in range(20):
            await asyncio.sleep(0)


def _is_step_success(call: Any) -> bool:
    return bool(call.has_update(type=OperationType.STEP, action=OperationAction.SUCCEED))


async def test_a_checkpoint_that_never_returns_ends_in_a_deadline_error_by_flush_time() -> None:
    setup = Setup()
    setup.faulty.inject(Fault.hang(), when=_is_step_success)

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> int:
        return await ctx.step(one, name="one")

    run = setup.start(handler)
    await until(lambda: any(c.fault == "hang" for c in setup.faulty.calls))
    await setup.advance_to(STOP)
    assert not run.done()  # still waiting for the request, within the margin
    await setup.advance_to(FLUSH_BY)
    assert run.done()
    with pytest.raises(InvocationDeadlineError, match="acknowledged its checkpoints"):
        run.result()


async def test_a_final_checkpoint_that_never_returns_cannot_hold_a_finished_handler() -> None:
    setup = Setup()
    setup.faulty.inject(
        Fault.hang(), when=lambda call: call.has_update(type=OperationType.EXECUTION)
    )

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        await ctx.step(one, name="one")
        return "x" * (7 * 1024 * 1024)  # too large for the response: checkpointed instead

    run = setup.start(handler)
    await until(lambda: any(c.fault == "hang" for c in setup.faulty.calls))
    await setup.advance_to(FLUSH_BY)
    with pytest.raises(InvocationDeadlineError):
        await run


async def test_history_paging_that_never_returns_ends_by_the_stop_time() -> None:
    setup = Setup()
    setup.faulty.inject(Fault.hang(), method="get_state")
    ran: list[str] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> None:
        ran.append("handler")

    event = setup.memory.start_execution(None)
    paged = event.initial_execution_state.model_copy(update={"next_marker": "1"})
    event = event.model_copy(update={"initial_execution_state": paged})
    run = asyncio.ensure_future(handler.invoke_output(event, LambdaContext(), backend=setup.faulty))
    await until(lambda: setup.faulty.count("get_state") == 1)
    await setup.advance_to(STOP)
    with pytest.raises(InvocationDeadlineError, match="reading the execution's state"):
        await run
    assert ran == []


class _Hanging(DurablePlugin):
    def __init__(self, hook: str) -> None:
        self.hook = hook
        self.entered = asyncio.Event()

    async def _hang(self) -> None:
        self.entered.set()
        await asyncio.get_running_loop().create_future()

    async def on_invocation_start(self, event: Any) -> None:
        if self.hook == "start":
            await self._hang()

    async def on_invocation_end(self, event: Any) -> None:
        if self.hook == "end":
            await self._hang()


async def test_an_invocation_end_hook_that_never_returns_is_cut_off(
    caplog: pytest.LogCaptureFixture,
) -> None:
    setup = Setup()
    plugin = _Hanging("end")

    @durable_execution(plugins=[plugin])
    async def handler(event: Any, ctx: DurableContext) -> int:
        return 7 * await ctx.step(one, name="seven")

    with caplog.at_level(logging.WARNING, logger="durable_async.plugins"):
        run = setup.start(handler)
        await plugin.entered.wait()
        await setup.advance_to(RETURN_BY)
        output = await run
    assert output.status is InvocationStatus.SUCCEEDED
    assert output.result == "7"
    assert "on_invocation_end" in caplog.text


async def test_an_invocation_start_hook_that_never_returns_is_cut_off_at_the_stop_time() -> None:
    setup = Setup()
    plugin = _Hanging("start")
    ran: list[str] = []

    @durable_execution(plugins=[plugin])
    async def handler(event: Any, ctx: DurableContext) -> int:
        ran.append("handler")
        await ctx.wait(60)
        return 1

    run = setup.start(handler)
    await plugin.entered.wait()
    await setup.advance_to(STOP)
    output = await run
    # The handler got its turn after the hook was cut off; out of time, it suspended.
    assert output.status is InvocationStatus.PENDING
    assert ran == ["handler"]


async def test_a_task_that_ignores_cancellation_cannot_hold_the_invocation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import durable_async._runtime as runtime_module

    monkeypatch.setattr(runtime_module, "CLEANUP_SECONDS", 3600.0)
    setup = Setup()
    release = asyncio.Event()

    stubborn_tasks: list[asyncio.Task[None]] = []

    async def stubborn() -> None:
        while True:
            try:
                await release.wait()
                return
            except asyncio.CancelledError:
                continue  # ignores cancellation until released

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> int:
        stubborn_tasks.append(asyncio.get_running_loop().create_task(stubborn()))
        return 2 * await ctx.step(one, name="two")

    run = setup.start(handler)
    try:
        await until(lambda: setup.faulty.count("checkpoint") >= 1)
        for _ in range(50):
            await asyncio.sleep(0)
        assert not run.done()  # the handler is done; cleanup waits for the stubborn task
        await setup.advance_to(RETURN_BY)
        output = await run
        assert output.status is InvocationStatus.SUCCEEDED
        assert not stubborn_tasks[0].done()  # left behind, not waited for
    finally:
        release.set()
    await stubborn_tasks[0]
