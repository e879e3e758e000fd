"""Conformance handlers for the parallel suite (requirements 8-1 to 8-22).

Each handler runs `ctx.parallel` over a few small branches. Most set `max_concurrency=1`, so the
branches run one after another in index order and the history is deterministic. A handler
returns either `batch.results()` (the successful results, in branch order) or a small
projection of the `BatchResult` built by `outcome`.

These handlers take no input and invoke no other functions, so `TARGETS` is empty.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from durable_async import (
    BatchResult,
    CompletionConfig,
    DurableContext,
    DurableHandler,
    Nesting,
    durable_execution,
)

from ._batch_outcome import ALL_FIELDS, COUNT_FIELDS, outcome

__all__ = ["HANDLERS", "TARGETS"]

Branch = Callable[[DurableContext], Coroutine[Any, Any, Any]]


class BranchFailedError(Exception):
    """What a failing branch raises."""


def returning(value: Any) -> Branch:
    """A branch that returns `value` directly, with no durable operation inside."""

    async def branch(branch_ctx: DurableContext) -> Any:
        return value

    return branch


def stepping(value: str) -> Branch:
    """A branch that runs one step returning `value`."""

    def produce() -> str:
        return value

    async def branch(branch_ctx: DurableContext) -> str:
        return await branch_ctx.step(produce, name=f"produce-{value}")

    return branch


async def failing(branch_ctx: DurableContext) -> str:
    """A branch that fails."""
    raise BranchFailedError("this branch always fails")


# -- 8-1 .. 8-5: the shapes of a call ------------------------------------------------------------


@durable_execution
async def parallel_basic(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """8-1: two branches, each a single step."""
    batch = await ctx.parallel(
        [stepping("task-1"), stepping("task-2")], name="parallel", max_concurrency=1
    )
    return batch.results()


@durable_execution
async def parallel_unnamed(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """8-2: no operation name; each branch returns its value directly."""
    batch = await ctx.parallel([returning("alpha"), returning("beta")], max_concurrency=1)
    return batch.results()


async def first(branch_ctx: DurableContext) -> str:
    """The branch named "first"."""
    return "one"


async def second(branch_ctx: DurableContext) -> str:
    """The branch named "second"."""
    return "two"


@durable_execution
async def parallel_named_branches(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """8-3: the branches "first" and "second"."""
    batch = await ctx.parallel([first, second], name="named", max_concurrency=1)
    return batch.results()


@durable_execution
async def parallel_heterogeneous(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """8-4: branches returning a string, a number and an object keep their types."""
    branches = [returning("hello"), returning(42), returning({"k": "v"})]
    batch = await ctx.parallel(branches, name="hetero", max_concurrency=1)
    return batch.results()


@durable_execution
async def parallel_empty(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """8-5: no branches: the batch completes at once with no results."""
    batch: BatchResult[Any] = await ctx.parallel([], name="empty")
    return batch.results()


# -- 8-6 .. 8-10, 8-13, 8-16 .. 8-18, 8-20, 8-22: completion configs ----------------------------


@durable_execution
async def parallel_fail_fast(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    """8-6: the first failure ends the batch; the third branch never starts."""
    batch = await ctx.parallel(
        [returning("ok"), failing, returning("never")],
        name="failfast",
        max_concurrency=1,
        completion=CompletionConfig(tolerated_failure_count=0),
    )
    return outcome(batch, *ALL_FIELDS)


@durable_execution
async def parallel_raise_if_failed(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """8-7: the batch result re-raises the branch failure, which fails the execution."""
    batch = await ctx.parallel(
        [failing, returning("never")],
        name="throwing",
        max_concurrency=1,
        completion=CompletionConfig(tolerated_failure_count=0),
    )
    batch.raise_if_failed()
    return batch.results()


@durable_execution
async def parallel_min_successful(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    """8-8: two successes are enough; branches 2 and 3 never start."""
    batch = await ctx.parallel(
        [returning("a"), returning("b"), returning("c"), returning("d")],
        name="min-successful",
        max_concurrency=1,
        completion=CompletionConfig(min_successful=2),
    )
    return outcome(batch, "completionReason", "successCount", "totalCount")


@durable_execution
async def parallel_tolerated_count(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    """8-9: one failure is tolerated, so every branch runs."""
    batch = await ctx.parallel(
        [returning("a"), failing, returning("c")],
        name="tolerated",
        max_concurrency=1,
        completion=CompletionConfig(tolerated_failure_count=1),
    )
    return outcome(batch, *ALL_FIELDS)


@durable_execution
async def parallel_tolerated_count_exceeded(
    event: dict[str, Any], ctx: DurableContext
) -> dict[str, Any]:
    """8-10: the second failure exceeds the tolerance of one; branch 2 never starts."""
    batch = await ctx.parallel(
        [failing, failing, returning("never")],
        name="tolerated-exceeded",
        max_concurrency=1,
        completion=CompletionConfig(tolerated_failure_count=1),
    )
    return outcome(batch, *COUNT_FIELDS)


@durable_execution
async def parallel_concurrent(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """8-11: two branches at a time; results still come in branch order."""
    batch = await ctx.parallel(
        [returning("r0"), returning("r1"), returning("r2")], name="concurrent", max_concurrency=2
    )
    return batch.results()


@durable_execution
async def parallel_flat(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """8-12: two branches of one step each, in virtual contexts: their steps hang directly
    under the Parallel context, with no ParallelBranch context per branch."""
    batch = await ctx.parallel(
        [stepping("fa"), stepping("fb")], name="flat", max_concurrency=1, nesting=Nesting.FLAT
    )
    return batch.results()


@durable_execution
async def parallel_tolerated_percentage_exceeded(
    event: dict[str, Any], ctx: DurableContext
) -> dict[str, Any]:
    """8-13: 2 failures of 4 branches (50%) exceed the tolerated 25%; the rest never start."""
    batch = await ctx.parallel(
        [failing, failing, returning("c"), returning("d")],
        name="tolerated-pct",
        max_concurrency=1,
        completion=CompletionConfig(tolerated_failure_percentage=25),
    )
    return outcome(batch, *COUNT_FIELDS)


async def waiting_branch(branch_ctx: DurableContext) -> str:
    """Branch 1 of 8-14: a 2-second wait, which suspends the execution."""
    await branch_ctx.wait(2)
    return "b1"


@durable_execution
async def parallel_replay(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """8-14: on replay the finished branch 0 returns its recorded result; branch 1 resumes."""
    batch = await ctx.parallel([stepping("b0"), waiting_branch], name="replay", max_concurrency=1)
    return batch.results()


class WrappedEnvelope:
    """Per-branch serdes of 8-15: a value `v` is stored as `{"wrapped": v}`."""

    def serialize(self, value: Any) -> str | None:
        """`"x"` becomes `{"wrapped": "x"}`."""
        return json.dumps({"wrapped": value})

    def deserialize(self, payload: str | None, result_type: Any = None) -> Any:
        """`{"wrapped": "x"}` becomes `"x"`."""
        return None if payload is None else json.loads(payload)["wrapped"]


@durable_execution
async def parallel_item_serdes(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """8-15: branches returning "x" and "y", each checkpointed as `{"wrapped": value}`."""
    batch = await ctx.parallel(
        [returning("x"), returning("y")],
        name="serde",
        max_concurrency=1,
        item_serdes=WrappedEnvelope(),
    )
    return batch.results()


@durable_execution
async def parallel_all_fail_tolerated(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    """8-16: all three branches fail, which a tolerance of three accepts."""
    batch = await ctx.parallel(
        [failing, failing, failing],
        name="all-fail",
        max_concurrency=1,
        completion=CompletionConfig(tolerated_failure_count=3),
    )
    return outcome(batch, *ALL_FIELDS)


@durable_execution
async def parallel_min_successful_not_reached(
    event: dict[str, Any], ctx: DurableContext
) -> dict[str, Any]:
    """8-17: min_successful=3 is never reached; with no tolerance set, failures do not stop it."""
    batch = await ctx.parallel(
        [returning("a"), failing, returning("c")],
        name="min-not-reached",
        max_concurrency=1,
        completion=CompletionConfig(min_successful=3),
    )
    return outcome(batch, *ALL_FIELDS)


@durable_execution
async def parallel_combined_completion(
    event: dict[str, Any], ctx: DurableContext
) -> dict[str, Any]:
    """8-18: the tolerance of one failure is exceeded before three branches could succeed."""
    batch = await ctx.parallel(
        [failing, failing, returning("c"), returning("d")],
        name="combined",
        max_concurrency=1,
        completion=CompletionConfig(min_successful=3, tolerated_failure_count=1),
    )
    return outcome(batch, *COUNT_FIELDS)


@durable_execution
async def parallel_invalid_concurrency(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """8-19: max_concurrency=0 raises `ValidationError` before anything is checkpointed."""
    batch = await ctx.parallel(
        [returning("a"), returning("b")], name="bad-concurrency", max_concurrency=0
    )
    return batch.results()


@durable_execution
async def parallel_accessors(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    """8-20: what the `BatchResult` accessors report for two successes and one failure."""
    batch = await ctx.parallel(
        [returning("a"), failing, returning("c")],
        name="accessors",
        max_concurrency=1,
        completion=CompletionConfig(tolerated_failure_count=1),
    )
    return {
        "hasFailure": batch.failure_count > 0,
        "successCount": batch.success_count,
        "failureCount": batch.failure_count,
        "errorCount": len(batch.errors()),
    }


async def inner_parallel(branch_ctx: DurableContext) -> list[Any]:
    """The single branch of 8-21: a parallel of its own."""
    inner = await branch_ctx.parallel(
        [stepping("i1"), stepping("i2")], name="inner", max_concurrency=1
    )
    return inner.results()


@durable_execution
async def parallel_nested(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """8-21: a parallel inside a parallel branch."""
    batch = await ctx.parallel([inner_parallel], name="outer", max_concurrency=1)
    return batch.results()


@durable_execution
async def parallel_tolerated_percentage_boundary(
    event: dict[str, Any], ctx: DurableContext
) -> dict[str, Any]:
    """8-22: 1 failure of 4 (exactly 25%) does not exceed the tolerated 25%; all branches run."""
    batch = await ctx.parallel(
        [failing, returning("b"), returning("c"), returning("d")],
        name="pct-boundary",
        max_concurrency=1,
        completion=CompletionConfig(tolerated_failure_percentage=25),
    )
    return outcome(batch, *ALL_FIELDS)


HANDLERS: dict[str, DurableHandler[Any, Any]] = {
    "8-1": parallel_basic,
    "8-2": parallel_unnamed,
    "8-3": parallel_named_branches,
    "8-4": parallel_heterogeneous,
    "8-5": parallel_empty,
    "8-6": parallel_fail_fast,
    "8-7": parallel_raise_if_failed,
    "8-8": parallel_min_successful,
    "8-9": parallel_tolerated_count,
    "8-10": parallel_tolerated_count_exceeded,
    "8-11": parallel_concurrent,
    "8-12": parallel_flat,
    "8-13": parallel_tolerated_percentage_exceeded,
    "8-14": parallel_replay,
    "8-15": parallel_item_serdes,
    "8-16": parallel_all_fail_tolerated,
    "8-17": parallel_min_successful_not_reached,
    "8-18": parallel_combined_completion,
    "8-19": parallel_invalid_concurrency,
    "8-20": parallel_accessors,
    "8-21": parallel_nested,
    "8-22": parallel_tolerated_percentage_boundary,
}

TARGETS: dict[str, Any] = {}
