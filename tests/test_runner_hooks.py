"""`LocalRunner`'s extension points: `around`, `max_failed_invocations`, `next_event`, and when a
chained-invoke target starts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from durable_async import (
    BackendUnavailableError,
    DurableContext,
    InvocationStatus,
    InvokeError,
    MemoryBackend,
    durable_execution,
)
from durable_async.testing import (
    Fault,
    FaultyBackend,
    FunctionError,
    Invocation,
    LocalRunner,
    ManualClock,
    SkipToNextEvent,
)

pytestmark = pytest.mark.anyio

Call = Callable[[], Awaitable[Any]]
CRASH = "Runtime.ExitError"


def _completions(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `InvocationCompletedDetails` of every invocation, in order."""
    return [
        e["InvocationCompletedDetails"] for e in history if e["EventType"] == "InvocationCompleted"
    ]


def _errors(history: list[dict[str, Any]]) -> list[str | None]:
    """The error type each recorded invocation ended with (`None`: it returned an output)."""
    return [
        d["Error"]["Payload"].get("ErrorType") if "Error" in d else None
        for d in _completions(history)
    ]


@durable_execution
async def two_steps(event: None, ctx: DurableContext) -> list[str]:
    first: str = await ctx.step(lambda: "a", name="first")
    await ctx.wait(60)
    second: str = await ctx.step(lambda: "b", name="second")
    return [first, second]


# -- around -------------------------------------------------------------------------------------


async def test_around_runs_every_invocation_of_the_handler_and_of_each_target() -> None:
    @durable_execution
    async def doubler(event: int, ctx: DurableContext) -> int:
        await ctx.wait(10)
        return event * 2

    def plus_one(payload: int) -> int:
        return payload + 1

    @durable_execution
    async def caller(event: None, ctx: DurableContext) -> list[int]:
        doubled: int = await ctx.invoke("doubler", 20, name="double")
        added: int = await ctx.invoke("plus-one", doubled, name="add")
        return [doubled, added]

    seen: list[Invocation] = []

    async def around(invocation: Invocation, call: Call) -> Any:
        seen.append(invocation)
        return await call()

    runner = LocalRunner(caller, around=around)
    runner.register("doubler", doubler)
    runner.register("plus-one", plus_one)
    result = await runner.run()

    assert result.result == [40, 41]
    mine = [i for i in seen if i.execution_arn == result.execution_arn]
    assert len(mine) == result.invocations == 3  # suspended on each invoke
    assert {(i.function, i.durable) for i in mine} == {("caller", True)}
    child = [i for i in seen if i.function == "doubler"]
    assert len(child) == 2  # the target suspended on its wait, then ended
    assert all(i.durable and i.execution_arn not in (None, result.execution_arn) for i in child)
    plain = [i for i in seen if i.function == "plus-one"]
    assert [(i.payload, i.durable, i.execution_arn) for i in plain] == [(40, False, None)]
    assert len(seen) == 6


async def test_a_function_error_is_recorded_as_a_failed_invocation_and_invoked_again() -> None:
    ran: list[str] = []
    crashed: list[bool] = []

    def step() -> str:
        ran.append("step")
        return "done"

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        await ctx.step(step, name="step")
        await ctx.wait(5)
        return "ok"

    async def crash_once(invocation: Invocation, call: Call) -> Any:
        output = await call()  # the step is checkpointed, then the process dies
        if not crashed:
            crashed.append(True)
            raise FunctionError(CRASH, "Runtime exited with error: exit status 1")
        return output

    result = await LocalRunner(handler, around=crash_once).run()

    assert result.status is InvocationStatus.SUCCEEDED
    assert result.failed_invocations == 1
    assert result.invocations == 3  # the crashed one, the one that suspends on the wait, the last
    assert ran == ["step"]  # what the crashed invocation checkpointed stayed
    assert _errors(result.history) == [CRASH, None, None]
    failed = _completions(result.history)[0]
    assert failed["Error"]["Payload"]["ErrorMessage"] == "Runtime exited with error: exit status 1"
    assert len({d["RequestId"] for d in _completions(result.history)}) == 3
    assert result.operation("step").status.value == "SUCCEEDED"


