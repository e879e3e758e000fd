"""Chained invokes of durable and plain targets registered with the local runner."""

from __future__ import annotations

import pytest

from durable_async import (
    DurableContext,
    InvocationStatus,
    InvokeError,
    OperationType,
    durable_execution,
)
from durable_async.testing import LocalRunner

pytestmark = pytest.mark.anyio


@durable_execution
async def child(event: dict[str, int], ctx: DurableContext) -> int:
    await ctx.wait(30)
    return await ctx.step(lambda: event["n"] * 2, name="double")


@durable_execution
async def parent(event: str, ctx: DurableContext) -> object:
    try:
        return await ctx.invoke(event, {"n": 21}, name="call")
    except InvokeError as exc:
        return f"{exc.status}: {exc.error_type}: {exc.error_message}"


async def test_a_durable_target_runs_as_a_child_execution_with_its_own_history() -> None:
    runner = LocalRunner(parent)
    runner.register("doubler", child)
    result = await runner.run("doubler")
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == 42
    op = result.operation("call")
    assert op.type is OperationType.CHAINED_INVOKE
    assert op.sub_type == "ChainedInvoke"
    kinds = [e["EventType"] for e in result.history]
    assert "ChainedInvokeStarted" in kinds
    assert "ChainedInvokeSucceeded" in kinds
    assert "WaitStarted" not in kinds  # the child's wait is in the child's own history
    started = next(e for e in result.history if e["EventType"] == "ChainedInvokeStarted")
    details = started["ChainedInvokeStartedDetails"]
    assert details["FunctionName"] == "doubler"
    assert details["ExecutedVersion"] == "$LATEST"
    assert "TenantId" not in details
    # The child execution is named in the caller's history, and holds the target's own run.
    target = runner.backend.get_execution(details["DurableExecutionArn"])
    assert target["Status"] == "SUCCEEDED"
    assert target["Result"] == "42"
    target_kinds = [e["EventType"] for e in runner.backend.history(target["DurableExecutionArn"])]
    assert "WaitStarted" in target_kinds


async def test_a_durable_targets_result_payload_reaches_the_caller_unchanged() -> None:
    @durable_execution
    async def spaced(event: None, ctx: DurableContext) -> dict[str, int]:
        return {"a": 1}

    @durable_execution
    async def caller(event: None, ctx: DurableContext) -> object:
        return await ctx.invoke("spaced", None, name="call", tenant_id="tenant-7")

    runner = LocalRunner(caller)
    runner.register("spaced", spaced)
    result = await runner.run()
    assert result.result == {"a": 1}
    succeeded = next(e for e in result.history if e["EventType"] == "ChainedInvokeSucceeded")
    target = runner.backend.get_execution(
        next(e for e in result.history if e["EventType"] == "ChainedInvokeStarted")[
            "ChainedInvokeStartedDetails"
        ]["DurableExecutionArn"]
    )
    assert succeeded["ChainedInvokeSucceededDetails"]["Result"]["Payload"] == target["Result"]
    started = next(e for e in result.history if e["EventType"] == "ChainedInvokeStarted")
    assert started["ChainedInvokeStartedDetails"]["TenantId"] == "tenant-7"


async def test_a_plain_target_is_called_once_with_the_payload() -> None:
    calls: list[object] = []

    async def plain(payload: dict[str, int]) -> int:
        calls.append(payload)
        return payload["n"] + 1

    runner = LocalRunner(parent)
    runner.register("plain", plain)
    result = await runner.run("plain")
    assert result.result == 22
    assert calls == [{"n": 21}]
    started = next(e for e in result.history if e["EventType"] == "ChainedInvokeStarted")
    assert "DurableExecutionArn" not in started["ChainedInvokeStartedDetails"]  # no execution


async def test_failures_and_unregistered_targets_raise_invoke_error() -> None:
    def broken(payload: object) -> None:
        raise ValueError("bad input")

    runner = LocalRunner(parent)
    runner.register("broken", broken)
    assert (await runner.run("broken")).result == "FAILED: ValueError: bad input"
    missing = await runner.run("nobody")
    assert missing.result.startswith("FAILED: ResourceNotFoundException")
    assert "'nobody' is not registered" in missing.result


async def test_an_invoke_without_payload_sends_json_null() -> None:
    received: list[object] = ["unset"]

    def target(payload: object) -> str:
        received[0] = payload
        return "ok"

    @durable_execution
    async def caller(event: None, ctx: DurableContext) -> object:
        return await ctx.invoke("target", name="call")

    runner = LocalRunner(caller)
    runner.register("target", target)
    result = await runner.run()
    assert result.result == "ok"
    assert received == [None]
    started = next(e for e in result.history if e["EventType"] == "ChainedInvokeStarted")
    assert started["ChainedInvokeStartedDetails"]["Input"]["Payload"] == "null"
