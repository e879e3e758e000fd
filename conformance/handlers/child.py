"""Conformance handlers for the child-context suite (requirements 3-1 to 3-18).

`ctx.run_in_child_context(fn, ...)` runs `fn(child_ctx, ...)` as one checkpointed CONTEXT
operation: the operations inside it are its children (`ParentId`), and once it has succeeded,
replay returns its recorded result without running `fn` again. A result over 256 KiB is not
stored; the context is marked `ReplayChildren` and replay runs `fn` again, its children
returning their recorded results.

A context is named after its function unless `name=` is given.

Logging: `ctx.logger` is silent while its context replays. The requirements that count log
records to see whether a body ran again (3-11, 3-17) want every run of the body to log, so
those bodies log with `durable_async.logger`, which logs on replay too and still puts the
execution's ARN on every record.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from durable_async import (
    ChildContextError,
    DurableContext,
    DurableHandler,
    Duration,
    RetryPolicy,
    durable_execution,
    logger,
)

from . import crash_invocation
from .step import ATTEMPTS, UppercaseSerdes

__all__ = ["HANDLERS", "TARGETS"]


def echo(value: str) -> str:
    """Step body: the value it was given."""
    return value


def fail(message: str) -> None:
    """Step body that raises."""
    raise ValueError(message)


# -- 3-1 .. 3-3: steps inside a child context ----------------------------------------------------


async def single_step(child: DurableContext, value: str) -> str:
    """Child body: one step."""
    return await child.step(echo, value)


@durable_execution
async def child_basic(event: str, ctx: DurableContext) -> str:
    """3-1: a child context with one step; the step's `ParentId` is the context."""
    return await ctx.run_in_child_context(single_step, event)


@durable_execution
async def child_named(event: dict[str, str], ctx: DurableContext) -> str:
    """3-2: the context's name comes from the input."""
    return await ctx.run_in_child_context(single_step, event["value"], name=event["name"])


async def two_steps(child: DurableContext, value: str) -> str:
    """Child body: the second step receives the first one's result."""
    first = await child.step(echo, value, name="first")
    return await child.step(echo, first, name="second")


@durable_execution
async def child_sequential_steps(event: str, ctx: DurableContext) -> str:
    """3-3: two sequential steps inside one child context."""
    return await ctx.run_in_child_context(two_steps, event)


# -- 3-4, 3-5, 3-15: errors ----------------------------------------------------------------------


async def failing_step(child: DurableContext) -> None:
    """Child body: a step that fails with no retry."""
    await child.step(fail, "the child's step failed", retry=RetryPolicy.none())


@durable_execution
async def child_error(event: None, ctx: DurableContext) -> None:
    """3-4: the step's failure fails the context (`ChildContextError`), then the execution."""
    await ctx.run_in_child_context(failing_step)


@durable_execution
async def child_error_caught(event: str, ctx: DurableContext) -> str:
    """3-5: the handler catches the `ChildContextError` and recovers with a step."""
    try:
        await ctx.run_in_child_context(failing_step)
    except ChildContextError as exc:
        logger.info("child context failed (%s); recovering", exc.error_type)
    return await ctx.step(echo, event, name="recover")


async def raise_directly(child: DurableContext) -> None:
    """Child body that raises before any durable operation."""
    raise ValueError("the child context failed on its own")


@durable_execution
async def child_error_without_step(event: None, ctx: DurableContext) -> None:
    """3-15: the context fails with the body's error; there is no step in the history."""
    await ctx.run_in_child_context(raise_directly)


# -- 3-6: nesting --------------------------------------------------------------------------------


async def inner(child: DurableContext, value: str) -> str:
    """Inner child body: one step."""
    return await child.step(echo, value, name="inner_step")


async def outer(child: DurableContext, value: str) -> str:
    """Outer child body: a step, then a nested child context."""
    await child.step(echo, value, name="outer_step")
    return await child.run_in_child_context(inner, value)


@durable_execution
async def child_nested(event: str, ctx: DurableContext) -> str:
    """3-6: a child context inside a child context; each level's `ParentId` is its parent."""
    return await ctx.run_in_child_context(outer, event)


# -- 3-7, 3-8: retries inside a child context ----------------------------------------------------


@durable_execution
async def child_step_retry(event: str, ctx: DurableContext) -> str:
    """3-7: the step inside fails once, is retried after 1 s, then succeeds."""
    arn = ctx.execution_arn

    def unreliable(value: str) -> str:
        if ATTEMPTS.next(arn, "unreliable") == 1:
            raise RuntimeError("first attempt failed")
        return value

    async def body(child: DurableContext) -> str:
        return await child.step(unreliable, event, retry=RetryPolicy.fixed(3, 1))

    return await ctx.run_in_child_context(body, name="retrying_child")


async def always_failing_step(child: DurableContext) -> None:
    """Child body: a step that fails on both of its 2 attempts."""
    await child.step(fail, "failed again", retry=RetryPolicy.fixed(2, 1))


@durable_execution
async def child_retry_exhausted(event: None, ctx: DurableContext) -> None:
    """3-8: the step's retries run out; the context fails, then the execution."""
    await ctx.run_in_child_context(always_failing_step)


