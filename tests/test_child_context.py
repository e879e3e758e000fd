"""Child contexts: nested ids, recorded results, failures and oversized results."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from durable_async import (
    ChildContextError,
    DurableContext,
    OperationStatus,
    OperationType,
    RetryPolicy,
    durable_execution,
)
from durable_async._ids import operation_id
from durable_async.testing.pytest_plugin import (
    DurableRunnerFactory,
    assert_failed,
    assert_operation,
    assert_ran_once,
    assert_succeeded,
    find_operation,
    operation_paths,
)

pytestmark = pytest.mark.anyio


async def test_child_operations_are_nested_under_the_context_and_replay_without_rerunning(
    durable_runner: DurableRunnerFactory,
) -> None:
    runs = Counter[str]()

    async def fetch(label: str) -> str:
        runs[label] += 1
        return label

    async def pair(child: DurableContext, prefix: str) -> str:
        a = await child.step(fetch, prefix + "a")
        b = await child.step(fetch, prefix + "b")
        return a + b

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        value = await ctx.run_in_child_context(pair, "x-")
        await ctx.wait(1)
        return value

    result = await durable_runner(handler).run()
    assert_succeeded(result, result="x-ax-b")
    assert runs == {"x-a": 1, "x-b": 1}  # the second invocation took the recorded result
    ctx_op = assert_operation(result, "pair", status=OperationStatus.SUCCEEDED, result="x-ax-b")
    assert ctx_op.type is OperationType.CONTEXT
    assert ctx_op.sub_type == "RunInChildContext"
    assert ctx_op.id == operation_id(None, 1)
    steps = result.operations_of(OperationType.STEP)
    assert [s.parent_id for s in steps] == [ctx_op.id, ctx_op.id]
    assert [s.id for s in steps] == [operation_id(ctx_op.id, 1), operation_id(ctx_op.id, 2)]
    paths = [path for path, _ in operation_paths(result)]
    assert paths == ["pair", "pair/fetch", "pair/fetch", "<Wait>"]
    for step, value in zip(steps, ["x-a", "x-b"], strict=True):
        assert_operation(result, step.id, status="SUCCEEDED", attempts=1, result=value)
        assert_ran_once(result, step.id)
    kinds = [e["EventType"] for e in result.history]
    assert kinds[1:6] == [
        "ContextStarted",
        "StepStarted",
        "StepSucceeded",
        "StepStarted",
        "StepSucceeded",
    ]
    assert kinds[6] == "ContextSucceeded"


@pytest.mark.durable_replay
async def test_a_wait_inside_a_child_suspends_and_the_child_resumes(
    durable_runner: DurableRunnerFactory,
) -> None:
    async def body(child: DurableContext) -> int:
        await child.wait(30)
        return await child.step(lambda: 7, name="after")

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[int]:
        return list(
            await asyncio.gather(
                ctx.run_in_child_context(body, name="c1"), ctx.run_in_child_context(body, name="c2")
            )
        )

    result = await durable_runner(handler).run()
    assert_succeeded(result, result=[7, 7])
    assert result.invocations == 2
    for child in ("c1", "c2"):
        assert_operation(result, child, status="SUCCEEDED", result=7)
        assert_operation(result, f"{child}/<Wait>", status="SUCCEEDED")
        assert_operation(result, f"{child}/after", status="SUCCEEDED", attempts=1, result=7)
        assert_ran_once(result, f"{child}/after")


async def test_a_failing_child_raises_the_same_error_on_first_run_and_replay(
    durable_runner: DurableRunnerFactory,
) -> None:
    seen: list[tuple[str, str]] = []

    async def body(child: DurableContext) -> None:
        raise LookupError("no such order")

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        try:
            await ctx.run_in_child_context(body, name="lookup")
        except ChildContextError as exc:
            seen.append((exc.error_type, exc.error_message))
        await ctx.wait(1)
        return "ok"

    result = await durable_runner(handler).run()
    assert_succeeded(result, result="ok")
    assert seen == [("LookupError", "no such order")] * 2
    assert_operation(result, "lookup", status="FAILED", error_type=LookupError)


@pytest.mark.durable_replay
async def test_a_step_error_inside_a_child_fails_the_child(
    durable_runner: DurableRunnerFactory,
) -> None:
    async def body(child: DurableContext) -> None:
        await child.step(lambda: 1 / 0, name="divide", retry=RetryPolicy.none())

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> None:
        await ctx.run_in_child_context(body, name="math")

    result = await durable_runner(handler).run()
    error = assert_failed(result, error_type=ChildContextError)
    # The execution's error keeps the recorded message; the inner type goes in ErrorData.
    assert error.error_message == "division by zero"
    assert error.error_data == "StepError"
    assert_operation(result, "math", status="FAILED", error_type="StepError")
    assert_operation(
        result, "math/divide", status="FAILED", attempts=1, error_type=ZeroDivisionError
    )


async def test_oversized_child_results_are_rebuilt_by_replaying_children(
    durable_runner: DurableRunnerFactory,
) -> None:
    runs = Counter[str]()

    def chunk(i: int) -> str:
        runs[f"chunk{i}"] += 1
        return str(i) * (100 * 1024)

    async def body(child: DurableContext) -> str:
        parts = [await child.step(chunk, i, name=f"chunk{i}") for i in range(3)]
        return "".join(parts)  # 300 KiB: over the 256 KiB payload limit

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> int:
        big = await ctx.run_in_child_context(body, name="big")
        await ctx.wait(1)
        return len(big)

    result = await durable_runner(handler).run()
    assert_succeeded(result, result=300 * 1024)
    ctx_op = find_operation(result, "big")
    assert ctx_op.context_details is not None
    assert ctx_op.context_details.replay_children is True
    assert ctx_op.context_details.result is None
    assert runs == {"chunk0": 1, "chunk1": 1, "chunk2": 1}  # rebuilt without new side effects
    for i in range(3):
        assert_ran_once(result, f"big/chunk{i}")
