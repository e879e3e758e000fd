"""Map and parallel: concurrency, completion policies, early completion, replay."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from durable_async import (
    BatchItem,
    BatchItemStatus,
    BatchResult,
    CompletionConfig,
    CompletionReason,
    DurableContext,
    InvocationStatus,
    Nesting,
    OperationType,
    RetryPolicy,
    ValidationError,
    durable_execution,
)
from durable_async._ids import operation_id
from durable_async.testing import LocalRunner, MemoryBackend

pytestmark = pytest.mark.anyio


async def test_map_items_are_child_contexts_with_index_ids_and_results_in_order() -> None:
    async def greet(ctx: DurableContext, who: str, index: int) -> str:
        return await ctx.step(lambda: f"Hello, {who}!", name="greet")

    @durable_execution
    async def handler(event: list[str], ctx: DurableContext) -> list[object]:
        batch = await ctx.map(event, greet, name="map")
        return [batch.results(), batch.completion_reason.value]

    result = await LocalRunner(handler).run(["World", "Kiro", "Ada"])
    assert result.result == [["Hello, World!", "Hello, Kiro!", "Hello, Ada!"], "ALL_COMPLETED"]
    map_op = result.operation("map")
    assert map_op.sub_type == "Map"
    iterations = [op for op in result.operations if op.sub_type == "MapIteration"]
    assert [op.id for op in iterations] == [operation_id(map_op.id, i) for i in range(3)]
    assert {op.parent_id for op in iterations} == {map_op.id}


async def test_max_concurrency_bounds_the_items_running_at_once() -> None:
    running = {"now": 0, "peak": 0}

    async def work(ctx: DurableContext, item: int, index: int) -> int:
        async def body() -> int:
            running["now"] += 1
            running["peak"] = max(running["peak"], running["now"])
            await asyncio.sleep(0)
            running["now"] -= 1
            return item

        return await ctx.step(body)

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> int:
        batch = await ctx.map(list(range(20)), work, max_concurrency=3)
        return sum(r for r in batch.results() if r is not None)

    result = await LocalRunner(handler).run()
    assert result.result == sum(range(20))
    assert running["peak"] == 3


async def test_parallel_branches_wait_while_siblings_compute() -> None:
    async def sleeper(ctx: DurableContext) -> str:
        await ctx.wait(60)
        return "slept"

    async def worker(ctx: DurableContext) -> str:
        return await ctx.step(lambda: "worked", name="work")

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[object]:
        batch = await ctx.parallel([sleeper, worker], name="both")
        return batch.results()

    result = await LocalRunner(handler).run()
    assert result.result == ["slept", "worked"]
    assert result.invocations == 2
    subs = [op.sub_type for op in result.operations if op.type is OperationType.CONTEXT]
    assert subs == ["Parallel", "ParallelBranch", "ParallelBranch"]


def failing_or_ok(fail: set[int]):  # type: ignore[no-untyped-def]
    async def item(ctx: DurableContext, value: int, index: int) -> int:
        if value in fail:
            await ctx.step(lambda: 1 / 0, name="boom", retry=RetryPolicy.none())
        return value

    return item


@pytest.mark.parametrize(
    ("completion", "fail", "reason", "statuses"),
    [
        (None, {1}, "FAILURE_TOLERANCE_EXCEEDED", None),
        (CompletionConfig.all_completed(), {1, 3}, "ALL_COMPLETED", "SFSFS"),
        (CompletionConfig(tolerated_failure_count=2), {1, 3}, "ALL_COMPLETED", "SFSFS"),
        (CompletionConfig(tolerated_failure_count=1), {1, 3}, "FAILURE_TOLERANCE_EXCEEDED", None),
        (CompletionConfig(tolerated_failure_percentage=40), {1, 3}, "ALL_COMPLETED", "SFSFS"),
        (
            CompletionConfig(tolerated_failure_percentage=39),
            {1, 3},
            "FAILURE_TOLERANCE_EXCEEDED",
            None,
        ),
        (CompletionConfig(min_successful=2), set(), "MIN_SUCCESSFUL_REACHED", "SSNNN"),
    ],
)
async def test_completion_policies_at_their_thresholds(
    completion: CompletionConfig | None, fail: set[int], reason: str, statuses: str | None
) -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[object]:
        batch = await ctx.map(
            [0, 1, 2, 3, 4], failing_or_ok(fail), max_concurrency=1, completion=completion
        )
        return [batch.completion_reason.value, "".join(i.status.value[0] for i in batch.items)]

    result = await LocalRunner(handler).run()
    assert result.result[0] == reason
    if statuses is not None:
        assert result.result[1] == statuses


async def test_early_completion_does_not_wait_for_slow_siblings() -> None:
    async def item(ctx: DurableContext, seconds: int, index: int) -> int:
        if seconds:
            await ctx.wait(seconds)
        return index

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[object]:
        batch = await ctx.map([3600, 0, 7200], item, completion=CompletionConfig.first_successful())
        return [batch.results(), [i.status.value for i in batch.items]]

    result = await LocalRunner(handler).run()
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.invocations == 1  # the hour-long waits were orphaned, not waited for
    # Item 0 was waiting when item 1 succeeded; item 2 had not started yet.
    assert result.result == [[1], ["NOT_COMPLETED", "SUCCEEDED", "NOT_STARTED"]]


async def test_an_empty_map_returns_at_once() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[object]:
        batch = await ctx.map([], failing_or_ok(set()))
        return [batch.items, batch.completion_reason.value]

    result = await LocalRunner(handler).run()
    assert result.result == [[], "ALL_COMPLETED"]


async def test_invalid_batch_options_are_rejected() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        for kwargs in (
            {"max_concurrency": 0},
            {"completion": CompletionConfig(min_successful=9)},
            {"completion": CompletionConfig(tolerated_failure_percentage=120)},
        ):
            with pytest.raises(ValidationError):
                ctx.map([1, 2], failing_or_ok(set()), **kwargs)  # type: ignore[arg-type]
        return "ok"

    assert (await LocalRunner(handler).run()).result == "ok"


async def test_map_replays_from_its_recorded_result_without_rerunning_items() -> None:
    runs = Counter[int]()

    async def item(ctx: DurableContext, value: int, index: int) -> int:
        runs[value] += 1
        return value * 10

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[int | None]:
        batch = await ctx.map([1, 2, 3], item)
        await ctx.wait(1)
        assert batch.items[0].status is BatchItemStatus.SUCCEEDED
        assert batch.completion_reason is CompletionReason.ALL_COMPLETED
        return batch.results()

    result = await LocalRunner(handler).run()
    assert result.result == [10, 20, 30]
    assert runs == {1: 1, 2: 1, 3: 1}


# CPU-bound: about 10 s on an idle 2-core machine, several times that under load; the suite's
# 30 s timeout is there to catch hangs, so this test gets a bound that only a hang reaches.
@pytest.mark.timeout(300)
async def test_a_ten_thousand_item_map_finishes_in_one_invocation() -> None:
    async def item(ctx: DurableContext, value: int, index: int) -> int:
        return await ctx.step(lambda: value, name="v")

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> int:
        batch = await ctx.map(range(10_000), item, completion=CompletionConfig.all_completed())
        return batch.success_count

    backend = MemoryBackend()
    result = await LocalRunner(handler, backend=backend).run()
    assert result.result == 10_000
    assert result.invocations == 1
    assert backend.stats.updates == 2 + 4 * 10_000


async def test_flat_items_checkpoint_their_operations_under_the_batch() -> None:
    runs = Counter[str]()

    def shout(word: str) -> str:
        runs[word] += 1
        return word.upper()

    async def item(ctx: DurableContext, word: str, index: int) -> str:
        if index == 1:
            await ctx.wait(5)  # suspends the execution in the middle of the map
        return await ctx.step(shout, word, name="shout")

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[object]:
        batch = await ctx.map(["a", "b"], item, name="flat", nesting=Nesting.FLAT)
        return [batch.results(), batch.status.value]

    result = await LocalRunner(handler).run()
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.invocations == 2
    assert result.result == [["A", "B"], "SUCCEEDED"]
    assert runs == {"a": 1, "b": 1}  # the replayed flat item took its step from the history
    map_op = result.operation("flat")
    contexts = [op for op in result.operations if op.type is OperationType.CONTEXT]
    assert contexts == [map_op]  # no MapIteration context per item
    steps = [op for op in result.operations if op.type is OperationType.STEP]
    assert len({op.id for op in steps}) == 2
    assert {op.parent_id for op in steps} | {
        op.parent_id for op in result.operations if op.type is OperationType.WAIT
    } == {map_op.id}


async def test_flat_item_failures_count_against_the_completion_policy() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[object]:
        batch = await ctx.map(
            [0, 1, 2],
            failing_or_ok({1}),
            max_concurrency=1,
            nesting="flat",
            completion=CompletionConfig(tolerated_failure_count=0),
        )
        first_error = batch.errors()[0]
        return [
            [i.status.value for i in batch.items],
            batch.total_count,
            first_error.error_type,
        ]

    result = await LocalRunner(handler).run()
    assert result.result == [["SUCCEEDED", "FAILED", "NOT_STARTED"], 2, "StepError"]


async def test_items_and_branches_are_named() -> None:
    async def branch_one(ctx: DurableContext) -> int:
        return 1

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> None:
        await ctx.map(["x", "y"], failing_or_ok(set()), item_namer=lambda item, i: f"{item}-{i}")
        await ctx.parallel([branch_one, lambda ctx: branch_one(ctx)])

    result = await LocalRunner(handler).run()
    names = {op.sub_type: [] for op in result.operations}  # type: dict[str | None, list[object]]
    for op in result.operations:
        names[op.sub_type].append(op.name)
    assert names["MapIteration"] == ["x-0", "y-1"]
    assert names["ParallelBranch"] == ["branch_one", None]  # a lambda has no useful name


class Tagged:
    """A serdes that stores a string `v` as `tag:v`."""

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def serialize(self, value: object) -> str | None:
        return f"{self.tag}:{value}"

    def deserialize(self, payload: str | None, result_type: object = None) -> object:
        return (payload or "").removeprefix(f"{self.tag}:")


class CommaJoined:
    """A whole-result serdes: a batch of strings stored as `a,b`."""

    def serialize(self, value: object) -> str | None:
        assert isinstance(value, BatchResult)
        return ",".join(value.results())

    def deserialize(self, payload: str | None, result_type: object = None) -> object:
        items = [
            BatchItem[str](index=i, status=BatchItemStatus.SUCCEEDED, result=r)
            for i, r in enumerate((payload or "").split(","))
        ]
        return BatchResult[str](items=items, completion_reason=CompletionReason.ALL_COMPLETED)


async def test_item_and_result_serdes_write_the_payloads_and_read_them_back() -> None:
    async def upper(ctx: DurableContext, word: str, index: int) -> str:
        return word.upper()

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[str | None]:
        batch = await ctx.map(
            ["a", "b"], upper, name="map", item_serdes=Tagged("item"), serdes=CommaJoined()
        )
        await ctx.wait(1)  # the replay reads the map's result through CommaJoined
        return batch.results()

    result = await LocalRunner(handler).run()
    assert result.invocations == 2
    assert result.result == ["A", "B"]
    payloads = {
        op.sub_type: op.context_details.result
        for op in result.operations
        if op.context_details is not None
    }
    assert result.operation("map").context_details.result == "A,B"  # type: ignore[union-attr]
    assert payloads["MapIteration"] in ("item:A", "item:B")


async def test_an_unknown_nesting_mode_is_rejected() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        with pytest.raises(ValidationError, match="nesting"):
            ctx.map([1], failing_or_ok(set()), nesting="deep")
        return "ok"

    assert (await LocalRunner(handler).run()).result == "ok"