# -- 3-9, 3-10, 3-13, 3-18: waits and replay -----------------------------------------------------


@durable_execution
async def child_replay(event: str, ctx: DurableContext) -> str:
    """3-9: after the wait, replay returns the context's recorded result without running it."""
    value = await ctx.run_in_child_context(single_step, event)
    await ctx.wait(Duration(1))
    return value


async def step_then_wait(child: DurableContext, value: str) -> str:
    """Child body: a step, then a wait (both children of the context)."""
    await child.step(echo, value)
    await child.wait(Duration(1))
    return value


@durable_execution
async def child_with_wait(event: str, ctx: DurableContext) -> str:
    """3-10: the wait inside the context suspends the invocation; the context ends after it."""
    return await ctx.run_in_child_context(step_then_wait, event)


async def only_wait(child: DurableContext, value: str) -> str:
    """Child body: nothing but a wait."""
    await child.wait(Duration(1))
    return value


@durable_execution
async def child_wait_then_step(event: str, ctx: DurableContext) -> str:
    """3-13: a context holding only a wait, then a step outside it."""
    value = await ctx.run_in_child_context(only_wait, event)
    return await ctx.step(echo, value)


@durable_execution
async def child_then_step_and_wait(event: str, ctx: DurableContext) -> str:
    """3-18: a step and a wait inside the context, then a step and a wait after it."""
    value = await ctx.run_in_child_context(step_then_wait, event)
    result = await ctx.step(echo, value)
    await ctx.wait(Duration(1))
    return result


# -- 3-11: a result too large to checkpoint ------------------------------------------------------

LARGE_RESULT_CHARS = 300 * 1024


async def build_large_result(child: DurableContext, value: str) -> str:
    """Child body: logs (outside any step, on every run), then builds a 300 KiB result."""
    logger.info("building a large result from %s", value)
    seed: str = await child.step(echo, value)
    return (seed * (LARGE_RESULT_CHARS // len(seed) + 1))[:LARGE_RESULT_CHARS]


@durable_execution
async def child_large_result(event: str, ctx: DurableContext) -> int:
    """3-11: the context's result exceeds 256 KiB: it is checkpointed with `ReplayChildren`
    and no payload, and replay runs the body again to rebuild it (logging again)."""
    large = await ctx.run_in_child_context(build_large_result, event)
    await ctx.wait(Duration(1))
    return len(large)


# -- 3-12: the process dies inside a child context -----------------------------------------------


@durable_execution
async def child_interrupted(event: str, ctx: DurableContext) -> str:
    """3-12: the process dies while the (at-least-once) step runs, after its START reached the
    service; the next invocation runs the body again and records its success."""
    arn = ctx.execution_arn

    async def fragile(value: str) -> str:
        if ATTEMPTS.next(arn, "fragile") == 1:
            await asyncio.sleep(0.2)  # the fire-and-forget START is checkpointed meanwhile
            crash_invocation()
        return value

    async def body(child: DurableContext) -> str:
        return await child.step(fragile, event)

    return await ctx.run_in_child_context(body, name="interrupted_child")


# -- 3-14, 3-16, 3-17: results -------------------------------------------------------------------


@durable_execution
async def child_custom_serdes(event: str, ctx: DurableContext) -> str:
    """3-14: the context's serdes stores its result upper-cased (`HELLO CHILD`, not JSON)."""
    result: str = await ctx.run_in_child_context(single_step, event, serdes=UppercaseSerdes())
    return result


async def return_none(child: DurableContext) -> None:
    """Child body: returns nothing, without any durable operation."""
    return None


@durable_execution
async def child_none_result(event: None, ctx: DurableContext) -> None:
    """3-16: a context returning `None` succeeds with no payload."""
    return await ctx.run_in_child_context(return_none)


async def log_and_return(child: DurableContext, value: str) -> str:
    """Child body: only logs (on every run of the body) and returns."""
    logger.info("child context running for %s", value)
    return value


@durable_execution
async def child_logs_once(event: str, ctx: DurableContext) -> str:
    """3-17: the body logs once; replay after the wait returns the recorded result without
    running the body, so the log appears once."""
    value = await ctx.run_in_child_context(log_and_return, event)
    await ctx.wait(Duration(1))
    return value


HANDLERS: dict[str, DurableHandler[Any, Any]] = {
    "3-1": child_basic,
    "3-2": child_named,
    "3-3": child_sequential_steps,
    "3-4": child_error,
    "3-5": child_error_caught,
    "3-6": child_nested,
    "3-7": child_step_retry,
    "3-8": child_retry_exhausted,
    "3-9": child_replay,
    "3-10": child_with_wait,
    "3-11": child_large_result,
    "3-12": child_interrupted,
    "3-13": child_wait_then_step,
    "3-14": child_custom_serdes,
    "3-15": child_error_without_step,
    "3-16": child_none_result,
    "3-17": child_logs_once,
    "3-18": child_then_step_and_wait,
}

TARGETS: dict[str, DurableHandler[Any, Any] | Callable[[Any], Any]] = {}
