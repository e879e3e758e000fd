"""Conformance handlers for the wait-for-callback suite (requirements 7-1 to 7-15).

`ctx.wait_for_callback(submitter, ...)` creates a callback, runs `submitter(callback_id)` as a
step (this is where a real workflow sends the id to whoever must answer) and waits for the
answer, all inside one child context of sub-type `WaitForCallback`. The event is
the requirement's `Input`; where the requirement says "using the input as the operation
name", the event is the name.

These handlers invoke no other functions, so `TARGETS` is empty.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from durable_async import (
    CallbackError,
    CallbackTimeoutError,
    DurableContext,
    DurableHandler,
    RetryPolicy,
    durable_execution,
)

__all__ = ["HANDLERS", "TARGETS"]

logger = logging.getLogger(__name__)


def request_approval(callback_id: str) -> None:
    """Submitter: hand the callback id to the approver (here: log it)."""
    logger.info("approval requested; answer callback %s", callback_id)


def submit_to_unavailable_queue(callback_id: str) -> None:
    """Submitter that always fails: the queue it sends to is down."""
    raise ConnectionError(f"queue unavailable; could not submit callback {callback_id}")


# -- 7-1 .. 7-3: success -------------------------------------------------------------------------


@durable_execution
async def wait_for_callback_basic(event: str, ctx: DurableContext) -> Any:
    """7-1: named after the input; returns what the sender sends."""
    return await ctx.wait_for_callback(request_approval, name=event)


@durable_execution
async def wait_for_callback_named(event: dict[str, Any], ctx: DurableContext) -> Any:
    """7-2: the static name "approval"."""
    return await ctx.wait_for_callback(request_approval, name="approval")


@durable_execution
async def wait_for_callback_anonymous(event: dict[str, Any], ctx: DurableContext) -> Any:
    """7-3: an inline submitter and no name."""
    return await ctx.wait_for_callback(lambda callback_id: logger.info("submit %s", callback_id))


# -- 7-4 .. 7-7: failures --------------------------------------------------------------------------


@durable_execution
async def wait_for_callback_failure(event: str, ctx: DurableContext) -> Any:
    """7-4: the sender reports a failure; the uncaught `CallbackError` fails the execution."""
    return await ctx.wait_for_callback(request_approval, name=event)


@durable_execution
async def wait_for_callback_timeout(event: str, ctx: DurableContext) -> Any:
    """7-5: nobody answers within 3 seconds; the uncaught `CallbackTimeoutError` fails it."""
    return await ctx.wait_for_callback(request_approval, name=event, timeout=3)


@durable_execution
async def wait_for_callback_failure_caught(event: str, ctx: DurableContext) -> Any:
    """7-6: the sender reports a failure; the handler catches it and returns "recovered"."""
    try:
        return await ctx.wait_for_callback(request_approval, name=event)
    except CallbackError as exc:
        logger.info("callback failed (%s): %s", exc.error_type, exc.error_message)
        return "recovered"


@durable_execution
async def wait_for_callback_submitter_fails(event: str, ctx: DurableContext) -> Any:
    """7-7: the submitter fails on both of its 2 attempts (1 s apart); the execution fails."""
    return await ctx.wait_for_callback(
        submit_to_unavailable_queue, name=event, retry=RetryPolicy.fixed(2, 1)
    )


# -- 7-8 .. 7-10: among other operations -----------------------------------------------------------


@durable_execution
async def wait_for_callback_in_child(event: str, ctx: DurableContext) -> Any:
    """7-8: the wait_for_callback runs inside a child context named "wrapper"."""

    async def wrapper(child: DurableContext) -> Any:
        return await child.wait_for_callback(request_approval, name=event)

    return await ctx.run_in_child_context(wrapper, name="wrapper")


@durable_execution
async def two_wait_for_callbacks(event: dict[str, Any], ctx: DurableContext) -> Any:
    """7-9: "first", then "second"; returns the second result."""
    first = await ctx.wait_for_callback(request_approval, name="first")
    logger.info("first answer: %r", first)
    return await ctx.wait_for_callback(request_approval, name="second")


def load_order() -> dict[str, Any]:
    """Step body: fixed order data."""
    return {"order": "A-1", "amount": 42}


@durable_execution
async def wait_step_then_wait_for_callback(event: str, ctx: DurableContext) -> Any:
    """7-10: a 1-second wait, a step, then the wait_for_callback."""
    await ctx.wait(1)
    order = await ctx.step(load_order)
    logger.info("requesting approval for %r", order)
    return await ctx.wait_for_callback(request_approval, name=event)


# -- 7-11 .. 7-15: typed results, heartbeats, timeouts, empty results -----------------------------


class Decision(BaseModel):
    """The sender's JSON answer."""

    status: str


@durable_execution
async def wait_for_callback_typed(event: str, ctx: DurableContext) -> str:
    """7-11: the answer is validated into `Decision`; returns its status."""
    decision: Decision = await ctx.wait_for_callback(
        request_approval, name=event, result_type=Decision
    )
    return decision.status


@durable_execution
async def wait_for_callback_heartbeat_timeout(event: str, ctx: DurableContext) -> Any:
    """7-12: no heartbeat within 5 seconds; the uncaught `CallbackTimeoutError` fails it."""
    return await ctx.wait_for_callback(request_approval, name=event, heartbeat_timeout=5)


@durable_execution
async def wait_for_callback_heartbeat_then_success(event: str, ctx: DurableContext) -> Any:
    """7-13: heartbeats (10-second interval) keep it alive until the answer arrives."""
    return await ctx.wait_for_callback(request_approval, name=event, heartbeat_timeout=10)


@durable_execution
async def wait_for_callback_timeout_caught(event: str, ctx: DurableContext) -> Any:
    """7-14: nobody answers within 3 seconds; the handler catches the timeout."""
    try:
        return await ctx.wait_for_callback(request_approval, name=event, timeout=3)
    except CallbackTimeoutError as exc:
        logger.info("callback timed out: %s", exc.error_message)
        return "timed-out-handled"


@durable_execution
async def wait_for_callback_empty_result(event: str, ctx: DurableContext) -> Any:
    """7-15: the sender succeeds without a result; the handler returns null."""
    result = await ctx.wait_for_callback(request_approval, name=event)
    logger.info("answer: %r", result)
    return result


HANDLERS: dict[str, DurableHandler[Any, Any]] = {
    "7-1": wait_for_callback_basic,
    "7-2": wait_for_callback_named,
    "7-3": wait_for_callback_anonymous,
    "7-4": wait_for_callback_failure,
    "7-5": wait_for_callback_timeout,
    "7-6": wait_for_callback_failure_caught,
    "7-7": wait_for_callback_submitter_fails,
    "7-8": wait_for_callback_in_child,
    "7-9": two_wait_for_callbacks,
    "7-10": wait_step_then_wait_for_callback,
    "7-11": wait_for_callback_typed,
    "7-12": wait_for_callback_heartbeat_timeout,
    "7-13": wait_for_callback_heartbeat_then_success,
    "7-14": wait_for_callback_timeout_caught,
    "7-15": wait_for_callback_empty_result,
}

TARGETS: dict[str, DurableHandler[Any, Any] | Callable[[Any], Any]] = {}
