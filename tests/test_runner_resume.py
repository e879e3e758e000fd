"""`LocalRunner.resume`: drive an execution whose invocation died to its end."""

from __future__ import annotations

import asyncio

import pytest

from durable_async import (
    DurableContext,
    InvocationStatus,
    MemoryBackend,
    OperationType,
    durable_execution,
)
from durable_async.testing import LocalRunner

pytestmark = pytest.mark.anyio


@durable_execution
async def approval(event: None, ctx: DurableContext) -> str:
    callback = await ctx.create_callback(name="approve")
    answer: str = await callback
    return await ctx.step(lambda: f"approved: {answer}", name="record")


async def test_resume_finishes_an_execution_whose_last_invocation_died() -> None:
    backend = MemoryBackend()
    event = backend.start_execution(None)
    arn = event.durable_execution_arn
    output = await approval.invoke_output(event, backend=backend)  # no one completes it
    assert output.status is InvocationStatus.PENDING
    running = LocalRunner(approval, backend=backend).resume(arn)
    run_cb = await running.callback_id("approve")
    running.send_callback_success(run_cb, "yes")
    result = await running.result()
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == "approved: yes"


async def test_an_answer_sent_before_the_resumed_run_starts_is_not_waited_for_again() -> None:
    backend = MemoryBackend()
    event = backend.start_execution(None)
    arn = event.durable_execution_arn
    await approval.invoke_output(event, backend=backend)
    (callback,) = [op for op in backend.operations(arn) if op.type is OperationType.CALLBACK]
    assert callback.callback_details is not None
    assert callback.callback_details.callback_id is not None
    running = LocalRunner(approval, backend=backend).resume(arn)
    # Answered after the resumed run built its first event, before its task ever ran: that
    # first invocation sees the callback still open, and the answer must wake the next one.
    backend.send_callback_success(callback.callback_details.callback_id, '"late"')
    result = await asyncio.wait_for(running.result(), timeout=10)
    assert result.result == "approved: late"
