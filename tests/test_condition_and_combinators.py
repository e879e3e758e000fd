"""wait_for_condition, the durable combinators, and replay-safe values."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections import Counter

import pytest

from durable_async import (
    AllOperationsFailedError,
    DurableContext,
    InvocationStatus,
    RetryPolicy,
    StepError,
    WaitDecision,
    WaitForConditionError,
    WaitStrategy,
    durable_execution,
)
from durable_async.testing import LocalRunner, ManualClock, MemoryBackend

pytestmark = pytest.mark.anyio


async def test_wait_for_condition_carries_state_between_checks_durably() -> None:
    checks = Counter[str]()

    def poll(state: dict[str, int]) -> dict[str, int]:
        checks["poll"] += 1
        return {"count": state["count"] + 1}

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> object:
        return await ctx.wait_for_condition(
            poll,
            initial_state={"count": 0},
            name="poll",
            wait_strategy=WaitStrategy(until=lambda s: s["count"] >= 3, initial_delay=10),
        )

    result = await LocalRunner(handler).run()
    assert result.result == {"count": 3}
    assert checks["poll"] == 3  # each check ran once, across three invocations
    assert result.invocations == 3
    op = result.operation("poll")
    assert op.sub_type == "WaitForCondition"
    # a poll that keeps going is a RETRY without error: StepSucceeded carrying the new state
    retries = [
        e["StepSucceededDetails"]["RetryDetails"]
        for e in result.history
        if e["EventType"] == "StepSucceeded"
        and "NextAttemptDelaySeconds" in e["StepSucceededDetails"]["RetryDetails"]
    ]
    assert retries == [
        {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 10},
        {"CurrentAttempt": 2, "NextAttemptDelaySeconds": 15},
    ]


async def test_wait_for_condition_gives_up_after_max_attempts() -> None:
    def never(state: int) -> int:
        return state

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        try:
            await ctx.wait_for_condition(
                never,
                initial_state=0,
                wait_strategy=lambda s, attempt: WaitDecision(False, 1),
                max_attempts=4,
            )
        except WaitForConditionError as exc:
            return exc.error_message
        return "met"

    result = await LocalRunner(handler).run()
    assert result.result == "condition not met after 4 checks"


async def test_race_records_its_winner_so_replay_returns_the_same_one() -> None:
    clock = ManualClock(start=0.0)
    gate = asyncio.Event()

    async def slow() -> str:
        await gate.wait()
        return "slow"

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> object:
        winner = await ctx.race(ctx.step(slow), ctx.step(lambda: "fast", name="fast"), name="race")
        await ctx.wait(5)
        return winner

    run = LocalRunner(handler, backend=MemoryBackend(clock=clock)).start()
    result = await run.result()
    gate.set()
    assert result.result == "fast"
    race = result.operation("race")
    assert race.step_details is not None
    assert race.step_details.result == "1"


async def test_any_skips_failures_and_all_failed_raises() -> None:
    def boom() -> None:
        raise RuntimeError("boom")

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> object:
        first = await ctx.any(
            ctx.step(boom, retry=RetryPolicy.none()), ctx.step(lambda: "ok", name="ok")
        )
        try:
            await ctx.any(
                ctx.step(boom, name="b1", retry=RetryPolicy.none()),
                ctx.step(boom, name="b2", retry=RetryPolicy.none()),
            )
        except AllOperationsFailedError as exc:
            return [first, len(exc.errors)]
        return [first, 0]

    assert (await LocalRunner(handler).run()).result == ["ok", 2]


async def test_all_and_all_settled() -> None:
    def boom() -> None:
        raise RuntimeError("boom")

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> object:
        values = await ctx.all(
            ctx.step(lambda: 1, name="a"), ctx.wait(3), ctx.step(lambda: 2, name="b")
        )
        settled = await ctx.all_settled(
            ctx.step(boom, retry=RetryPolicy.none()), ctx.step(lambda: 3, name="c")
        )
        try:
            await ctx.all(ctx.step(boom, name="d", retry=RetryPolicy.none()))
        except StepError:
            failed = True
        return [values, [s.ok for s in settled], settled[1].value, failed]

    result = await LocalRunner(handler).run()
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == [[1, None, 2], [False, True], 3, True]


async def test_random_uuid_and_now_are_identical_on_replay() -> None:
    seen: list[tuple[float, uuid.UUID, dt.datetime]] = []

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> None:
        values = (await ctx.random(), await ctx.uuid4(), await ctx.now())
        seen.append(values)
        await ctx.wait(1)

    clock = ManualClock(start=1_700_000_000.0)
    await LocalRunner(handler, backend=MemoryBackend(clock=clock)).run()
    assert len(seen) == 2
    assert seen[0] == seen[1]
    assert 0 <= seen[0][0] < 1
    assert isinstance(seen[0][1], uuid.UUID)
    assert seen[0][2] == dt.datetime.fromtimestamp(1_700_000_000, tz=dt.UTC)
