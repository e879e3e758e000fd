"""Conformance handlers for the wait-for-condition suite (requirements 6-1 to 6-13).

Each handler polls a check function with `ctx.wait_for_condition`: the check turns the current
state into the next one, and the wait strategy decides after every check whether to stop or to
check again later. The state is checkpointed between checks, so polling survives suspension.
The event is the requirement's `Input`; where the requirement names a threshold, it is the event.

These handlers invoke no other functions, so `TARGETS` is empty.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, model_serializer, model_validator

from durable_async import (
    DurableContext,
    DurableHandler,
    WaitForConditionError,
    WaitStrategy,
    durable_execution,
)

__all__ = ["HANDLERS", "TARGETS"]

logger = logging.getLogger(__name__)


def increment(count: int) -> int:
    """Check function: one more poll, one more count."""
    logger.info("poll: %d -> %d", count, count + 1)
    return count + 1


def reached(threshold: int) -> WaitStrategy[int]:
    """Poll every second until the count reaches `threshold`."""
    return WaitStrategy(until=lambda count: count >= threshold, initial_delay=1, backoff_rate=1.0)


def status_endpoint_down(status: str) -> str:
    """Check function that fails: the service it polls is unavailable."""
    raise ConnectionError(f"status endpoint unavailable (last status {status!r})")


def is_ready(status: str) -> bool:
    """Condition for the failing polls: the job reports "ready"."""
    return status == "ready"


# -- 6-1 .. 6-5: polling an integer --------------------------------------------------------------


@durable_execution
async def poll_until_threshold(event: int, ctx: DurableContext) -> int:
    """6-1: count up from 0 until the count reaches the input (3), checking once per poll."""
    return await ctx.wait_for_condition(increment, initial_state=0, wait_strategy=reached(event))


@durable_execution
async def poll_already_done(event: dict[str, Any], ctx: DurableContext) -> int:
    """6-2: the state (5) already meets the condition, so the first check ends the polling."""

    def unchanged(level: int) -> int:
        return level

    return await ctx.wait_for_condition(
        unchanged, initial_state=5, wait_strategy=WaitStrategy[int](until=lambda level: level >= 5)
    )


@durable_execution
async def poll_named(event: dict[str, Any], ctx: DurableContext) -> int:
    """6-3: the operation is named "poll-status"; the name is on every poll's events."""
    return await ctx.wait_for_condition(
        increment, initial_state=0, wait_strategy=reached(2), name="poll-status"
    )


@durable_execution
async def poll_from_initial_state(event: int, ctx: DurableContext) -> int:
    """6-4: start from 5; each check's state seeds the next, until the input (8) is reached."""
    return await ctx.wait_for_condition(increment, initial_state=5, wait_strategy=reached(event))


@durable_execution
async def poll_fixed_delay(event: int, ctx: DurableContext) -> int:
    """6-5: a fixed 2-second delay between checks (no backoff, no jitter)."""
    threshold: int = event
    every_two_seconds = WaitStrategy[int](
        until=lambda count: count >= threshold, initial_delay=2, backoff_rate=1.0, jitter="none"
    )
    return await ctx.wait_for_condition(increment, initial_state=0, wait_strategy=every_two_seconds)


# -- 6-6 .. 6-8: failures --------------------------------------------------------------------------


@durable_execution
async def poll_max_attempts_exceeded(event: dict[str, Any], ctx: DurableContext) -> int:
    """6-6: the condition never holds; after 3 checks `WaitForConditionError` fails the run."""
    never = WaitStrategy[int](
        until=lambda _: False, max_attempts=3, initial_delay=1, backoff_rate=1
    )
    return await ctx.wait_for_condition(increment, initial_state=0, wait_strategy=never)


@durable_execution
async def poll_check_raises(event: dict[str, Any], ctx: DurableContext) -> str:
    """6-7: the first check raises; the uncaught `WaitForConditionError` fails the execution."""
    return await ctx.wait_for_condition(
        status_endpoint_down, initial_state="queued", wait_strategy=WaitStrategy(until=is_ready)
    )