async def test_a_function_error_from_a_plain_target_fails_the_invoke() -> None:
    @durable_execution
    async def caller(event: None, ctx: DurableContext) -> str:
        try:
            await ctx.invoke("fragile", None, name="call")
        except InvokeError as exc:
            return f"{exc.error_type}: {exc.error_message}"
        return "no error"

    async def crash_targets(invocation: Invocation, call: Call) -> Any:
        if not invocation.durable:
            raise FunctionError(CRASH, "exit status 1")
        return await call()

    runner = LocalRunner(caller, around=crash_targets)
    runner.register("fragile", lambda payload: "fine")
    result = await runner.run()
    assert result.result == f"{CRASH}: exit status 1"
    assert result.failed_invocations == 0  # the caller's own invocations did not fail


async def test_around_must_return_what_call_returned() -> None:
    async def swallow(invocation: Invocation, call: Call) -> Any:
        await call()
        return {"Status": "SUCCEEDED"}

    with pytest.raises(TypeError, match="not what call"):
        await LocalRunner(two_steps, around=swallow).run()


# -- max_failed_invocations ---------------------------------------------------------------------


async def test_max_failed_invocations_fails_the_execution_with_the_last_error() -> None:
    count = 0

    async def always_crash(invocation: Invocation, call: Call) -> Any:
        nonlocal count
        count += 1
        raise FunctionError(CRASH, f"crash {count}")

    runner = LocalRunner(two_steps, around=always_crash, max_failed_invocations=3)
    result = await runner.run()

    assert result.status is InvocationStatus.FAILED
    assert result.error is not None
    assert (result.error.error_type, result.error.error_message) == (CRASH, "crash 3")
    assert result.invocations == result.failed_invocations == 3
    assert _errors(result.history) == [CRASH, CRASH, CRASH]
    assert [e["EventType"] for e in result.history[-2:]] == [
        "InvocationCompleted",
        "ExecutionFailed",
    ]
    summary = runner.backend.get_execution(result.execution_arn)
    assert summary["Status"] == "FAILED"
    assert summary["Error"]["ErrorMessage"] == "crash 3"


async def test_max_failed_invocations_counts_failures_in_a_row_only() -> None:
    invocations = 0

    async def crash_every_other(invocation: Invocation, call: Call) -> Any:
        nonlocal invocations
        invocations += 1
        output = await call()
        if invocations % 2:
            raise FunctionError(CRASH, "exit status 1")
        return output

    runner = LocalRunner(two_steps, around=crash_every_other, max_failed_invocations=2)
    result = await runner.run()
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == ["a", "b"]
    assert result.failed_invocations == 2
    assert _errors(result.history) == [CRASH, None, CRASH, None]


async def test_retried_errors_are_recorded_in_the_history_but_a_simulated_end_is_not() -> None:
    faulty = FaultyBackend(MemoryBackend())
    faulty.inject(Fault.transient(), at=1)
    result = await LocalRunner(two_steps, backend=faulty).run()
    assert result.result == ["a", "b"]
    assert result.failed_invocations == 1
    assert _errors(result.history)[0] == BackendUnavailableError.__name__
    assert _errors(result.history)[1:] == [None] * (result.invocations - 1)

    replayed = await LocalRunner(two_steps, always_replay=True).run()
    assert replayed.failed_invocations == 0
    assert set(_errors(replayed.history)) == {None}
    assert len(_completions(replayed.history)) < replayed.invocations  # ends not recorded


async def test_max_failed_invocations_applies_to_retried_errors_too() -> None:
    faulty = FaultyBackend(MemoryBackend())
    faulty.inject(Fault.transient())  # every checkpoint
    result = await LocalRunner(two_steps, backend=faulty, max_failed_invocations=2).run()
    assert result.status is InvocationStatus.FAILED
    assert result.error is not None
    assert result.error.error_type == BackendUnavailableError.__name__
    assert result.invocations == 2


# -- next_event ---------------------------------------------------------------------------------


