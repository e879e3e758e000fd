"""The invocation suspends exactly when nothing can progress without the service."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from durable_async import DurableContext, InvocationStatus, OperationType, durable_execution
from durable_async.testing import LocalRunner, ManualClock, MemoryBackend

pytestmark = pytest.mark.anyio


async def noop() -> None:
    return None


async def test_a_wait_suspends_the_invocation_and_the_next_one_finishes() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        await ctx.wait(60)
        return "done"

    backend = MemoryBackend()
    event = backend.start_execution(None)
    output = await handler.invoke_output(event, backend=backend)
    assert output.status is InvocationStatus.PENDING
    result = await LocalRunner(handler, backend=backend).run()
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.invocations == 2


async def test_gather_of_steps_and_waits_suspends_promptly_and_keeps_ids_across_replays() -> None:
    runs = Counter[int]()
    ids_seen: list[list[str]] = []

    async def work(i: int) -> int:
        runs[i] += 1
        return i * i

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[int | None]:
        ops = [ctx.step(work, 1), ctx.wait(30), ctx.step(work, 2), ctx.wait(10), ctx.step(work, 3)]
        ids_seen.append([op.operation_id for op in ops])
        return list(await asyncio.gather(*ops))

    result = await LocalRunner(handler).run()
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == [1, None, 4, None, 9]
    assert result.invocations == 3  # suspend for the 10 s wait, then for the 30 s wait
    assert all(ids == ids_seen[0] for ids in ids_seen)
    assert runs == {1: 1, 2: 1, 3: 1}  # completed steps never re-run on replay


async def test_a_wait_inside_gather_is_awaited_in_process_while_a_step_runs() -> None:
    clock = ManualClock(start=1_000.0)
    backend = MemoryBackend(clock=clock)
    step_started = asyncio.Event()
    finish_step = asyncio.Event()

    async def long_step() -> str:
        step_started.set()
        await finish_step.wait()
        return "slow"

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[str | None]:
        return list(await asyncio.gather(ctx.step(long_step), ctx.wait(5)))

    event = backend.start_execution(None)
    invocation = asyncio.create_task(handler.invoke_output(event, backend=backend))
    await step_started.wait()
    for _ in range(10):
        await asyncio.sleep(0)
    clock.advance(5)  # the wait comes due while the step still runs
    for _ in range(10):
        await asyncio.sleep(0)
    wait_op = backend.operations(event.durable_execution_arn)[2]
    assert wait_op.type is OperationType.WAIT
    assert wait_op.status.value == "SUCCEEDED"
    finish_step.set()
    output = await invocation
    assert output.status is InvocationStatus.SUCCEEDED  # one invocation, no suspension
    assert output.result == '["slow",null]'


async def test_task_group_create_task_and_asyncio_wait_over_durable_operations() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[object]:
        async with asyncio.TaskGroup() as tg:
            a = tg.create_task(ctx.step(noop, name="a"))
            tg.create_task(ctx.wait(20))
        b = asyncio.create_task(ctx.wait(5))
        c = asyncio.ensure_future(ctx.step(noop, name="c"))
        done, pending = await asyncio.wait({b, c})
        return [a.result(), len(done), len(pending)]

    result = await LocalRunner(handler).run()
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == [None, 2, 0]
    assert result.invocations == 3


async def test_nested_gathers_of_many_steps_finish_in_one_invocation() -> None:
    async def square(i: int) -> int:
        return i * i

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> int:
        async def group(base: int) -> list[int]:
            return list(await asyncio.gather(*(ctx.step(square, base + i) for i in range(10))))

        groups = await asyncio.gather(*(group(10 * g) for g in range(10)))
        return sum(sum(g) for g in groups)

    backend = MemoryBackend()
    result = await LocalRunner(handler, backend=backend).run()
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == sum(i * i for i in range(100))
    assert result.invocations == 1
    assert len(result.operations_of(OperationType.STEP)) == 100


async def test_except_exception_around_a_wait_does_not_swallow_suspension() -> None:
    swallowed: list[BaseException] = []

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        try:
            await ctx.wait(100)
        except Exception as exc:  # user code that catches too much
            swallowed.append(exc)
            return "swallowed"
        return "waited"

    result = await LocalRunner(handler).run()
    assert swallowed == []
    assert result.result == "waited"
    assert result.invocations == 2


async def test_orphaned_operations_do_not_keep_the_invocation_alive() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        orphan = asyncio.ensure_future(ctx.wait(3600))  # started, never awaited by anyone
        await asyncio.sleep(0)
        assert not orphan.done()
        return "done"

    result = await LocalRunner(handler).run()
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.invocations == 1


async def test_a_step_retry_delay_inside_gather_is_completed_in_process_when_siblings_run() -> None:
    clock = ManualClock(start=0.0)
    backend = MemoryBackend(clock=clock)
    sibling = asyncio.Event()
    attempts = Counter[str]()

    async def flaky() -> str:
        attempts["flaky"] += 1
        if attempts["flaky"] == 1:
            raise RuntimeError("first attempt fails")
        return "ok"

    async def slow() -> str:
        await sibling.wait()
        return "slow"

    from durable_async import RetryPolicy

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[str]:
        return list(
            await asyncio.gather(ctx.step(flaky, retry=RetryPolicy.fixed(3, 2)), ctx.step(slow))
        )

    event = backend.start_execution(None)
    run = asyncio.create_task(handler.invoke_output(event, backend=backend))
    for _ in range(20):
        await asyncio.sleep(0)
    clock.advance(2)
    for _ in range(20):
        await asyncio.sleep(0)
    assert attempts["flaky"] == 2  # retried in process, no re-invocation
    sibling.set()
    output = await run
    assert output.status is InvocationStatus.SUCCEEDED
    assert output.result == '["ok","slow"]'


async def test_two_executions_on_one_loop_do_not_see_each_other() -> None:
    backend = MemoryBackend()

    @durable_execution
    async def handler(event: str, ctx: DurableContext) -> str:
        first = await ctx.step(lambda: event, name="echo")
        await ctx.wait(10)
        return first + "!"

    a, b = await asyncio.gather(
        LocalRunner(handler, backend=backend).run("a"),
        LocalRunner(handler, backend=backend).run("b"),
    )
    assert (a.result, b.result) == ("a!", "b!")
    assert a.execution_arn != b.execution_arn


class LambdaContext:
    """The part of Lambda's context object the runtime reads."""

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


