"""Conformance handlers for the wait suite (requirements 2-1 to 2-5).

A wait is a durable timer kept by the service: the invocation suspends, and the service invokes
the function again when the time is up. Durations are whole seconds, a `timedelta` or a
`Duration`; they reach the service as seconds (`WaitStartedDetails.Duration`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from durable_async import DurableContext, DurableHandler, Duration, durable_execution

__all__ = ["HANDLERS", "TARGETS"]


@durable_execution
async def wait_basic(event: None, ctx: DurableContext) -> None:
    """2-1: one 2-second wait: suspend, then succeed on the next invocation."""
    await ctx.wait(Duration(2))


@durable_execution
async def wait_named(event: None, ctx: DurableContext) -> None:
    """2-2: a wait with a name, which the history shows on both of its events."""
    await ctx.wait(Duration(2), name="custom_wait_name")


@durable_execution
async def wait_sequential(event: None, ctx: DurableContext) -> dict[str, int]:
    """2-3: two waits in a row, each its own suspension and re-invocation."""
    await ctx.wait(Duration(2), name="wait-1")
    await ctx.wait(Duration(2), name="wait-2")
    return {"completedWaits": 2}


@durable_execution
async def wait_minutes(event: None, ctx: DurableContext) -> None:
    """2-4: a one-minute wait reaches the service as 60 seconds."""
    await ctx.wait(Duration.minutes(1))


@durable_execution
async def wait_hours(event: None, ctx: DurableContext) -> None:
    """2-5: a one-hour wait reaches the service as 3600 seconds."""
    await ctx.wait(Duration.hours(1))


HANDLERS: dict[str, DurableHandler[Any, Any]] = {
    "2-1": wait_basic,
    "2-2": wait_named,
    "2-3": wait_sequential,
    "2-4": wait_minutes,
    "2-5": wait_hours,
}

TARGETS: dict[str, DurableHandler[Any, Any] | Callable[[Any], Any]] = {}
