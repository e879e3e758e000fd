"""Conformance handlers for the map suite (requirements 9-1 to 9-20).

Each handler runs `ctx.map(items, fn)`, where `fn(item_ctx, item, index)` runs in the item's
own child context. Most set `max_concurrency=1`, so the items run one after another in index
order and the history is deterministic. The items come from `event` where the
requirement gives an input, and are written in the handler otherwise. A handler returns either
`batch.results()` (the successful results, in item order) or a small projection of the
`BatchResult` built by `outcome`.

These handlers invoke no other functions, so `TARGETS` is empty.
"""

from __future__ import annotations

from typing import Any

from durable_async import (
    BatchItem,
    BatchItemStatus,
    BatchResult,
    CompletionConfig,
    CompletionReason,
    DurableContext,
    DurableHandler,
    Nesting,
    durable_execution,
)

from ._batch_outcome import ALL_FIELDS, COUNT_FIELDS, outcome

__all__ = ["HANDLERS", "TARGETS"]


class ItemFailedError(Exception):
    """What the map function raises for the item "fail"."""


def make_greeting(who: str) -> str:
    """Step body: the greeting for `who`."""
    return f"Hello, {who}!"


def echo(value: str) -> str:
    """Step body: return `value`."""
    return value


async def identity_or_fail(item_ctx: DurableContext, item: str, index: int) -> str:
    """Map function: return the item, or fail for the item "fail"."""
    if item == "fail":
        raise ItemFailedError(f"item {index} failed")
    return item


async def upper(item_ctx: DurableContext, item: str, index: int) -> str:
    """Map function: the item in upper case."""
    return item.upper()


# -- 9-1 .. 9-4: the shapes of a call ------------------------------------------------------------


async def greet(item_ctx: DurableContext, who: str, index: int) -> str:
    """Map function of 9-1: one step making the greeting."""
    return await item_ctx.step(make_greeting, who)


@durable_execution
async def map_basic(event: list[str], ctx: DurableContext) -> list[Any]:
    """9-1: greet every name of the input, one step per item."""
    batch = await ctx.map(event, greet, name="map", max_concurrency=1)
    return batch.results()


async def double(item_ctx: DurableContext, item: int, index: int) -> int:
    """Map function of 9-2: twice the item, with no durable operation inside."""
    return item * 2


@durable_execution
async def map_unnamed(event: list[int], ctx: DurableContext) -> list[Any]:
    """9-2: no operation name; each item returns its value directly."""
    batch = await ctx.map(event, double, max_concurrency=1)
    return batch.results()


async def plus_index(item_ctx: DurableContext, item: int, index: int) -> int:
    """Map function of 9-3: the item plus its 0-based index."""
    return item + index


@durable_execution
async def map_indexed(event: list[int], ctx: DurableContext) -> list[Any]:
    """9-3: the map function receives the item and its index."""
    batch = await ctx.map(event, plus_index, name="indexed", max_concurrency=1)
    return batch.results()


@durable_execution
async def map_empty(event: list[int], ctx: DurableContext) -> list[Any]:
    """9-4: no items: the batch completes at once with no results."""
    batch = await ctx.map(event, double, name="empty")
    return batch.results()


# -- 9-5 .. 9-10: completion configs -------------------------------------------------------------


