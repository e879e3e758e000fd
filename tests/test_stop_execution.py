"""Stopping an execution (`StopDurableExecution`) on the embedded service, while a runner
drives it."""

from __future__ import annotations

from typing import Any

import pytest

from durable_async import DurableContext, ErrorObject, InvocationStatus, durable_execution
from durable_async._errors import CheckpointRejectedError
from durable_async.testing import LocalRunner

pytestmark = pytest.mark.anyio


@durable_execution
async def approval(event: Any, ctx: DurableContext) -> str:
    answer: str = await ctx.wait_for_callback(lambda callback_id: None, name="answer")
    return answer


async def test_a_stopped_execution_ends_failed_with_the_stop_error_and_is_not_invoked_again() -> (
    None
):
    runner = LocalRunner(approval)
    handle = runner.start({})
    await handle.callback_id("answer")
    error = ErrorObject(error_type="Stopped", error_message="an operator stopped it")
    runner.backend.stop_execution(handle.execution_arn, error)

    result = await handle.result()
    assert result.status is InvocationStatus.FAILED
    assert result.error == error
    kinds = [event["EventType"] for event in result.history]
    assert "ExecutionStopped" in kinds
    # The invocation that suspended on the callback (it may end just after the stop), and none
    # after it.
    assert kinds.count("InvocationCompleted") == 1
    summary = runner.backend.get_execution(handle.execution_arn)
    assert summary["Status"] == "STOPPED"
    assert summary["Error"] == error.to_wire()


async def test_only_a_running_execution_can_be_stopped() -> None:
    runner = LocalRunner(approval)
    handle = runner.start({})
    callback_id = await handle.callback_id("answer")
    handle.send_callback_success(callback_id, "yes")
    assert (await handle.result()).status is InvocationStatus.SUCCEEDED
    with pytest.raises(CheckpointRejectedError, match="already SUCCEEDED") as refused:
        runner.backend.stop_execution(handle.execution_arn)
    assert refused.value.code == "ResourceNotFoundException"
