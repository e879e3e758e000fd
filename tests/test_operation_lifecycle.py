"""How a `DurableOperation` runs, is shared between awaiters, and lets go of its invocation."""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from collections.abc import Iterator

import pytest

from durable_async import DurableContext, InvocationStatus, StepError, durable_execution
from durable_async.testing import LocalRunner, MemoryBackend

pytestmark = pytest.mark.anyio


@pytest.fixture
def no_gc() -> Iterator[None]:
    """Only reference counting frees memory: what a test leaves to the collector shows up."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def test_an_operation_awaited_by_several_tasks_runs_once() -> None:
    runs = Counter[str]()

    async def work() -> str:
        runs["work"] += 1
        await asyncio.sleep(0)
        return "ok"

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[str]:
        op = ctx.step(work)
        task = asyncio.create_task(op)  # a task drives it ...
        first = await op  # ... and this task awaits it before the task has started
        again = await op  # done: the recorded result, not a second run
        return [first, again, await task, *(await asyncio.gather(op, op))]

    result = await LocalRunner(handler).run()
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == ["ok"] * 5
    assert runs == {"work": 1}


async def test_a_task_started_first_drives_the_operation_and_awaiters_follow() -> None:
    runs = Counter[str]()

    async def work() -> int:
        runs["work"] += 1
        await asyncio.sleep(0)
        return 7

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[int]:
        op = ctx.step(work)
        task = asyncio.ensure_future(op)
        await asyncio.sleep(0)  # the task has started the step
        return [await op, await task]

    result = await LocalRunner(handler).run()
    assert result.result == [7, 7]
    assert runs == {"work": 1}


async def test_every_awaiter_sees_the_same_failure() -> None:
    async def boom() -> None:
        raise ValueError("no")

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[str]:
        op = ctx.step(
            boom, retry=lambda exc, attempt: __import__("durable_async").RetryDecision.stop()
        )
        outcomes = await asyncio.gather(op, asyncio.ensure_future(op), return_exceptions=True)
        try:
            await op
        except StepError as exc:
            outcomes.append(exc)
        return [type(o).__name__ for o in outcomes]

    result = await LocalRunner(handler).run()
    assert result.result == ["StepError", "StepError", "StepError"]


async def test_a_cancelled_operation_is_cancelled_for_every_awaiter() -> None:
    started = asyncio.Event()

    async def slow() -> None:
        started.set()
        await asyncio.sleep(3600)

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[str]:
        op = ctx.step(slow)
        driver = asyncio.ensure_future(op)
        await started.wait()
        follower = asyncio.ensure_future(op)
        await asyncio.sleep(0)
        driver.cancel()
        outcomes = await asyncio.gather(driver, follower, return_exceptions=True)
        try:
            await op
        except asyncio.CancelledError:
            outcomes.append(asyncio.CancelledError())
        return [type(o).__name__ for o in outcomes]

    result = await LocalRunner(handler).run()
    assert result.result == ["CancelledError"] * 3


@pytest.mark.usefixtures("no_gc")
async def test_a_suspended_invocation_leaves_no_reference_cycles_behind() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> int:
        await asyncio.gather(*(ctx.wait(60) for _ in range(50)))
        return 50

    backend = MemoryBackend()
    output = await handler.invoke_output(backend.start_execution(None), backend=backend)
    assert output.status is InvocationStatus.PENDING

    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        left = Counter(type(o).__name__ for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    # Each cancelled wait used to keep its operation, frames and traceback in a cycle.
    assert left["DurableOperation"] == 0
    assert left["CancelledError"] == 0
    assert left["Operation"] <= 1  # at most the EXECUTION operation, with the runtime