async def test_a_custom_next_event_policy_decides_when_to_invoke_again() -> None:
    clock = ManualClock(start=1000.0)
    backend = MemoryBackend(clock=clock)
    asked: list[tuple[str, float]] = []

    async def overshoot(memory: MemoryBackend, arn: str) -> None:
        assert memory is backend
        wake = memory.next_wake_time(arn)
        assert wake is not None
        asked.append((arn, wake))
        clock.advance_to(wake + 3600)  # an hour late

    result = await LocalRunner(two_steps, backend=backend, next_event=overshoot).run()
    assert result.result == ["a", "b"]
    assert asked == [(result.execution_arn, 1060.0)]
    assert clock.now() == 1060.0 + 3600


async def test_the_default_policy_is_skip_to_next_event_with_the_callback_grace() -> None:
    runner = LocalRunner(two_steps, callback_grace=0.5)
    assert isinstance(runner.next_event, SkipToNextEvent)
    assert runner.next_event.callback_grace == 0.5
    with pytest.raises(ValueError, match="callback_grace"):
        LocalRunner(two_steps, callback_grace=0.5, next_event=SkipToNextEvent())
    with pytest.raises(ValueError, match="max_failed_invocations"):
        LocalRunner(two_steps, max_failed_invocations=0)


async def test_a_durable_target_runs_with_the_callers_hooks() -> None:
    @durable_execution
    async def waiter(event: None, ctx: DurableContext) -> str:
        await ctx.wait(30)
        return "waited"

    @durable_execution
    async def caller(event: None, ctx: DurableContext) -> str:
        result: str = await ctx.invoke("waiter", None, name="call")
        return result

    asked: list[str] = []

    async def policy(backend: MemoryBackend, arn: str) -> None:
        asked.append(arn)
        await SkipToNextEvent()(backend, arn)

    runner = LocalRunner(caller, next_event=policy)
    runner.register("waiter", waiter)
    result = await runner.run()
    assert result.result == "waited"
    # The caller waited for the invoke's result; the target skipped its wait: both asked.
    assert result.execution_arn in asked
    assert len(set(asked)) == 2


# -- when a chained-invoke target starts --------------------------------------------------------


async def test_a_target_starts_only_once_the_invocation_that_invoked_it_has_ended() -> None:
    seen_by_target: list[list[str]] = []

    @durable_execution
    async def caller(event: None, ctx: DurableContext) -> list[Any]:
        async def busy() -> str:
            for _ in range(50):  # the invocation keeps running after the invoke has started
                await asyncio.sleep(0)
            return "busy"

        return list(
            await asyncio.gather(ctx.invoke("target", 1, name="call"), ctx.step(busy, name="busy"))
        )

    def target(payload: int) -> int:
        history = runner.backend.history(running.execution_arn)
        seen_by_target.append([e["EventType"] for e in history])
        return payload + 1

    runner = LocalRunner(caller)
    runner.register("target", target)
    running = runner.start()
    result = await running.result()

    assert result.result == [2, "busy"]
    assert result.invocations == 2  # the caller suspended on the invoke
    (history,) = seen_by_target
    assert history[-1] == "InvocationCompleted"
    kinds = [e["EventType"] for e in result.history]
    assert kinds.index("InvocationCompleted") < kinds.index("ChainedInvokeSucceeded")


async def test_a_durable_target_starts_only_once_its_callers_invocation_has_ended() -> None:
    events: list[tuple[str, str]] = []

    @durable_execution
    async def target(event: int, ctx: DurableContext) -> int:
        return event + 1

    @durable_execution
    async def caller(event: None, ctx: DurableContext) -> list[Any]:
        async def busy() -> str:
            for _ in range(50):
                await asyncio.sleep(0)
            return "busy"

        return list(
            await asyncio.gather(ctx.invoke("target", 1, name="call"), ctx.step(busy, name="busy"))
        )

    async def around(invocation: Invocation, call: Call) -> Any:
        events.append(("start", invocation.function))
        try:
            return await call()
        finally:
            events.append(("end", invocation.function))

    runner = LocalRunner(caller, around=around)
    runner.register("target", target)
    result = await runner.run()
    assert result.result == [2, "busy"]
    assert events == [
        ("start", "caller"),
        ("end", "caller"),
        ("start", "target"),
        ("end", "target"),
        ("start", "caller"),
        ("end", "caller"),
    ]
