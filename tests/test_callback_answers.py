"""LocalRunner never hangs on callbacks: scripted answers, an on_callback hook, and a clear
error naming the callbacks nothing answers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from durable_async import (
    CallbackError,
    CallbackTimeoutError,
    DurableContext,
    InvocationStatus,
    durable_execution,
)
from durable_async._models import Operation
from durable_async.testing import CallbackAnswer, CallbacksPendingError, LocalRunner

pytestmark = pytest.mark.anyio


@durable_execution
async def approval(event: Any, ctx: DurableContext) -> str:
    try:
        decision = await ctx.wait_for_callback(lambda cid: None, name="approval", timeout=3600)
    except CallbackTimeoutError:
        return "timed out"
    except CallbackError as exc:
        return f"rejected: {exc.error_message}"
    return f"approved by {decision['by']}"


@durable_execution
async def two(event: Any, ctx: DurableContext) -> list[Any]:
    first = await ctx.create_callback(name="first", timeout=60)
    second = await ctx.create_callback(name="second")
    return [await first, await second]


async def test_run_raises_naming_the_callbacks_nothing_answers() -> None:
    with pytest.raises(CallbacksPendingError) as raised:
        await asyncio.wait_for(LocalRunner(two).run(), timeout=20)
    assert [op.name for op in raised.value.pending] == ["first", "second"]
    assert "waiting on 2 callback(s) nothing answers: first (callback id " in str(raised.value)
    assert "on_callback" in str(raised.value)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (CallbackAnswer.succeed({"by": "sam"}), "approved by sam"),
        (CallbackAnswer.fail("no budget"), "rejected: no budget"),
        (CallbackAnswer.time_out(), "timed out"),
    ],
)
async def test_scripted_answers_approve_reject_or_time_out(
    answer: CallbackAnswer, expected: str
) -> None:
    result = await LocalRunner(approval, on_callback=[answer]).run()
    assert result.status is InvocationStatus.SUCCEEDED, result.error
    assert result.result == expected


async def test_scripted_answers_go_to_callbacks_in_the_order_they_started() -> None:
    answers = [CallbackAnswer.succeed(1), CallbackAnswer.succeed(2)]
    result = await LocalRunner(two, on_callback=answers).run()
    assert result.result == [1, 2]


async def test_running_out_of_scripted_answers_names_the_next_callback() -> None:
    with pytest.raises(CallbacksPendingError) as raised:
        await LocalRunner(two, on_callback=[CallbackAnswer.succeed(1)]).run()
    assert [op.name for op in raised.value.pending] == ["second"]


async def test_a_hook_sees_each_callback_and_may_leave_one_unanswered() -> None:
    seen: list[str | None] = []

    async def hook(op: Operation) -> CallbackAnswer | None:
        seen.append(op.name)
        return CallbackAnswer.succeed(op.name) if op.name == "first" else None

    with pytest.raises(CallbacksPendingError):
        await LocalRunner(two, on_callback=hook).run()
    assert seen == ["first", "second", "second"]  # asked again after the next invocation


async def test_a_callback_with_no_timeout_cannot_be_timed_out() -> None:
    answers = [CallbackAnswer.succeed(1), CallbackAnswer.time_out()]
    with pytest.raises(CallbacksPendingError) as raised:
        await LocalRunner(two, on_callback=answers).run()
    assert raised.value.reason == "It cannot be made to time out: it has no timeout"


async def test_a_hook_returning_something_else_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="not a CallbackAnswer"):
        await LocalRunner(approval, on_callback=lambda op: "yes").run()


async def test_start_waits_for_the_handle_and_can_be_told_not_to() -> None:
    runner = LocalRunner(approval)
    running = runner.start()
    callback_id = await running.callback_id("approval")
    running.send_callback_success(callback_id, {"by": "kim"})
    assert (await running.result()).result == "approved by kim"
    with pytest.raises(CallbacksPendingError):
        await LocalRunner(approval).start(wait_for_answers=False).result()


async def test_a_chained_targets_callbacks_are_answered_by_the_same_hook() -> None:
    @durable_execution
    async def parent(event: Any, ctx: DurableContext) -> Any:
        return await ctx.invoke("approver", None)

    runner = LocalRunner(parent, on_callback=[CallbackAnswer.succeed({"by": "lee"})])
    runner.register("approver", approval)
    result = await runner.run()
    assert result.result == "approved by lee"

    unanswered = LocalRunner(parent)
    unanswered.register("approver", approval)
    with pytest.raises(CallbacksPendingError):
        await asyncio.wait_for(unanswered.run(), timeout=20)


async def test_callback_grace_still_lets_callbacks_time_out() -> None:
    result = await LocalRunner(approval, callback_grace=0).run()
    assert result.result == "timed out"