@durable_execution
async def map_fail_fast(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    """9-5: the first failure ends the batch; item 2 never starts."""
    batch = await ctx.map(
        ["ok", "fail", "never"],
        identity_or_fail,
        name="failfast",
        max_concurrency=1,
        completion=CompletionConfig(tolerated_failure_count=0),
    )
    return outcome(batch, *ALL_FIELDS)


@durable_execution
async def map_raise_if_failed(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """9-6: the batch result re-raises the item failure, which fails the execution."""
    batch = await ctx.map(
        ["fail", "never"],
        identity_or_fail,
        name="throwing",
        max_concurrency=1,
        completion=CompletionConfig(tolerated_failure_count=0),
    )
    batch.raise_if_failed()
    return batch.results()


@durable_execution
async def map_min_successful(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    """9-7: two successes are enough; items 2 and 3 never start."""
    batch = await ctx.map(
        ["a", "b", "c", "d"],
        identity_or_fail,
        name="min-successful",
        max_concurrency=1,
        completion=CompletionConfig(min_successful=2),
    )
    return outcome(batch, "completionReason", "successCount", "totalCount")


@durable_execution
async def map_tolerated_count(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    """9-8: one failure is tolerated, so every item runs."""
    batch = await ctx.map(
        ["ok", "fail", "ok"],
        identity_or_fail,
        name="tolerated",
        max_concurrency=1,
        completion=CompletionConfig(tolerated_failure_count=1),
    )
    return outcome(batch, *ALL_FIELDS)


@durable_execution
async def map_tolerated_count_exceeded(
    event: dict[str, Any], ctx: DurableContext
) -> dict[str, Any]:
    """9-9: the second failure exceeds the tolerance of one; item 2 never starts."""
    batch = await ctx.map(
        ["fail", "fail", "never"],
        identity_or_fail,
        name="tolerated-exceeded",
        max_concurrency=1,
        completion=CompletionConfig(tolerated_failure_count=1),
    )
    return outcome(batch, *COUNT_FIELDS)


@durable_execution
async def map_tolerated_percentage_exceeded(
    event: dict[str, Any], ctx: DurableContext
) -> dict[str, Any]:
    """9-10: 2 failures of 4 items (50%) exceed the tolerated 25%; the rest never start."""
    batch = await ctx.map(
        ["fail", "fail", "ok", "ok"],
        identity_or_fail,
        name="tolerated-pct",
        max_concurrency=1,
        completion=CompletionConfig(tolerated_failure_percentage=25),
    )
    return outcome(batch, *COUNT_FIELDS)


# -- 9-11 .. 9-14: concurrency and item options --------------------------------------------------


@durable_execution
async def map_concurrent(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """9-11: two items at a time; results still come in item order."""
    batch = await ctx.map(
        ["r0", "r1", "r2"], identity_or_fail, name="concurrent", max_concurrency=2
    )
    return batch.results()


async def echo_in_step(item_ctx: DurableContext, item: str, index: int) -> str:
    """Map function of 9-12: one step returning the item."""
    return await item_ctx.step(echo, item)


@durable_execution
async def map_flat(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """9-12: two items of one step each, in virtual contexts: their steps hang directly under
    the Map context, with no MapIteration context per item."""
    batch = await ctx.map(
        ["fa", "fb"], echo_in_step, name="flat", max_concurrency=1, nesting=Nesting.FLAT
    )
    return batch.results()


async def times_ten(item_ctx: DurableContext, item: int, index: int) -> int:
    """Map function of 9-13: ten times the item."""
    return item * 10


@durable_execution
async def map_item_namer(event: list[int], ctx: DurableContext) -> list[Any]:
    """9-13: ten times every item; each iteration is named from its item ("item-1", ...)."""
    batch = await ctx.map(
        event,
        times_ten,
        name="named-items",
        max_concurrency=1,
        item_namer=lambda item, index: f"item-{item}",
    )
    return batch.results()


@durable_execution
async def map_item_serdes(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """9-14: every item in upper case, each checkpointed as "wrapped:X" by `WrappedText`."""
    batch = await ctx.map(
        ["x", "y"], upper, name="serdes", max_concurrency=1, item_serdes=WrappedText()
    )
    return batch.results()


class WrappedText:
    """Per-item serdes of 9-14: a string `v` is stored as `wrapped:v`."""

    def serialize(self, value: Any) -> str | None:
        """`"X"` becomes `wrapped:X`."""
        return None if value is None else f"wrapped:{value}"

    def deserialize(self, payload: str | None, result_type: Any = None) -> Any:
        """`wrapped:X` becomes `"X"`."""
        return None if payload is None else payload.removeprefix("wrapped:")


class JoinedResults:
    """Whole-result serdes of 9-19 and 9-20: a batch of string results is stored as
    `OPSERDE:` and the results joined by commas, and read back as an all-succeeded batch."""

    def serialize(self, value: Any) -> str | None:
        """`BatchResult` of "X", "Y" becomes `OPSERDE:X,Y`."""
        batch: BatchResult[str] = value
        return "OPSERDE:" + ",".join(str(r) for r in batch.results())

    def deserialize(self, payload: str | None, result_type: Any = None) -> Any:
        """`OPSERDE:X,Y` becomes a `BatchResult` whose items succeeded with "X" and "Y"."""
        results = (payload or "").removeprefix("OPSERDE:").split(",")
        items = [
            BatchItem[str](index=i, status=BatchItemStatus.SUCCEEDED, result=r)
            for i, r in enumerate(results)
        ]
        return BatchResult[str](items=items, completion_reason=CompletionReason.ALL_COMPLETED)


# -- 9-15 .. 9-20: suspension, large results and replay ------------------------------------------


async def wait_then_step(item_ctx: DurableContext, item: str, index: int) -> str:
    """Map function of 9-15: item 1 first waits 1 second (suspending the execution)."""
    if index == 1:
        await item_ctx.wait(1)
    return await item_ctx.step(echo, item)


@durable_execution
async def map_suspend_mid_map(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """9-15: on replay the finished item 0 returns its recorded result; item 1 resumes."""
    batch = await ctx.map(["r0", "r1"], wait_then_step, name="suspend", max_concurrency=1)
    return batch.results()


LARGE_ITEM_CHARS = 70_000  # four of these exceed the 256 KiB a checkpoint payload may hold


async def large_string(item_ctx: DurableContext, item: str, index: int) -> str:
    """Map function of 9-16: a string of about 70 KB."""
    return item * LARGE_ITEM_CHARS


@durable_execution
async def map_large_result(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    """9-16: the whole result is too large to checkpoint, so the Map context replays children."""
    batch = await ctx.map(["a", "b", "c", "d"], large_string, name="large", max_concurrency=1)
    return {"successCount": batch.success_count, "totalCount": batch.total_count}


@durable_execution
async def map_then_wait(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """9-17: a wait after the map; on replay the map returns its recorded result."""
    batch = await ctx.map(["a", "b"], upper, name="then-wait", max_concurrency=1)
    await ctx.wait(1)
    return batch.results()


@durable_execution
async def map_failure_then_wait(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    """9-18: a tolerated failure is kept, not raised; on replay the map result is recorded."""
    batch = await ctx.map(
        ["ok", "fail"],
        identity_or_fail,
        name="fail-then-wait",
        max_concurrency=1,
        completion=CompletionConfig(tolerated_failure_count=1),
    )
    await ctx.wait(1)
    return outcome(batch, *ALL_FIELDS)


@durable_execution
async def map_operation_serdes(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """9-19: every item in upper case; the whole result is checkpointed as "OPSERDE:X,Y"."""
    batch = await ctx.map(
        ["x", "y"], upper, name="op-serde", max_concurrency=1, serdes=JoinedResults()
    )
    return batch.results()


@durable_execution
async def map_operation_serdes_replay(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """9-20: as 9-19, then a wait, so the replay reads the map result back from the history."""
    batch = await ctx.map(
        ["x", "y"], upper, name="op-serde-replay", max_concurrency=1, serdes=JoinedResults()
    )
    await ctx.wait(1)
    return batch.results()


HANDLERS: dict[str, DurableHandler[Any, Any]] = {
    "9-1": map_basic,
    "9-2": map_unnamed,
    "9-3": map_indexed,
    "9-4": map_empty,
    "9-5": map_fail_fast,
    "9-6": map_raise_if_failed,
    "9-7": map_min_successful,
    "9-8": map_tolerated_count,
    "9-9": map_tolerated_count_exceeded,
    "9-10": map_tolerated_percentage_exceeded,
    "9-11": map_concurrent,
    "9-12": map_flat,
    "9-13": map_item_namer,
    "9-14": map_item_serdes,
    "9-15": map_suspend_mid_map,
    "9-16": map_large_result,
    "9-17": map_then_wait,
    "9-18": map_failure_then_wait,
    "9-19": map_operation_serdes,
    "9-20": map_operation_serdes_replay,
}

TARGETS: dict[str, Any] = {}