@durable_execution
async def poll_check_raises_caught(event: dict[str, Any], ctx: DurableContext) -> str:
    """6-8: the first check raises; the handler catches the error and returns "recovered"."""
    try:
        return await ctx.wait_for_condition(
            status_endpoint_down, initial_state="queued", wait_strategy=WaitStrategy(until=is_ready)
        )
    except WaitForConditionError as exc:
        logger.info("polling failed (%s): %s", exc.error_type, exc.error_message)
        return "recovered"


# -- 6-9 .. 6-11: other kinds of state -------------------------------------------------------------


def advance_job(job: dict[str, Any]) -> dict[str, Any]:
    """Check function: one more attempt; the job is DONE from the second attempt on."""
    attempts = job["attempts"] + 1
    return {"status": "DONE" if attempts >= 2 else "PENDING", "attempts": attempts}


@durable_execution
async def poll_object_state(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    """6-9: the state is an object; poll while its status is PENDING."""
    return await ctx.wait_for_condition(
        advance_job,
        initial_state={"status": "PENDING", "attempts": 0},
        wait_strategy=WaitStrategy[dict[str, Any]](
            until=lambda job: job["status"] != "PENDING", initial_delay=1
        ),
    )


@durable_execution
async def poll_null_state(event: dict[str, Any], ctx: DurableContext) -> None:
    """6-10: the check returns null and the strategy stops at once; the result is null."""

    def nothing_to_report(state: None) -> None:
        return None

    return await ctx.wait_for_condition(
        nothing_to_report,
        initial_state=None,
        wait_strategy=WaitStrategy[None](until=lambda _: True),
    )


class Marks(BaseModel):
    """A string state with its own checkpoint encoding.

    It is serialised as `{"b64": <base64 of the text>}` and decoded back when the checkpoint is
    read, so the stored state never shows the text in the clear.
    """

    text: str

    @model_serializer
    def _encode(self) -> dict[str, str]:
        return {"b64": base64.b64encode(self.text.encode()).decode()}

    @model_validator(mode="before")
    @classmethod
    def _decode(cls, data: Any) -> Any:
        if isinstance(data, dict) and "b64" in data:
            return {"text": base64.b64decode(data["b64"]).decode()}
        return data


def add_mark(marks: Marks) -> Marks:
    """Check function: append one "x"."""
    return Marks(text=marks.text + "x")


@durable_execution
async def poll_custom_state_serdes(event: dict[str, Any], ctx: DurableContext) -> str:
    """6-11: the state checkpoints through `Marks`' encoder and decoder; returns "xx"."""
    final = await ctx.wait_for_condition(
        add_mark,
        initial_state=Marks(text=""),
        wait_strategy=WaitStrategy[Marks](
            until=lambda marks: len(marks.text) >= 2, initial_delay=1
        ),
        result_type=Marks,
    )
    return final.text


# -- 6-12, 6-13: polling among other operations ------------------------------------------------


def times_ten(value: int) -> int:
    """Step body."""
    return value * 10


@durable_execution
async def poll_then_step(event: int, ctx: DurableContext) -> int:
    """6-12: the polled result (2) feeds a step that multiplies it by 10."""
    count = await ctx.wait_for_condition(increment, initial_state=0, wait_strategy=reached(event))
    return await ctx.step(times_ten, count)


@durable_execution
async def two_polls(event: dict[str, Any], ctx: DurableContext) -> int:
    """6-13: poll from 0 to 2, then from there to 4; each poll is its own operation."""
    halfway = await ctx.wait_for_condition(increment, initial_state=0, wait_strategy=reached(2))
    return await ctx.wait_for_condition(increment, initial_state=halfway, wait_strategy=reached(4))


HANDLERS: dict[str, DurableHandler[Any, Any]] = {
    "6-1": poll_until_threshold,
    "6-2": poll_already_done,
    "6-3": poll_named,
    "6-4": poll_from_initial_state,
    "6-5": poll_fixed_delay,
    "6-6": poll_max_attempts_exceeded,
    "6-7": poll_check_raises,
    "6-8": poll_check_raises_caught,
    "6-9": poll_object_state,
    "6-10": poll_null_state,
    "6-11": poll_custom_state_serdes,
    "6-12": poll_then_step,
    "6-13": two_polls,
}

TARGETS: dict[str, DurableHandler[Any, Any] | Callable[[Any], Any]] = {}
