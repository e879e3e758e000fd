"""When the batcher sends: the window after a response, full requests, left-over updates."""

from __future__ import annotations

import asyncio

import pytest
from test_batcher import RecordingBackend, update

from durable_async._batcher import MAX_UPDATES, CheckpointBatcher

pytestmark = pytest.mark.anyio


def make(backend: RecordingBackend, window: float) -> CheckpointBatcher:
    return CheckpointBatcher(backend, "arn", "t0", apply_state=lambda ops: None, window=window)


async def test_a_fire_and_forget_update_queued_after_a_response_waits_for_the_window() -> None:
    backend = RecordingBackend()
    batcher = make(backend, window=3600.0)

    async def lane() -> None:
        await batcher.submit(update(0))
        batcher.queue(update(1))  # the next step's START, as the lane wakes
        for _ in range(5):  # its body runs for a while
            await asyncio.sleep(0)
        await batcher.submit(update(2))  # its SUCCEED

    await asyncio.wait_for(lane(), timeout=5)
    assert backend.requests == [["op0"], ["op1", "op2"]]  # the START rode with the SUCCEED


async def test_a_full_request_of_fire_and_forget_updates_leaves_without_the_window() -> None:
    backend = RecordingBackend()
    batcher = make(backend, window=3600.0)
    for i in range(MAX_UPDATES + 3):
        batcher.queue(update(i))
    for _ in range(5):
        await asyncio.sleep(0)
    assert [len(r) for r in backend.requests] == [MAX_UPDATES]  # the 3 left wait for the window
    assert not batcher.idle
    await asyncio.wait_for(batcher.drain(), timeout=5)
    assert [len(r) for r in backend.requests] == [MAX_UPDATES, 3]


async def test_left_over_updates_leave_when_their_window_ends() -> None:
    backend = RecordingBackend()
    batcher = make(backend, window=0.0)
    for i in range(MAX_UPDATES + 3):
        batcher.queue(update(i))
    for _ in range(20):
        await asyncio.sleep(0)
        if len(backend.requests) == 2:
            break
    assert [len(r) for r in backend.requests] == [MAX_UPDATES, 3]
