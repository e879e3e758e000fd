from __future__ import annotations

import asyncio
import functools
import threading
from collections import Counter

import pytest
from pydantic import BaseModel

from durable_async import (
    DurableCallInStepError,
    DurableContext,
    InvocationStatus,
    OperationStatus,
    RetryDecision,
    RetryPolicy,
    StepError,
    StepSemantics,
    durable_execution,
)
from durable_async.testing import LocalRunner, MemoryBackend

pytestmark = pytest.mark.anyio


async def test_async_and_sync_steps_return_their_results() -> None:
    loop_thread = threading.get_ident()
    seen: dict[str, int] = {}

    async def double(x: int) -> int:
        seen["async"] = threading.get_ident()
        return x * 2

    def triple(x: int) -> int:
        seen["sync"] = threading.get_ident()
        return x * 3

    @durable_execution
    async def handler(event: int, ctx: DurableContext) -> list[int]:
        return [await ctx.step(double, event), await ctx.step(triple, event)]

    result = await LocalRunner(handler).run(7)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == [14, 21]
    assert seen["async"] == loop_thread
    assert seen["sync"] != loop_thread  # sync bodies never block the loop
    assert [op.name for op in result.operations[1:]] == ["double", "triple"]


async def test_step_name_defaults_to_function_name_and_lambdas_have_none() -> None:
    def named() -> int:
        return 1

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> int:
        a = await ctx.step(named)
        b = await ctx.step(lambda: 2)
        c = await ctx.step(functools.partial(named), name="explicit")
        return a + b + c

    result = await LocalRunner(handler).run()
    assert [op.name for op in result.operations[1:]] == ["named", None, "explicit"]


async def test_failing_step_is_retried_by_policy_until_it_succeeds() -> None:
    calls = Counter[str]()

    def flaky() -> str:
        calls["flaky"] += 1
        if calls["flaky"] < 3:
            raise ConnectionError(f"attempt {calls['flaky']} failed")
        return "ok"

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        return await ctx.step(flaky, retry=RetryPolicy.fixed(5, 7))

    result = await LocalRunner(handler).run()
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == "ok"
    assert calls["flaky"] == 3
    assert result.invocations == 3  # each retry delay suspends the invocation
    step = result.operation("flaky")
    assert step.step_details is not None
    assert step.step_details.attempt == 2
    kinds = [
        (e["EventType"], e.get("StepFailedDetails", {}).get("RetryDetails"))
        for e in result.history
        if e["EventType"].startswith("Step")
    ]
    assert kinds[1] == ("StepFailed", {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 7})
    assert kinds[-1][0] == "StepSucceeded"


async def test_exhausted_retries_raise_the_same_step_error_on_first_run_and_replay() -> None:
    caught: list[tuple[str, str, bool]] = []

    def broken() -> None:
        raise ValueError("bad sku")

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        try:
            await ctx.step(broken, retry=RetryPolicy.none())
        except StepError as exc:
            caught.append((exc.error_type, exc.error_message, ctx.replaying))
        await ctx.wait(1)  # forces a replay of the failed step
        return "handled"

    result = await LocalRunner(handler).run()
    assert result.result == "handled"
    assert caught == [("ValueError", "bad sku", False), ("ValueError", "bad sku", True)]


async def test_unhandled_step_error_fails_the_execution_with_its_message() -> None:
    def broken() -> None:
        raise KeyError("missing")

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> None:
        await ctx.step(broken, retry=RetryPolicy.none())

    result = await LocalRunner(handler).run()
    assert result.status is InvocationStatus.FAILED
    assert result.error is not None
    assert result.error.error_type == "StepError"
    assert result.error.error_message == "'missing'"
    assert result.error.error_data == "KeyError"


async def test_custom_retry_strategy_function_is_used() -> None:
    attempts: list[int] = []

    def strategy(error: BaseException, attempt: int) -> RetryDecision:
        attempts.append(attempt)
        return RetryDecision.after(2) if attempt < 2 else RetryDecision.stop()

    def broken() -> None:
        raise RuntimeError("no")

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> None:
        await ctx.step(broken, retry=strategy)

    result = await LocalRunner(handler).run()
    assert result.status is InvocationStatus.FAILED
    assert attempts == [1, 2]


