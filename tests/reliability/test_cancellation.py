"""Cancelling an invocation stops all of it; a stray `CancelledError` is an error, not a suspension.

Two different things end in `CancelledError`:

- the caller cancels the task running `invoke_async` (a shared loop shutting down, a test's
  timeout). Every task of the invocation must stop and nothing of it may run afterwards: no step
  body, no checkpoint, not even a background task the handler started and forgot;
- user code raises `CancelledError` without being cancelled (it awaited a task it had cancelled
  itself). That is the error of the step or handler that raised it: the service refuses a PENDING
  output with nothing pending, so treating it as a suspension would retry the invocation forever.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from durable_async import (
    DurableContext,
    InvocationStatus,
    StepError,
    UnexpectedCancellationError,
    durable_execution,
)
from durable_async.testing import LocalRunner, MemoryBackend

pytestmark = pytest.mark.anyio


async def _hops(n: int = 50) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


def _note(probe: _Probe, what: str, value: int) -> int:
    probe.ran.append(what)
    if len(probe.ran) == 3:
        probe.entered.set()
    return value


class _Probe:
    """What ran, and a gate the first step body waits on."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()
        self.ran: list[str] = []


def _workflow(probe: _Probe) -> Any:
    async def first() -> str:
        probe.ran.append("first")
        probe.entered.set()
        await probe.gate.wait()
        probe.ran.append("first-done")
        return "a"

    async def background() -> None:
        while True:
            await asyncio.sleep(0)
            probe.ran.append("background") if "cancelled" in probe.ran else None

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        asyncio.get_running_loop().create_task(background())
        a = await ctx.step(first, name="first")
        b = await ctx.step(lambda: probe.ran.append("second") or "b", name="second")
        return a + b

    return handler


async def test_cancelling_the_invocation_stops_every_task_and_sends_nothing_after() -> None:
    probe = _Probe()
    handler = _workflow(probe)
    backend = MemoryBackend()
    event = backend.start_execution({})
    baseline = asyncio.all_tasks()
    invocation = asyncio.ensure_future(handler.invoke_output(event, backend=backend))
    await probe.entered.wait()
    await _hops()
    calls = backend.stats.checkpoint_calls
    invocation.cancel()
    with pytest.raises(asyncio.CancelledError):
        await invocation
    probe.ran.append("cancelled")
    probe.gate.set()  # what the body waited for arrives after all
    await _hops()
    assert probe.ran == ["first", "cancelled"]
    assert backend.stats.checkpoint_calls == calls
    assert asyncio.all_tasks() == baseline


async def test_cancelling_while_the_batcher_waits_on_the_service_leaves_no_task() -> None:
    probe = _Probe()
    backend = MemoryBackend()
    backend.latency = 0.001

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> int:
        total = 0
        for i in range(1000):
            total += await ctx.step(lambda i=i: _note(probe, f"s{i}", i), name=f"s{i}")
        return total

    event = backend.start_execution({})
    baseline = asyncio.all_tasks()
    invocation = asyncio.ensure_future(handler.invoke_output(event, backend=backend))
    await probe.entered.wait()
    invocation.cancel()
    with pytest.raises(asyncio.CancelledError):
        await invocation
    ran = len(probe.ran)
    calls = backend.stats.checkpoint_calls
    await asyncio.sleep(0.02)
    assert len(probe.ran) == ran
    assert backend.stats.checkpoint_calls == calls
    assert asyncio.all_tasks() == baseline


async def test_a_finished_invocation_leaves_no_background_task_running() -> None:
    started: list[asyncio.Task[Any]] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        started.append(asyncio.get_running_loop().create_task(asyncio.sleep(3600)))
        return await ctx.step(lambda: "done", name="only")

    result = await LocalRunner(handler).run({})
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == "done"
    assert started
    assert all(t.cancelled() for t in started)


async def test_a_handler_raising_cancelled_error_fails_instead_of_suspending() -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        helper = asyncio.get_running_loop().create_task(asyncio.sleep(10))
        await ctx.step(lambda: 1, name="one")
        helper.cancel()
        await helper  # raises CancelledError, though the handler itself was not cancelled
        return "unreachable"

    for always_replay in (False, True):
        result = await LocalRunner(handler, always_replay=always_replay).run({})
        assert result.status is InvocationStatus.FAILED
        assert result.error is not None
        assert result.error.error_type == "UnexpectedCancellationError"
        assert "CancelledError" in (result.error.error_message or "")


async def test_a_step_body_raising_cancelled_error_fails_that_step() -> None:
    attempts: list[int] = []

    async def body() -> str:
        attempts.append(1)
        inner = asyncio.get_running_loop().create_task(asyncio.sleep(10))
        await asyncio.sleep(0)
        inner.cancel()
        await inner
        return "unreachable"

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        from durable_async import RetryPolicy

        try:
            await ctx.step(body, name="flaky", retry=RetryPolicy.none())
        except StepError as err:
            return f"caught {err.error_type}"
        return "no error"

    result = await LocalRunner(handler).run({})
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == "caught UnexpectedCancellationError"
    assert attempts == [1]
    step = result.operation("flaky")
    assert step.step_details is not None
    assert step.step_details.error is not None
    assert step.step_details.error.error_type == "UnexpectedCancellationError"


async def test_unexpected_cancellation_error_is_an_ordinary_exception() -> None:
    err = UnexpectedCancellationError("x")
    assert isinstance(err, Exception)
    assert not isinstance(err, asyncio.CancelledError)


async def test_a_task_created_as_the_invocation_ends_leaves_no_coroutine_unawaited() -> None:
    # Libraries such as anyio run a task's coroutine inside a wrapper coroutine. Cancelled before
    # its first step, the wrapper never awaits the coroutine it was given, which Python reports
    # as "never awaited". The runtime lets such a task start (up to its first await), as anyio's
    # own cancellation does, and then cancels it.
    import gc
    import warnings

    async def inner() -> None:
        await asyncio.sleep(3600)

    async def wrapper(coro: Any) -> None:
        await coro

    made: list[asyncio.Task[None]] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        await ctx.step(lambda: None, name="first")
        loop = asyncio.get_running_loop()

        def create() -> None:
            made.append(loop.create_task(wrapper(inner())))

        # Two hops from now, just before the runtime resumes to end the invocation: the new
        # task is still waiting for its first step when the runtime cleans up.
        loop.call_soon(loop.call_soon, create)
        return "done"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = await LocalRunner(handler).run(None)
        gc.collect()
    assert result.result == "done"
    assert made[0].cancelled()
    assert [str(w.message) for w in caught if "never awaited" in str(w.message)] == []
