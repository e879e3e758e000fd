"""Callbacks and wait_for_callback on the embedded backend."""

from __future__ import annotations

import asyncio

import pytest

from durable_async import (
    CallbackError,
    CallbackSubmitterError,
    CallbackTimeoutError,
    DurableContext,
    InvocationStatus,
    OperationType,
    durable_execution,
)
from durable_async.testing import LocalRunner, ManualClock, MemoryBackend

pytestmark = pytest.mark.anyio


@durable_execution
async def approval(event: None, ctx: DurableContext) -> str:
    callback = await ctx.create_callback(name="approval", timeout=3600, heartbeat_timeout=600)
    try:
        decision = await callback
    except CallbackTimeoutError as exc:
        return f"timed out: {exc.error_type}"
    except CallbackError as exc:
        return f"rejected: {exc.error_type}: {exc.error_message}"
    return f"approved by {decision['by']}"


async def test_a_callback_suspends_until_its_result_arrives() -> None:
    runner = LocalRunner(approval)
    run = runner.start()
    callback_id = await run.callback_id("approval")
    run.send_callback_success(callback_id, {"by": "ada"})
    result = await run.result()
    assert result.result == "approved by ada"
    assert result.invocations == 2
    op = result.operation("approval")
    assert op.type is OperationType.CALLBACK
    assert op.callback_details is not None
    assert op.callback_details.callback_id == callback_id
    started = next(e for e in result.history if e["EventType"] == "CallbackStarted")
    assert started["CallbackStartedDetails"] == {
        "CallbackId": callback_id,
        "Timeout": 3600,
        "HeartbeatTimeout": 600,
    }
    assert any(e["EventType"] == "CallbackSucceeded" for e in result.history)


async def test_a_failed_callback_raises_the_senders_error() -> None:
    run = LocalRunner(approval).start()
    run.send_callback_failure(await run.callback_id(), "Rejected", "budget exceeded")
    result = await run.result()
    assert result.result == "rejected: Rejected: budget exceeded"


@pytest.mark.parametrize(("beats", "kind"), [(0, "Callback.Heartbeat"), (20, "Callback.Timeout")])
async def test_callback_timeouts_on_the_skipped_clock(beats: int, kind: str) -> None:
    clock = ManualClock(start=0.0)
    run = LocalRunner(approval, backend=MemoryBackend(clock=clock)).start()
    callback_id = await run.callback_id()
    for _ in range(beats):  # heartbeats every 5 minutes keep the 10-minute heartbeat alive
        clock.advance(300)
        run.send_callback_heartbeat(callback_id)
    clock.advance(3600)
    result = await run.result()
    assert result.result == f"timed out: {kind}"
    assert any(e["EventType"] == "CallbackTimedOut" for e in result.history)


async def test_a_callback_sent_while_the_invocation_runs_is_not_lost() -> None:
    backend = MemoryBackend()
    gate = asyncio.Event()

    async def slow() -> None:
        await gate.wait()

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> object:
        callback = await ctx.create_callback(name="cb")
        results = await asyncio.gather(callback, ctx.step(slow))
        return results[0]

    run = LocalRunner(handler, backend=backend).start()
    run.send_callback_success(await run.callback_id("cb"), "early")
    gate.set()
    result = await run.result()
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == "early"


async def test_wait_for_callback_hands_the_id_to_the_submitter() -> None:
    sent: list[str] = []

    async def submit(callback_id: str) -> None:
        sent.append(callback_id)

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> object:
        return await ctx.wait_for_callback(submit, name="external", timeout=60)

    run = LocalRunner(handler).start()
    callback_id = await run.callback_id("external")
    run.send_callback_success(callback_id, [1, 2])
    result = await run.result()
    assert result.result == [1, 2]
    assert sent == [callback_id]  # the submitter ran once, not again on replay
    subs = [(op.type.value, op.sub_type) for op in result.operations[1:]]
    assert subs == [("CONTEXT", "WaitForCallback"), ("CALLBACK", "Callback"), ("STEP", "Step")]


async def test_a_failing_submitter_raises_callback_submitter_error() -> None:
    def submit(callback_id: str) -> None:
        raise ConnectionError("queue unreachable")

    seen: list[tuple[str, str, bool]] = []

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        try:
            await ctx.wait_for_callback(submit, name="external")
        except CallbackSubmitterError as exc:
            seen.append((exc.error_type, exc.error_message, ctx.replaying))
        await ctx.wait(1)
        return "handled"

    result = await LocalRunner(handler).run()
    assert result.result == "handled"
    # the same typed error on the first run and on replay, with the submitter's own error
    assert seen == [
        ("ConnectionError", "queue unreachable", False),
        ("ConnectionError", "queue unreachable", True),
    ]


async def test_callback_errors_inside_wait_for_callback_keep_their_class() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        try:
            await ctx.wait_for_callback(lambda cid: None, name="ask", timeout=60)
        except CallbackTimeoutError as exc:
            return f"timeout {exc.error_type}"
        except CallbackError as exc:
            return f"error {exc.error_type}: {exc.error_message}"
        return "answered"

    clock = ManualClock(start=0.0)
    run = LocalRunner(handler, backend=MemoryBackend(clock=clock)).start()
    await run.callback_id("ask")
    clock.advance(61)
    assert (await run.result()).result == "timeout Callback.Timeout"
    run = LocalRunner(handler).start()
    run.send_callback_failure(await run.callback_id("ask"), "Denied", "no")
    assert (await run.result()).result == "error Denied: no"


async def test_callback_grace_lets_an_unanswered_callback_time_out_on_its_own() -> None:
    result = await LocalRunner(approval, callback_grace=0.01).run()
    assert result.result == "timed out: Callback.Heartbeat"  # 600 s heartbeat < 3600 s timeout
