"""Conformance handlers for the callback suite (requirements 4-1 to 4-19).

Each handler creates one or two callbacks with `ctx.create_callback`, hands the id to the
outside world and awaits the answer. The event is the requirement's `Input`; where the
requirement says "using the input as the callback name", the event is the name.

These handlers invoke no other functions, so `TARGETS` is empty.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from durable_async import (
    CallbackError,
    CallbackTimeoutError,
    DurableContext,
    DurableHandler,
    durable_execution,
)

__all__ = ["HANDLERS", "TARGETS"]

logger = logging.getLogger(__name__)


def notify_approver(callback_id: str) -> str:
    """Step body: tell the approver which callback id to answer (here: log it)."""
    logger.info("approval requested; answer callback %s", callback_id)
    return callback_id


# -- 4-1 .. 4-6: one callback, one outcome -------------------------------------------------------


@durable_execution
async def create_callback_basic(event: str, ctx: DurableContext) -> Any:
    """4-1: create a callback named after the input and return what the sender sends."""
    callback = await ctx.create_callback(name=event)
    logger.info("waiting for callback %s", callback.callback_id)
    return await callback


@durable_execution
async def create_callback_named(event: dict[str, Any], ctx: DurableContext) -> Any:
    """4-2: a callback with the explicit name "approval"."""
    callback = await ctx.create_callback(name="approval")
    return await callback


@durable_execution
async def create_callback_timeout(event: str, ctx: DurableContext) -> Any:
    """4-3: nobody answers within 5 seconds, so awaiting raises `CallbackTimeoutError`."""
    callback = await ctx.create_callback(name=event, timeout=5)
    return await callback


@durable_execution
async def create_callback_heartbeat_timeout(event: str, ctx: DurableContext) -> Any:
    """4-4: no heartbeat within 5 seconds, so awaiting raises `CallbackTimeoutError`."""
    callback = await ctx.create_callback(name=event, heartbeat_timeout=5)
    return await callback


@durable_execution
async def create_callback_heartbeat_then_success(event: str, ctx: DurableContext) -> Any:
    """4-5: heartbeats keep the callback alive (10-second interval) until the success arrives."""
    callback = await ctx.create_callback(name=event, heartbeat_timeout=10)
    return await callback


@durable_execution
async def create_callback_failure(event: str, ctx: DurableContext) -> Any:
    """4-6: the sender reports a failure; the uncaught `CallbackError` fails the execution."""
    callback = await ctx.create_callback(name=event)
    return await callback


# -- 4-7 .. 4-11: other work between creating the callback and awaiting it ---------------------


@durable_execution
async def callback_step_failure(event: str, ctx: DurableContext) -> Any:
    """4-7: create the callback, notify the approver in a step, then await a failure."""
    callback = await ctx.create_callback(name=event)
    await ctx.step(notify_approver, callback.callback_id)
    return await callback


@durable_execution
async def callback_step_timeout(event: str, ctx: DurableContext) -> Any:
    """4-8: as 4-7, but nobody answers within the 5-second timeout."""
    callback = await ctx.create_callback(name=event, timeout=5)
    await ctx.step(notify_approver, callback.callback_id)
    return await callback


@durable_execution
async def callback_wait_success(event: str, ctx: DurableContext) -> Any:
    """4-9: the answer arrives during a 5-second wait; it is read once the wait is over."""
    callback = await ctx.create_callback(name=event)
    await ctx.wait(5)
    return await callback


@durable_execution
async def callback_wait_failure(event: str, ctx: DurableContext) -> Any:
    """4-10: a failure arrives during a 5-second wait; awaiting afterwards raises it."""
    callback = await ctx.create_callback(name=event)
    await ctx.wait(5)
    return await callback


@durable_execution
async def callback_wait_timeout(event: str, ctx: DurableContext) -> Any:
    """4-11: the callback times out (3 s) during a 6-second wait; awaiting afterwards raises."""
    callback = await ctx.create_callback(name=event, timeout=3)
    await ctx.wait(6)
    return await callback


# -- 4-12 .. 4-14: replay across a later wait ----------------------------------------------------


@durable_execution
async def callback_then_wait(event: str, ctx: DurableContext) -> Any:
    """4-12: await the callback, wait 2 seconds, then return the callback's result."""
    callback = await ctx.create_callback(name=event)
    result = await callback
    await ctx.wait(2)
    return result


