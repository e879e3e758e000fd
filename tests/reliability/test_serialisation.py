"""Values that cannot be checkpointed fail their operation, recorded; results fit Lambda's response.

A value the serdes cannot encode is not an exception escaping to Lambda (which would retry the
invocation forever) nor a silent re-run: the step, child context, condition check or handler that
produced it fails with a `SerdesError` recorded in the history, and its code runs no more.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from durable_async import (
    ChildContextError,
    CompletionConfig,
    DurableContext,
    InvocationStatus,
    StepError,
    WaitDecision,
    WaitForConditionError,
    durable_execution,
)
from durable_async._models import MAX_RESPONSE_BYTES, response_too_large
from durable_async.testing import LocalRunner, MemoryBackend

pytestmark = pytest.mark.anyio


async def one() -> int:
    return 1


class Opaque:
    """A value no serialiser knows (the default one takes datetimes, sets and the like)."""


UNSERIALISABLE = [Opaque(), {"nested": [Opaque()]}, object()]


@pytest.mark.parametrize("always_replay", [False, True])
@pytest.mark.parametrize("value", UNSERIALISABLE, ids=["class", "nested", "object"])
async def test_a_handler_result_that_cannot_be_serialised_fails_the_execution(
    value: Any, always_replay: bool
) -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        await ctx.step(lambda: 1, name="one")
        return value

    result = await LocalRunner(handler, always_replay=always_replay).run({})
    assert result.status is InvocationStatus.FAILED
    assert result.error is not None
    assert result.error.error_type == "SerdesError"
    assert "handler's result cannot be serialised" in (result.error.error_message or "")


async def test_invoke_async_returns_failed_rather_than_raising() -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        return Opaque()

    backend = MemoryBackend()
    output = await handler.invoke_async(backend.start_execution(None), backend=backend)
    assert output["Status"] == "FAILED"
    assert output["Error"]["ErrorType"] == "SerdesError"


@pytest.mark.parametrize("always_replay", [False, True])
async def test_a_step_result_that_cannot_be_serialised_fails_the_step_once(
    always_replay: bool,
) -> None:
    runs: list[int] = []

    def body() -> Any:
        runs.append(1)
        return Opaque()

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        try:
            await ctx.step(body, name="dated")
        except StepError as err:
            return f"{err.error_type}: {err.error_message}"
        return "no error"

    result = await LocalRunner(handler, always_replay=always_replay).run({})
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result.startswith("SerdesError: the result of step 'dated' cannot be")
    assert runs == [1]  # no retry: the body would return the same value
    step = result.operation("dated")
    assert step.status.value == "FAILED"
    assert step.step_details is not None
    assert step.step_details.error is not None
    assert step.step_details.error.error_type == "SerdesError"


async def test_a_step_result_not_matching_its_result_type_fails_the_step() -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        try:
            await ctx.step(lambda: "not a number", name="typed", result_type=int)
        except StepError as err:
            return err.error_type
        return "no error"

    result = await LocalRunner(handler).run({})
    assert result.result == "SerdesError"


@pytest.mark.parametrize("always_replay", [False, True])
async def test_a_child_context_result_that_cannot_be_serialised_fails_the_context_once(
    always_replay: bool,
) -> None:
    backend = MemoryBackend()
    after_failure: list[bool] = []  # per run of the body: was its failure already recorded?

    async def body(child: DurableContext) -> Any:
        recorded = backend.operations(child.execution_arn)
        after_failure.append(any(op.name == "child" and op.status.is_terminal for op in recorded))
        await child.step(lambda: 1, name="inner")
        return Opaque()

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        try:
            await ctx.run_in_child_context(body, name="child")
        except ChildContextError as err:
            outcome = err.error_type
        await ctx.wait(1)  # a later invocation replays the failed context
        return outcome

    result = await LocalRunner(handler, backend=backend, always_replay=always_replay).run({})
    assert result.result == "SerdesError"
    assert result.operation("child").status.value == "FAILED"
    assert after_failure
    assert not any(after_failure)  # replay may run it again before, never after
    if not always_replay:
        assert len(after_failure) == 1


async def test_a_condition_state_that_cannot_be_serialised_fails_the_check() -> None:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        try:
            await ctx.wait_for_condition(
                lambda state: Opaque(),
                initial_state=0,
                wait_strategy=lambda state, attempt: WaitDecision(done=True),
                name="poll",
            )
        except WaitForConditionError as err:
            return err.error_type
        return "no error"

    result = await LocalRunner(handler).run({})
    assert result.result == "SerdesError"


def _envelope_bytes(result: str) -> int:
    return len(json.dumps({"Status": "SUCCEEDED", "Result": result}).encode())


@pytest.mark.parametrize(
    ("unit", "count"),
    [
        ("a", MAX_RESPONSE_BYTES - 100),  # plain ASCII just under the limit
        ('"', 4 * 1024 * 1024),  # each quote is escaped to two bytes
        ("\x01", 1024 * 1024 + 1),  # control characters become six
        ("é", 1024 * 1024 + 1),  # non-ASCII becomes \\u00e9
        ("\U0001f600", 512 * 1024 + 1),  # astral characters become twelve
    ],
    ids=["ascii", "quotes", "control", "latin", "astral"],
)
def test_the_response_check_measures_the_encoded_envelope(unit: str, count: int) -> None:
    result = json.dumps(unit * count)[1:-1] if unit == "\x01" else unit * count
    assert response_too_large(result) == (_envelope_bytes(result) > MAX_RESPONSE_BYTES)


async def test_a_result_that_escapes_past_the_limit_is_checkpointed_not_returned() -> None:
    big = '"' * (3 * 1024 * 1024 + 512 * 1024)  # 3.5 MB raw, 7 MB once escaped

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        return big

    backend = MemoryBackend()
    event = backend.start_execution(None)
    output = await handler.invoke_async(event, backend=backend)
    assert len(json.dumps(output).encode()) <= MAX_RESPONSE_BYTES
    assert output == {"Status": "SUCCEEDED", "Result": ""}
    for always_replay in (False, True):
        result = await LocalRunner(handler, always_replay=always_replay).run(None)
        assert result.status is InvocationStatus.SUCCEEDED
        assert result.result == big


@pytest.mark.parametrize("nesting", ["nested", "flat"])
async def test_a_map_item_whose_result_cannot_be_serialised_fails_that_item_once(
    nesting: str,
) -> None:
    runs: list[int] = []

    async def item(ctx: DurableContext, value: int, index: int) -> Any:
        runs.append(value)
        await ctx.step(one, name=f"s{value}")
        return Opaque() if value == 2 else value

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> list[Any]:
        batch = await ctx.map(
            [1, 2, 3],
            item,
            name="items",
            nesting=nesting,
            completion=CompletionConfig.all_completed(),
        )
        return [
            [i.status.value, i.result, i.error.error_type if i.error else None] for i in batch.items
        ]

    for always_replay in (False, True):
        runs.clear()
        result = await LocalRunner(handler, always_replay=always_replay).run(None)
        assert result.status is InvocationStatus.SUCCEEDED
        assert result.result[0] == ["SUCCEEDED", 1, None]
        assert result.result[1][0] == "FAILED"
        assert result.result[1][2] in ("SerdesError", "ChildContextError")
        assert result.result[2] == ["SUCCEEDED", 3, None]
        assert sorted(set(runs)) == [1, 2, 3]
