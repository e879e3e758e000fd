"""What the SDK sends and reads beyond the basics: the trace header of a chained invoke, and
the ids of the operations the service changed since the last invocation."""

from __future__ import annotations

from typing import Any

import pytest

from durable_async import DurableContext, DurablePlugin, InvocationStart, durable_execution
from durable_async._models import InvocationInput, OperationType
from durable_async.testing import FaultyBackend, LocalRunner, MemoryBackend

pytestmark = pytest.mark.anyio


@durable_execution
async def caller(event: None, ctx: DurableContext) -> Any:
    return await ctx.invoke("target", {"n": 1}, name="call")


async def _invoke_start(monkeypatch: pytest.MonkeyPatch, trace: str | None) -> dict[str, Any]:
    if trace is None:
        monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    else:
        monkeypatch.setenv("_X_AMZN_TRACE_ID", trace)
    wire = FaultyBackend(MemoryBackend())
    runner = LocalRunner(caller, backend=wire)
    runner.register("target", lambda payload: payload["n"] + 1)
    result = await runner.run()
    assert result.result == 2
    (start,) = [
        update
        for call in wire.calls
        for update in call.updates
        if update.type is OperationType.CHAINED_INVOKE
    ]
    options = start.model_dump(by_alias=True, exclude_none=True)["ChainedInvokeOptions"]
    return dict(options)


async def test_a_chained_invoke_carries_the_invocations_trace_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    options = await _invoke_start(monkeypatch, trace)
    assert options == {"FunctionName": "target", "XAmznTraceId": trace}


async def test_no_trace_no_header(monkeypatch: pytest.MonkeyPatch) -> None:
    assert await _invoke_start(monkeypatch, None) == {"FunctionName": "target"}


def test_the_event_s_updated_operation_ids_are_read() -> None:
    event = InvocationInput.model_validate(
        {
            "DurableExecutionArn": "arn:x",
            "CheckpointToken": "t",
            "InitialExecutionState": {"Operations": []},
            "UpdatedOperationIds": ["a", "b"],
        }
    )
    assert event.updated_operation_ids == ["a", "b"]
    bare = InvocationInput.model_validate(
        {"DurableExecutionArn": "arn:x", "CheckpointToken": "t", "InitialExecutionState": {}}
    )
    assert bare.updated_operation_ids == []


async def test_plugins_are_told_which_operations_changed() -> None:
    seen: list[tuple[str, ...]] = []

    class Watch(DurablePlugin):
        def on_invocation_start(self, event: InvocationStart) -> None:
            seen.append(event.updated_operation_ids)

    @durable_execution(plugins=[Watch()])
    async def handler(event: None, ctx: DurableContext) -> str:
        return "ok"

    memory = MemoryBackend()
    start = memory.start_execution(None)
    wire = start.model_dump(mode="json", by_alias=True, exclude_none=True)
    wire["UpdatedOperationIds"] = ["op-1", "op-2"]
    output = await handler.invoke_async(wire, backend=memory)
    assert output["Status"] == "SUCCEEDED"
    assert seen == [("op-1", "op-2")]