@durable_execution
async def callback_failure_caught_then_wait(event: str, ctx: DurableContext) -> str:
    """4-13: catch the sender's failure, wait 2 seconds, return the error message."""
    callback = await ctx.create_callback(name=event)
    try:
        message = f"approved: {await callback}"
    except CallbackError as exc:
        message = f"callback failed: {exc.error_message}"
    await ctx.wait(2)
    return message


@durable_execution
async def callback_timeout_caught_then_wait(event: str, ctx: DurableContext) -> str:
    """4-14: catch the 3-second timeout, wait 2 seconds, return the error message."""
    callback = await ctx.create_callback(name=event, timeout=3)
    try:
        message = f"approved: {await callback}"
    except CallbackTimeoutError as exc:
        message = f"callback timed out: {exc.error_message}"
    await ctx.wait(2)
    return message


# -- 4-15, 4-16: typed results -------------------------------------------------------------------


class Greeting(BaseModel):
    """The sender's JSON object; the ISO-8601 `timestamp` string becomes a `datetime`."""

    id: str
    message: str
    timestamp: dt.datetime


@durable_execution
async def callback_typed_object(event: str, ctx: DurableContext) -> dict[str, Any]:
    """4-15: deserialise the result into `Greeting` and return it with an epoch timestamp."""
    callback = await ctx.create_callback(name=event, result_type=Greeting)
    greeting: Greeting = await callback
    return {
        "received": {
            "id": greeting.id,
            "message": greeting.message,
            "timestamp": int(greeting.timestamp.timestamp()),
        }
    }


class NumberFromText:
    """Callback serdes of 4-16: the sender's payload (a JSON string such as `"42"`, or a bare
    number) is parsed into an `int`."""

    def serialize(self, value: Any) -> str | None:
        """Numbers are stored as their JSON text."""
        return None if value is None else json.dumps(value)

    def deserialize(self, payload: str | None, result_type: Any = None) -> Any:
        """`"42"` (or `42`) becomes the number 42."""
        return None if payload is None else int(json.loads(payload))


@durable_execution
async def callback_typed_number(event: str, ctx: DurableContext) -> dict[str, int]:
    """4-16: a custom deserialiser turns the result into a number; return it with its double."""
    callback = await ctx.create_callback(name=event, serdes=NumberFromText())
    count: int = await callback
    return {"count": count, "doubled": count * 2}


# -- 4-17 .. 4-19: two callbacks -----------------------------------------------------------------


@durable_execution
async def two_callbacks_sequential(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """4-17: create and await A, then create and await B."""
    name_a, name_b = event
    first = await ctx.create_callback(name=name_a)
    result_a = await first
    second = await ctx.create_callback(name=name_b)
    result_b = await second
    return [result_a, result_b]


@durable_execution
async def two_callbacks_in_order(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """4-18: create A and B, then await A, then B."""
    name_a, name_b = event
    first = await ctx.create_callback(name=name_a)
    second = await ctx.create_callback(name=name_b)
    result_a = await first
    result_b = await second
    return [result_a, result_b]


@durable_execution
async def two_callbacks_reverse_order(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """4-19: create A and B, then await B first, then A."""
    name_a, name_b = event
    first = await ctx.create_callback(name=name_a)
    second = await ctx.create_callback(name=name_b)
    result_b = await second
    result_a = await first
    return [result_a, result_b]


HANDLERS: dict[str, DurableHandler[Any, Any]] = {
    "4-1": create_callback_basic,
    "4-2": create_callback_named,
    "4-3": create_callback_timeout,
    "4-4": create_callback_heartbeat_timeout,
    "4-5": create_callback_heartbeat_then_success,
    "4-6": create_callback_failure,
    "4-7": callback_step_failure,
    "4-8": callback_step_timeout,
    "4-9": callback_wait_success,
    "4-10": callback_wait_failure,
    "4-11": callback_wait_timeout,
    "4-12": callback_then_wait,
    "4-13": callback_failure_caught_then_wait,
    "4-14": callback_timeout_caught_then_wait,
    "4-15": callback_typed_object,
    "4-16": callback_typed_number,
    "4-17": two_callbacks_sequential,
    "4-18": two_callbacks_in_order,
    "4-19": two_callbacks_reverse_order,
}

TARGETS: dict[str, DurableHandler[Any, Any] | Callable[[Any], Any]] = {}
