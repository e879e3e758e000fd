"""Group commit: coalescing, immediate flush for blocked callers, FIFO, bounds."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence

import pytest

from durable_async._batcher import MAX_UPDATES, CheckpointBatcher
from durable_async._models import (
    CheckpointResponse,
    ExecutionState,
    Operation,
    OperationAction,
    OperationType,
    OperationUpdate,
)
from durable_async.testing import ManualClock

pytestmark = pytest.mark.anyio


class RecordingBackend:
    """Acknowledges everything and records each request's updates."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.requests: list[list[str]] = []
        self.gate = gate
        self.clock = ManualClock()

    async def checkpoint(
        self,
        execution_arn: str,
        checkpoint_token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResponse:
        self.requests.append([u.id for u in updates])
        if self.gate is not None:
            await self.gate.wait()
        return CheckpointResponse(
            checkpoint_token=checkpoint_token + "+", new_execution_state=ExecutionState()
        )

    async def get_state(self, *args: object, **kwargs: object) -> ExecutionState:
        return ExecutionState()


def update(i: int, payload: str | None = None) -> OperationUpdate:
    return OperationUpdate(
        id=f"op{i}", type=OperationType.STEP, action=OperationAction.START, payload=payload
    )


def make(
    backend: RecordingBackend, window: float, applied: list[list[Operation]] | None = None
) -> CheckpointBatcher:
    return CheckpointBatcher(
        backend,
        "arn",
        "t0",
        apply_state=(applied.append if applied is not None else lambda o: None),
        window=window,
    )


@pytest.mark.parametrize("n", [1, 249, 250, 251, 1000])
async def test_fire_and_forget_updates_coalesce_into_the_minimum_number_of_calls(n: int) -> None:
    backend = RecordingBackend()
    batcher = make(backend, window=0.0)
    for i in range(n):
        batcher.queue(update(i))
    await batcher.drain()
    assert len(backend.requests) == math.ceil(n / MAX_UPDATES)
    assert [u for req in backend.requests for u in req] == [f"op{i}" for i in range(n)]  # FIFO


async def test_a_blocked_caller_is_never_delayed_by_the_window() -> None:
    backend = RecordingBackend()
    batcher = make(backend, window=3600.0)  # an hour: only an immediate flush can pass
    batcher.queue(update(0))
    await asyncio.wait_for(batcher.submit(update(1)), timeout=5)
    assert backend.requests == [["op0", "op1"]]  # queued earlier updates ride along, in order


async def test_updates_queued_during_a_request_go_out_together_in_the_next_one() -> None:
    gate = asyncio.Event()
    backend = RecordingBackend(gate)
    batcher = make(backend, window=0.0)
    first = asyncio.ensure_future(batcher.submit(update(0)))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert backend.requests == [["op0"]]  # in flight
    later = [asyncio.ensure_future(batcher.submit(update(i))) for i in range(1, 6)]
    await asyncio.sleep(0)
    assert len(backend.requests) == 1  # one request in flight at a time
    gate.set()
    await asyncio.gather(first, *later)
    assert backend.requests == [["op0"], ["op1", "op2", "op3", "op4", "op5"]]


async def test_requests_stay_under_the_byte_bound() -> None:
    backend = RecordingBackend()
    batcher = make(backend, window=0.0)
    big = "x" * (200 * 1024)
    for i in range(8):
        batcher.queue(update(i, big))
    await batcher.drain()
    assert [len(r) for r in backend.requests] == [3, 3, 2]  # 3 x 200 KiB < 750 KiB < 4 x 200 KiB


async def test_state_is_applied_before_the_waiter_resumes() -> None:
    op = Operation(id="op0", type=OperationType.STEP, status="STARTED")  # type: ignore[arg-type]

    class StateBackend(RecordingBackend):
        async def checkpoint(self, *args: object, **kwargs: object) -> CheckpointResponse:
            return CheckpointResponse(
                checkpoint_token="t1", new_execution_state=ExecutionState(operations=[op])
            )

    applied: list[list[Operation]] = []
    batcher = make(StateBackend(), 0.0, applied)
    await batcher.submit(update(0))
    assert applied == [[op]]
    assert batcher.token == "t1"