async def test_at_the_deadline_pending_work_suspends_with_checkpoints_flushed() -> None:
    clock = ManualClock(start=0.0)
    backend = MemoryBackend(clock=clock)
    never = asyncio.Event()

    async def stuck() -> None:
        await never.wait()

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> object:
        return await asyncio.gather(ctx.step(stuck), ctx.wait(3600))

    event = backend.start_execution(None)
    run = asyncio.create_task(handler.invoke_output(event, LambdaContext(60_000), backend=backend))
    for _ in range(20):
        await asyncio.sleep(0)
    clock.advance(57)  # 60 s less the 3 s margin
    output = await run
    assert output.status is InvocationStatus.PENDING
    ops = backend.operations(event.durable_execution_arn)
    assert [op.type for op in ops[1:]] == [OperationType.STEP, OperationType.WAIT]  # flushed


async def test_at_the_deadline_with_nothing_pending_the_invocation_raises_for_a_retry() -> None:
    from durable_async import InvocationDeadlineError

    clock = ManualClock(start=0.0)
    backend = MemoryBackend(clock=clock)
    never = asyncio.Event()

    async def stuck() -> None:
        await never.wait()

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> object:
        return await ctx.step(stuck)

    run = asyncio.create_task(
        handler.invoke_output(backend.start_execution(None), LambdaContext(10_000), backend=backend)
    )
    for _ in range(20):
        await asyncio.sleep(0)
    clock.advance(9.5)  # 10 s less the 0.5 s margin
    with pytest.raises(InvocationDeadlineError):
        await run
