"""The Lambda-facing wrapper: event parsing, outputs, and backend failures."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import pytest

from durable_async import (
    BackendUnavailableError,
    CheckpointRejectedError,
    DurableContext,
    InvocationStatus,
    StaleCheckpointTokenError,
    durable_execution,
)
from durable_async._models import CheckpointResponse, InvocationInput, OperationUpdate
from durable_async.testing import Fault, FaultyBackend, LocalRunner, MemoryBackend


async def noop() -> None:
    return None


@durable_execution
async def echo(event: Any, ctx: DurableContext) -> Any:
    await ctx.step(noop)
    return event


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({"hello": "world"}, "has no DurableExecutionArn, CheckpointToken"),
        ("text", "expected a durable invocation event"),
        (
            {
                "DurableExecutionArn": "a",
                "CheckpointToken": "t",
                "InitialExecutionState": {"Operations": [{"Id": "x"}]},
            },
            "malformed",
        ),
        (
            {
                "DurableExecutionArn": "a",
                "CheckpointToken": "t",
                "InitialExecutionState": {
                    "Operations": [{"Id": "x", "Type": "STEP", "Status": "STARTED"}]
                },
            },
            "has no EXECUTION operation",
        ),
        (
            {
                "DurableExecutionArn": "a",
                "CheckpointToken": "t",
                "InitialExecutionState": {
                    "Operations": [
                        {
                            "Id": "x",
                            "Type": "EXECUTION",
                            "Status": "STARTED",
                            "ExecutionDetails": {"InputPayload": "{nope"},
                        }
                    ]
                },
            },
            "not valid JSON",
        ),
    ],
)
def test_invalid_events_return_failed_with_a_message_naming_the_problem(
    event: Any, message: str
) -> None:
    try:
        output = echo(event, None)
    finally:
        echo.close()
    assert output["Status"] == "FAILED"
    assert output["Error"]["ErrorType"] == "InvalidInvocationError"
    assert message in output["Error"]["ErrorMessage"]


def test_the_handler_is_a_plain_lambda_handler_taking_the_event_form() -> None:
    backend = MemoryBackend()
    event = backend.start_execution({"sku": "a-1"})
    wire = event.model_dump(by_alias=True, exclude_none=True)
    for op in wire["InitialExecutionState"]["Operations"]:  # Lambda sends epoch milliseconds
        op["StartTimestamp"] = int(op["StartTimestamp"].timestamp() * 1000)
    handler = durable_execution(backend=backend)(echo.fn)
    try:
        output = handler(wire, None)
        # A warm process reuses its event loop: a second invocation through the same handler.
        second = handler(backend.start_execution([1]).model_dump(by_alias=True), None)
    finally:
        handler.close()
    assert output == {"Status": "SUCCEEDED", "Result": '{"sku":"a-1"}'}
    assert second == {"Status": "SUCCEEDED", "Result": "[1]"}


def test_models_parse_epoch_milliseconds_and_datetimes_alike() -> None:
    ms = InvocationInput.model_validate(
        {
            "DurableExecutionArn": "arn",
            "CheckpointToken": "t",
            "InitialExecutionState": {
                "Operations": [
                    {
                        "Id": "e",
                        "Type": "EXECUTION",
                        "Status": "STARTED",
                        "StartTimestamp": 1764000000000,
                    }
                ]
            },
        }
    )
    ts = ms.initial_execution_state.operations[0].start_timestamp
    assert ts is not None
    assert ts.year == 2025
    assert ts.tzinfo is not None
    again = InvocationInput.model_validate(ms.model_dump(by_alias=True))
    assert again == ms
    wire = ms.initial_execution_state.operations[0].to_wire()
    assert set(wire) == {"Id", "Type", "Status", "StartTimestamp"}


@pytest.mark.anyio
async def test_large_results_are_checkpointed_and_the_output_carries_an_empty_result() -> None:
    big = "y" * (6 * 1024 * 1024)

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        return big

    class Recording(MemoryBackend):
        def __init__(self) -> None:
            super().__init__()
            self.sent: list[OperationUpdate] = []

        async def checkpoint(
            self,
            arn: str,
            token: str,
            updates: Sequence[OperationUpdate],
            *,
            client_token: str | None = None,
        ) -> CheckpointResponse:
            self.sent.extend(updates)
            return await super().checkpoint(arn, token, updates)

    backend = Recording()
    event = backend.start_execution(None)
    output = await handler.invoke_output(event, backend=backend)
    assert output.status is InvocationStatus.SUCCEEDED
    assert output.result == ""
    assert [u.type.value + ":" + u.action.value for u in backend.sent] == ["EXECUTION:SUCCEED"]
    summary = backend.get_execution(event.durable_execution_arn)
    assert summary["Status"] == "SUCCEEDED"
    assert summary["Result"] == json.dumps(big)


@pytest.mark.anyio
async def test_initial_state_is_paged_in_before_replay() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> int:
        total = 0
        for i in range(5):
            total += await ctx.step(lambda i=i: i, name=f"s{i}")
        await ctx.wait(1)
        return total

    result = await LocalRunner(handler, backend=MemoryBackend(page_size=2)).run()
    assert result.result == 10
    assert result.invocations == 2


def failing(exc: Exception) -> tuple[FaultyBackend, InvocationInput]:
    """A backend refusing every checkpoint with `exc`, and an execution on it."""
    memory = MemoryBackend()
    backend = FaultyBackend(memory)
    backend.inject(Fault.raise_(exc))
    return backend, memory.start_execution(None)


@pytest.mark.anyio
async def test_a_stale_token_ends_the_invocation_without_failing_the_execution() -> None:
    backend, event = failing(StaleCheckpointTokenError("Invalid checkpoint token"))
    output = await echo.invoke_output(event, backend=backend)
    assert output.status is InvocationStatus.PENDING


@pytest.mark.anyio
async def test_a_rejected_checkpoint_fails_the_execution_with_the_error() -> None:
    backend, event = failing(
        CheckpointRejectedError("KMS key disabled", code="KMSDisabledException")
    )
    output = await echo.invoke_output(event, backend=backend)
    assert output.status is InvocationStatus.FAILED
    assert output.error is not None
    assert output.error.error_type == "CheckpointRejectedError"
    assert output.error.error_message == "KMS key disabled"


@pytest.mark.anyio
async def test_an_unavailable_service_is_raised_so_lambda_retries_the_invocation() -> None:
    backend, event = failing(BackendUnavailableError("throttled", code="TooManyRequestsException"))
    with pytest.raises(BackendUnavailableError):
        await echo.invoke_output(event, backend=backend)
    await asyncio.sleep(0)


def test_durable_execution_rejects_a_sync_handler() -> None:
    def sync_handler(event: Any, ctx: DurableContext) -> None:
        return None

    with pytest.raises(TypeError, match="async def"):
        durable_execution(sync_handler)  # type: ignore[arg-type]
