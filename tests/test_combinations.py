"""Operations nested inside each other, run normally and replayed from every checkpoint."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from durable_async import (
    CompletionConfig,
    DurableContext,
    InvocationStatus,
    NonDeterministicExecutionError,
    RetryPolicy,
    WaitStrategy,
    durable_execution,
)
from durable_async.testing import LocalRunner

pytestmark = pytest.mark.anyio

side_effects: Counter[str] = Counter()


async def record(label: str) -> str:
    side_effects[label] += 1
    return label


@durable_execution
async def kitchen_sink(event: None, ctx: DurableContext) -> Any:
    async def item(child: DurableContext, n: int, index: int) -> Any:
        async def inner(grandchild: DurableContext) -> str:
            await grandchild.wait(5)
            return await grandchild.step(record, f"inner-{n}")

        return await child.run_in_child_context(inner, name=f"inner{n}")

    batch = await ctx.map([1, 2, 3], item, name="items", max_concurrency=2)

    def flaky() -> str:
        side_effects["flaky"] += 1
        if side_effects["flaky"] == 1:  # the first attempt of the whole run fails
            raise TimeoutError("try again")
        return "flaky-ok"

    async def branch_a(c: DurableContext) -> Any:
        return await c.invoke("adder", {"a": 1, "b": 2}, name="add")

    async def branch_b(c: DurableContext) -> Any:
        return await c.step(flaky, name="flaky", retry=RetryPolicy.fixed(3, 2))

    parallel = await ctx.parallel([branch_a, branch_b], name="both")
    polled = await ctx.wait_for_condition(
        lambda s: s + 1,
        initial_state=0,
        name="poll",
        wait_strategy=WaitStrategy(until=lambda s: s >= 2, initial_delay=3),
    )
    raced = await ctx.race(ctx.wait(100), ctx.step(record, "race"), name="race")
    return [batch.results(), parallel.results(), polled, raced]


def adder(payload: dict[str, int]) -> int:
    return payload["a"] + payload["b"]


async def test_nested_operations_give_the_same_result_however_often_they_replay() -> None:
    expected = [["inner-1", "inner-2", "inner-3"], [3, "flaky-ok"], 2, "race"]
    side_effects.clear()
    normal = LocalRunner(kitchen_sink)
    normal.register("adder", adder)
    first = await normal.run()
    assert first.status is InvocationStatus.SUCCEEDED, first.error
    assert first.result == expected
    calls = normal.backend.stats.checkpoint_calls

    side_effects.clear()
    replaying = LocalRunner(kitchen_sink, always_replay=True, max_invocations=500)
    replaying.register("adder", adder)
    again = await replaying.run()
    assert again.result == expected
    # Every invocation but the last ended right after one checkpoint: the handler replayed
    # from (at least) every point where a normal run talked to the service.
    assert again.invocations > calls
    # At least once: a body repeats only when its result never reached the service.
    assert all(n <= 2 for label, n in side_effects.items() if label != "flaky")


@pytest.mark.parametrize("always_replay", [False, True])
async def test_map_of_wait_for_callback(always_replay: bool) -> None:
    async def ask(child: DurableContext, who: str, index: int) -> Any:
        return await child.wait_for_callback(lambda cid: None, name=f"ask-{who}")

    @durable_execution
    async def handler(event: list[str], ctx: DurableContext) -> Any:
        batch = await ctx.map(event, ask, completion=CompletionConfig.all_completed())
        return batch.results()

    run = LocalRunner(handler, always_replay=always_replay).start(["ada", "bob"])
    for who in ("bob", "ada"):
        run.send_callback_success(await run.callback_id(f"ask-{who}"), f"yes from {who}")
    result = await run.result()
    assert result.result == ["yes from ada", "yes from bob"]


async def test_non_determinism_inside_a_map_item_fails_the_execution() -> None:
    flip = {"n": 0}

    async def item(child: DurableContext, value: int, index: int) -> Any:
        flip["n"] += 1
        if flip["n"] > 2 and index == 1:
            return await child.step(lambda: value, name="renamed")
        await child.wait(1)
        return await child.step(lambda: value, name="original")

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> Any:
        return (await ctx.map([1, 2], item)).results()

    result = await LocalRunner(handler).run()
    assert result.status is InvocationStatus.FAILED
    assert result.error is not None
    assert result.error.error_type == NonDeterministicExecutionError.__name__
    assert "history has 'WAIT', code has 'STEP'" in (result.error.error_message or "")


async def test_gathered_child_contexts_and_waits_keep_ids_under_replay() -> None:
    async def body(child: DurableContext, n: int) -> int:
        await asyncio.gather(child.wait(n), child.wait(n + 1))
        return await child.step(lambda: n * 10, name="tens")

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> Any:
        return list(
            await asyncio.gather(
                *(ctx.run_in_child_context(body, n, name=f"c{n}") for n in range(1, 4))
            )
        )

    normal = await LocalRunner(handler).run()
    replayed = await LocalRunner(handler, always_replay=True).run()
    assert normal.result == replayed.result == [10, 20, 30]
    assert [op.id for op in normal.operations[1:]] == [op.id for op in replayed.operations[1:]]
