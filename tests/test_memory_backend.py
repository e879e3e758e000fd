"""The embedded service refuses what the real one refuses, with the same error classes."""

from __future__ import annotations

import pytest

from durable_async import (
    CheckpointRejectedError,
    InvocationStatus,
    OperationStatus,
    StaleCheckpointTokenError,
)
from durable_async._backends.memory.state import executed_version
from durable_async._models import (
    InvocationOutput,
    OperationAction,
    OperationType,
    OperationUpdate,
    StepOptions,
    WaitOptions,
)
from durable_async.testing import ManualClock, MemoryBackend

pytestmark = pytest.mark.anyio


def start(op_id: str, kind: OperationType = OperationType.STEP, **kw: object) -> OperationUpdate:
    return OperationUpdate(id=op_id, type=kind, action=OperationAction.START, **kw)  # type: ignore[arg-type]


async def test_each_token_is_good_for_one_checkpoint() -> None:
    backend = MemoryBackend()
    event = backend.start_execution({"a": 1})
    arn, token = event.durable_execution_arn, event.checkpoint_token
    response = await backend.checkpoint(arn, token, [start("s1")])
    assert response.checkpoint_token
    assert response.checkpoint_token != token
    with pytest.raises(StaleCheckpointTokenError, match="Invalid checkpoint token"):
        await backend.checkpoint(arn, token, [])


async def test_a_new_invocation_makes_older_tokens_stale() -> None:
    backend = MemoryBackend()
    event = backend.start_execution(None)
    backend.invocation_event(event.durable_execution_arn)
    with pytest.raises(StaleCheckpointTokenError):
        await backend.checkpoint(event.durable_execution_arn, event.checkpoint_token, [])


@pytest.mark.parametrize(
    ("updates", "message"),
    [
        ([start("s1", parent_id="nope")], "unknown parent"),
        ([start("s1", payload="x" * (256 * 1024 + 1))], "limit is 262144"),
        ([start("bad id!")], "Invalid operation Id"),
        ([start("s1"), start("s1", kind=OperationType.WAIT)], "is a STEP, not a WAIT"),
        (
            [OperationUpdate(id="s1", type=OperationType.STEP, action=OperationAction.SUCCEED)],
            "never started",
        ),
        ([start("w1", kind=OperationType.WAIT)], "WaitSeconds"),
    ],
)
async def test_invalid_updates_are_refused(updates: list[OperationUpdate], message: str) -> None:
    backend = MemoryBackend()
    event = backend.start_execution(None)
    with pytest.raises(CheckpointRejectedError, match=message):
        await backend.checkpoint(event.durable_execution_arn, event.checkpoint_token, updates)


async def test_pending_with_nothing_pending_is_refused() -> None:
    backend = MemoryBackend()
    event = backend.start_execution(None)
    with pytest.raises(CheckpointRejectedError, match="no pending operations"):
        backend.complete_invocation(
            event.durable_execution_arn,
            InvocationOutput(status=InvocationStatus.PENDING),
            started=0,
        )


async def test_waits_and_retries_fire_on_the_clock() -> None:
    clock = ManualClock(start=100.0)
    backend = MemoryBackend(clock=clock)
    event = backend.start_execution(None)
    arn = event.durable_execution_arn
    r = await backend.checkpoint(
        arn,
        event.checkpoint_token,
        [
            start("w1", kind=OperationType.WAIT, wait_options=WaitOptions(wait_seconds=10)),
            start("s1"),
            OperationUpdate(
                id="s1",
                type=OperationType.STEP,
                action=OperationAction.RETRY,
                step_options=StepOptions(next_attempt_delay_seconds=3),
            ),
        ],
    )
    assert {op.id: op.status for op in r.new_execution_state.operations} == {  # type: ignore[union-attr]
        "w1": OperationStatus.STARTED,
        "s1": OperationStatus.PENDING,
    }
    assert backend.next_wake_time(arn) == 103.0
    clock.advance(3)
    r = await backend.checkpoint(arn, r.checkpoint_token or "", [])
    assert [(op.id, op.status) for op in r.new_execution_state.operations] == [  # type: ignore[union-attr]
        ("s1", OperationStatus.READY)
    ]
    clock.advance(7)
    r = await backend.checkpoint(arn, r.checkpoint_token or "", [])
    assert [(op.id, op.status) for op in r.new_execution_state.operations] == [  # type: ignore[union-attr]
        ("w1", OperationStatus.SUCCEEDED)
    ]
    kinds = [e["EventType"] for e in backend.history(arn)]
    assert kinds == [
        "ExecutionStarted",
        "WaitStarted",
        "StepStarted",
        "StepSucceeded",  # a RETRY without an error, as the service records it
        "WaitSucceeded",
    ]


async def test_state_is_served_in_pages() -> None:
    backend = MemoryBackend(page_size=2)
    event = backend.start_execution(None)
    arn = event.durable_execution_arn
    await backend.checkpoint(arn, event.checkpoint_token, [start(f"s{i}") for i in range(4)])
    event = backend.invocation_event(arn)
    assert len(event.initial_execution_state.operations) == 2
    marker = event.initial_execution_state.next_marker
    ids = [op.id for op in event.initial_execution_state.operations]
    while marker:
        page = await backend.get_state(arn, event.checkpoint_token, marker=marker)
        ids += [op.id for op in page.operations]
        marker = page.next_marker
    assert ids[1:] == ["s0", "s1", "s2", "s3"]


@pytest.mark.parametrize(
    ("function_name", "version"),
    [
        ("orders", "$LATEST"),
        ("orders:7", "7"),
        ("orders:live", "$LATEST"),
        ("arn:aws:lambda:eu-west-1:123456789012:function:orders", "$LATEST"),
        ("arn:aws:lambda:eu-west-1:123456789012:function:orders:12", "12"),
    ],
)
def test_the_executed_version_of_a_chained_invoke(function_name: str, version: str) -> None:
    assert executed_version(function_name) == version
