"""The `serdes=` options of callbacks, chained invokes and wait_for_condition."""

from __future__ import annotations

import json
from typing import Any

import pytest

from durable_async import (
    DurableContext,
    InvocationStatus,
    WaitDecision,
    durable_execution,
)
from durable_async.testing import LocalRunner

pytestmark = pytest.mark.anyio


class Csv:
    """A list of strings stored as `a,b,c`."""

    def serialize(self, value: Any) -> str | None:
        return None if value is None else ",".join(value)

    def deserialize(self, payload: str | None, result_type: Any = None) -> Any:
        return [] if not payload else payload.split(",")


async def test_a_callbacks_serdes_reads_the_senders_raw_payload() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> object:
        callback = await ctx.create_callback(name="cb", serdes=Csv())
        return await callback

    runner = LocalRunner(handler)
    run = runner.start()
    runner.backend.send_callback_success(await run.callback_id("cb"), "a,b")
    assert (await run.result()).result == ["a", "b"]


async def test_wait_for_callbacks_serdes_reads_the_result_and_writes_the_context() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> object:
        value = await ctx.wait_for_callback(lambda callback_id: None, name="ask", serdes=Csv())
        await ctx.wait(1)  # the replay reads the context's result through Csv as well
        return value

    runner = LocalRunner(handler)
    run = runner.start()
    runner.backend.send_callback_success(await run.callback_id("ask"), "x,y")
    result = await run.result()
    assert result.result == ["x", "y"]
    context = next(op for op in result.operations if op.sub_type == "WaitForCallback")
    assert context.context_details is not None
    assert context.context_details.result == "x,y"


class Enveloped:
    """JSON inside an envelope: `v` is stored as `{"v": v}`."""

    def serialize(self, value: Any) -> str | None:
        return json.dumps({"v": value})

    def deserialize(self, payload: str | None, result_type: Any = None) -> Any:
        return None if payload is None else json.loads(payload)["v"]


async def test_invoke_writes_the_payload_and_reads_the_result_with_their_own_serdes() -> None:
    received: list[object] = []

    def target(payload: object) -> object:
        received.append(payload)
        return {"v": "done"}

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> object:
        return await ctx.invoke(
            "target", [1, 2], name="call", payload_serdes=Enveloped(), result_serdes=Enveloped()
        )

    runner = LocalRunner(handler)
    runner.register("target", target)
    result = await runner.run()
    assert received == [{"v": [1, 2]}]
    assert result.result == "done"


async def test_a_none_state_is_carried_to_the_next_check() -> None:
    seen: list[object] = []

    def check(state: str | None) -> None:
        seen.append(state)

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> object:
        return await ctx.wait_for_condition(
            check,
            initial_state="initial",
            wait_strategy=lambda state, attempt: WaitDecision(attempt >= 3, 1),
        )

    result = await LocalRunner(handler).run()
    assert result.status is InvocationStatus.SUCCEEDED
    assert seen == ["initial", None, None]  # not the initial state again after a None


async def test_wait_for_conditions_serdes_writes_and_reads_the_state() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> object:
        return await ctx.wait_for_condition(
            lambda state: [*state, "x"],
            initial_state=["a"],
            wait_strategy=lambda state, attempt: WaitDecision(len(state) >= 3, 1),
            name="poll",
            serdes=Csv(),
        )

    result = await LocalRunner(handler).run()
    assert result.result == ["a", "x", "x"]
    payloads = [
        e["StepSucceededDetails"]["Result"]["Payload"]
        for e in result.history
        if e["EventType"] == "StepSucceeded"
    ]
    assert payloads == ["a,x", "a,x,x"]
