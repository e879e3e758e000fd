"""How the runtime keeps memory and collector work small, changing nothing else."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import math
from collections.abc import Iterator
from typing import Any

import pytest

from durable_async import DurableContext, InvocationStatus, durable_execution
from durable_async._backends.aws import updates_to_wire
from durable_async._batcher import MAX_UPDATES
from durable_async._compact import Compactor
from durable_async._gc import GC_YOUNG_THRESHOLD, relaxed_gc
from durable_async._models import (
    ErrorObject,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepDetails,
    WaitOptions,
)
from durable_async._store import OperationStore
from durable_async.testing import LocalRunner, MemoryBackend

pytestmark = pytest.mark.anyio


@pytest.fixture
def default_thresholds() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        yield gc.get_threshold()
    finally:
        gc.set_threshold(*saved)


def test_an_invocation_relaxes_the_collector_and_puts_it_back(
    default_thresholds: tuple[int, int, int],
) -> None:
    with relaxed_gc():
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, 10, 10)
        with relaxed_gc():  # nested (or concurrent) invocations share the change
            assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
        assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
    assert gc.get_threshold() == default_thresholds


def test_thresholds_changed_meanwhile_are_left_alone(
    default_thresholds: tuple[int, int, int],
) -> None:
    with relaxed_gc():
        gc.set_threshold(5000, 20, 20)
    assert gc.get_threshold() == (5000, 20, 20)


def test_a_disabled_or_already_high_threshold_is_not_touched(
    default_thresholds: tuple[int, int, int],
) -> None:
    for threshold in (0, GC_YOUNG_THRESHOLD * 2):
        gc.set_threshold(threshold, 10, 10)
        with relaxed_gc():
            assert gc.get_threshold() == (threshold, 10, 10)
        assert gc.get_threshold() == (threshold, 10, 10)


async def test_the_handler_restores_the_collector_after_suspending_and_finishing(
    default_thresholds: tuple[int, int, int],
) -> None:
    seen: list[int] = []

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        seen.append(gc.get_threshold()[0])
        await ctx.wait(5)
        return "done"

    result = await LocalRunner(handler).run()
    assert result.status is InvocationStatus.SUCCEEDED
    assert seen == [GC_YOUNG_THRESHOLD, GC_YOUNG_THRESHOLD]
    assert gc.get_threshold() == default_thresholds


def _update(i: int, **fields: object) -> OperationUpdate:
    return OperationUpdate(
        id=f"op{i}",
        type=OperationType.STEP,
        action=OperationAction.START,
        name="n",
        **fields,  # type: ignore[arg-type]
    )


def test_models_built_with_the_same_fields_share_one_set_of_names() -> None:
    error = ErrorObject(error_type="E", error_message="m")
    a, b = _update(1, error=error), _update(2, error=ErrorObject(error_type="E"))
    c = _update(3, wait_options=WaitOptions(wait_seconds=3))
    names = {m: set(m.model_fields_set) for m in (a, b, c)}
    compact = Compactor()
    for model in (a, b, c):
        compact(model)
    assert a.model_fields_set is b.model_fields_set
    assert a.model_fields_set is not c.model_fields_set
    assert all(set(m.model_fields_set) == before for m, before in names.items())
    assert error.model_fields_set == {"error_type", "error_message"}  # nested models too
    # A copy that sets more fields gets a set of its own; the shared one is unchanged.
    copy = a.model_copy(update={"payload": "x"})
    assert "payload" in copy.model_fields_set
    assert "payload" not in b.model_fields_set
    assert a.to_wire() == _update(1, error=error).to_wire()


def test_equal_nested_models_of_plain_numbers_are_shared() -> None:
    compact = Compactor()
    first, second = (_update(i, wait_options=WaitOptions(wait_seconds=60)) for i in (1, 2))
    other = _update(3, wait_options=WaitOptions(wait_seconds=5))
    failed = [_update(i, error=ErrorObject(error_type="E")) for i in (4, 5)]
    for model in (first, second, other, *failed):
        compact(model)
    assert first.wait_options is second.wait_options
    assert other.wait_options is not first.wait_options
    assert other.wait_options == WaitOptions(wait_seconds=5)
    assert failed[0].error is not failed[1].error  # strings are not shared
    assert second.to_wire() == _update(2, wait_options=WaitOptions(wait_seconds=60)).to_wire()


def test_the_wire_form_of_a_request_is_each_updates_own() -> None:
    updates = [
        _update(1),
        _update(2, payload='{"a": 1}'),
        _update(3, error=ErrorObject(error_type="E", stack_trace=["x"])),
        _update(4, wait_options=WaitOptions(wait_seconds=60)),
    ]
    assert updates_to_wire(updates) == [u.to_wire() for u in updates]
    assert updates_to_wire(tuple(updates)) == [u.to_wire() for u in updates]


async def test_a_watcher_cancelled_by_its_task_stops_counting_as_waiting() -> None:
    store = OperationStore()
    first = store.watch("a", lambda op: op.status.is_terminal)
    second = store.watch("a", lambda op: op.status.is_terminal)
    other = store.watch("b", lambda op: op.status.is_terminal)
    assert store.may_wait
    assert store.waiting()
    first.cancel()
    other.cancel()
    assert store.waiting()
    assert store.is_watched("a")
    assert not store.is_watched("b")
    now = dt.datetime.now(dt.UTC)
    done = Operation(
        id="a",
        type=OperationType.STEP,
        status=OperationStatus.SUCCEEDED,
        start_timestamp=now,
        step_details=StepDetails(result="1"),
    )
    store.apply([done])
    assert second.result() is done
    assert not store.waiting()
    assert not store.may_wait


async def test_parked_operations_cancelled_by_user_code_do_not_suspend_the_invocation() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        wait = asyncio.ensure_future(ctx.wait(3600))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        wait.cancel()  # the only parked operation goes away: nothing waits on the service
        await asyncio.gather(wait, return_exceptions=True)
        await asyncio.sleep(0.01)
        return "ran on"

    result = await LocalRunner(handler).run()
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == "ran on"
    assert result.invocations == 1


class _CountingBackend(MemoryBackend):
    """Records, at each checkpoint request, how many step bodies have run so far."""

    def __init__(self, ran: list[int], latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.ran = ran
        self.seen: list[tuple[int, int]] = []  # (updates in the request, bodies run so far)

    async def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        self.seen.append((len(args[2]), len(self.ran)))
        return await super().checkpoint(*args, **kwargs)


@pytest.mark.parametrize("latency", [0.0, 0.001])
async def test_a_full_request_leaves_before_the_rest_of_a_fan_out_starts(latency: float) -> None:
    ran: list[int] = []

    async def work(i: int) -> int:
        ran.append(i)
        return i

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> int:
        results = await asyncio.gather(*(ctx.step(work, i, name="w") for i in range(600)))
        return sum(results)

    backend = _CountingBackend(ran, latency)
    result = await LocalRunner(handler, backend=backend).run()
    assert result.result == sum(range(600))
    assert sorted(ran) == list(range(600))  # every step ran once
    first_size, ran_before_first = backend.seen[0]
    assert first_size == MAX_UPDATES  # a START and a SUCCEED for each of the first 125 steps
    assert ran_before_first == MAX_UPDATES // 2  # the other 475 started after it left
    assert len(backend.seen) == math.ceil(1200 / MAX_UPDATES)  # still the fewest requests


async def test_responses_are_taken_in_in_order_when_requests_overlap_them() -> None:
    order: list[str] = []

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[int]:
        async def lane(i: int) -> int:
            value = await ctx.step(work, i, name="w")
            order.append(f"acked {i}")
            return value

        return list(await asyncio.gather(*(lane(i) for i in range(700))))

    async def work(i: int) -> int:
        return i

    backend = MemoryBackend(latency=0.001)
    result = await LocalRunner(handler, backend=backend).run()
    assert result.result == list(range(700))
    # Acknowledgements arrive in queue order: FIFO requests, applied one response at a time.
    assert order == [f"acked {i}" for i in range(700)]


async def test_tasks_cancelled_by_a_suspension_all_keep_one_cancellation() -> None:
    tasks: list[asyncio.Task[None]] = []

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> int:
        mine = [asyncio.ensure_future(ctx.wait(3600)) for _ in range(3)]
        if not tasks:
            tasks.extend(mine)  # those of the first invocation, which suspends
        await asyncio.wait(mine)  # unlike gather, leaves each task's cancellation with it
        return len(mine)

    # Not replayed after every checkpoint: that ends the first invocation with a simulated
    # crash, not the suspension this test is about.
    result = await LocalRunner(handler, always_replay=False).run()
    assert result.status is InvocationStatus.SUCCEEDED
    kept = []
    for task in tasks:
        assert task.cancelled()
        with pytest.raises(asyncio.CancelledError) as info:
            task.result()
        kept.append(info.value)  # the first look hands over what the task kept
    assert all(exc is kept[0] for exc in kept)