class Order(BaseModel):
    id: str
    total: int


async def test_pydantic_result_type_round_trips_on_first_run_and_replay() -> None:
    got: list[object] = []

    async def load() -> Order:
        return Order(id="o-1", total=3)

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> int:
        order = await ctx.step(load, result_type=Order)
        got.append(order)
        await ctx.wait(1)
        return order.total

    result = await LocalRunner(handler).run()
    assert result.result == 3
    assert got == [Order(id="o-1", total=3)] * 2
    assert result.operation("load").step_details.result == '{"id":"o-1","total":3}'  # type: ignore[union-attr]


async def test_first_run_returns_the_round_tripped_value() -> None:
    async def pair() -> tuple[int, int]:
        return (1, 2)

    seen: list[object] = []

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> None:
        seen.append(await ctx.step(pair))

    await LocalRunner(handler).run()
    assert seen == [(1, 2)]  # a tuple again, exactly what replay gives (and not the object)


async def test_durable_call_inside_a_step_body_is_a_clear_error() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        async def nested() -> None:
            await ctx.wait(1)

        try:
            await ctx.step(nested, name="outer")  # the default policy would retry 6 times
        except StepError as exc:
            return exc.error_type + ": " + exc.error_message
        return "no error"

    result = await LocalRunner(handler).run()
    assert result.result.startswith("DurableCallInStepError")
    assert "'outer'" in result.result
    assert result.invocations == 1  # a programming error is never retried
    assert result.operation("outer").step_details.attempt == 0  # type: ignore[union-attr]


async def test_durable_call_inside_a_sync_step_body_in_a_thread_is_rejected_too() -> None:
    errors: list[BaseException] = []

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> None:
        def body() -> None:
            try:
                ctx.step(lambda: 1)
            except DurableCallInStepError as exc:
                errors.append(exc)

        await ctx.step(body)

    await LocalRunner(handler).run()
    assert len(errors) == 1


@pytest.mark.parametrize(
    ("semantics", "reruns"),
    [(StepSemantics.AT_LEAST_ONCE_PER_RETRY, True), (StepSemantics.AT_MOST_ONCE_PER_RETRY, False)],
)
async def test_step_found_started_on_replay(semantics: StepSemantics, reruns: bool) -> None:
    runs = Counter[str]()
    release = asyncio.Event()

    async def charge() -> str:
        runs["charge"] += 1
        if runs["charge"] == 1:
            await release.wait()  # the first invocation dies inside the body
        return "charged"

    @durable_execution(checkpoint_window=0)
    async def handler(event: None, ctx: DurableContext) -> str:
        try:
            return await ctx.step(charge, semantics=semantics, retry=RetryPolicy.fixed(2, 1))
        except StepError as exc:
            return f"gave up: {exc.error_type}"

    backend = MemoryBackend()
    event = backend.start_execution(None)
    arn = event.durable_execution_arn
    first = asyncio.create_task(handler.invoke_output(event, backend=backend))
    for _ in range(20):  # let START reach the service
        await asyncio.sleep(0)
    first.cancel()  # the invocation is lost mid-body
    with pytest.raises(asyncio.CancelledError):
        await first
    assert backend.operations(arn)[1].status is OperationStatus.STARTED
    release.set()
    output = await handler.invoke_output(backend.invocation_event(arn), backend=backend)
    while output.status is InvocationStatus.PENDING:
        backend.clock.advance(1)  # type: ignore[attr-defined]
        output = await handler.invoke_output(backend.invocation_event(arn), backend=backend)
    assert output.status is InvocationStatus.SUCCEEDED
    if reruns:
        assert output.result == '"charged"'
        assert runs["charge"] == 2
    else:
        # The interrupted attempt counts as failed; the retry policy allows one more attempt.
        step = backend.operations(arn)[1]
        assert step.step_details is not None
        assert step.step_details.attempt == 1
        assert output.result == '"charged"'
        assert runs["charge"] == 2
        failed = [e for e in backend.history(arn) if e["EventType"] == "StepFailed"]
        assert failed[0]["StepFailedDetails"]["Error"]["Payload"]["ErrorType"] == (
            "StepInterruptedError"
        )
