"""Conformance handlers for the step suite (requirements 1-1 to 1-20).

A step runs a function once and checkpoints its result; replay returns the recorded result (or
raises the recorded error) without running the function again. These handlers cover names,
results of every shape, custom serdes, retries (fixed, exponential, by error type, exhausted),
at-most-once semantics across a crashed invocation, and errors caught by the handler.

Step bodies that must behave differently per attempt ("fails on the first attempt, succeeds on
the second") count their attempts in `ATTEMPTS`, keyed by execution: the reference handlers keep
that count in DynamoDB, these in the process that serves every invocation.

Step bodies log with `durable_async.logger`: this SDK hands a step body its arguments, not a
step context, and that logger puts the step's identity (`executionArn`, `operationId`,
`operationName`, `attempt`) on every record the body writes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from durable_async import (
    DurableContext,
    DurableHandler,
    Duration,
    RetryDecision,
    RetryPolicy,
    StepError,
    StepSemantics,
    durable_execution,
    logger,
)

from . import crash_invocation

__all__ = ["ATTEMPTS", "HANDLERS", "TARGETS", "AttemptCounter", "UppercaseSerdes"]


class AttemptCounter:
    """Counts how many times a step body ran, per execution and step (thread-safe)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def next(self, execution_arn: str, step: str) -> int:
        """Record one more run of `step` in `execution_arn`; return its number (from 1)."""
        with self._lock:
            count = self._counts.get((execution_arn, step), 0) + 1
            self._counts[(execution_arn, step)] = count
            return count


ATTEMPTS = AttemptCounter()


class TransientError(Exception):
    """An error worth retrying (1-15, 1-16)."""


class UppercaseSerdes:
    """A custom `Serdes`: stores a string result as its upper-case text (not as JSON)."""

    def serialize(self, value: Any) -> str | None:
        """`"hello world"` is checkpointed as `HELLO WORLD`."""
        return None if value is None else str(value).upper()

    def deserialize(self, payload: str | None, result_type: Any = None) -> Any:
        """The stored text is the value."""
        return payload


# -- 1-1 .. 1-6: one step, results of every shape ------------------------------------------------


def greet(name: str) -> str:
    """Step body: a greeting."""
    return f"Hello, {name}!"


@durable_execution
async def step_basic(event: str, ctx: DurableContext) -> str:
    """1-1: a single step (named after its function, `greet`) succeeds on its first attempt."""
    return await ctx.step(greet, event)


@durable_execution
async def step_named(event: str, ctx: DurableContext) -> str:
    """1-2: a step with an explicit name."""
    return await ctx.step(greet, event, name="custom_step_name")


def step_one() -> str:
    """Step body: the first value."""
    return "first"


def step_two(first: str) -> str:
    """Step body: builds on the first step's result."""
    return f"{first}_second"


@durable_execution
async def step_sequential(event: None, ctx: DurableContext) -> str:
    """1-3: the second step uses the result of the first."""
    first = await ctx.step(step_one)
    return await ctx.step(step_two, first)


def build_response(event: dict[str, Any]) -> dict[str, Any]:
    """Step body: a nested object with a list and mixed types."""
    return {"user": {"name": event["name"], "tags": event["tags"]}, "count": len(event["tags"])}


@durable_execution
async def step_complex_result(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    """1-4: a nested result survives the checkpoint's JSON round trip."""
    return await ctx.step(build_response, event)


def do_nothing() -> None:
    """Step body: returns nothing."""
    return None


@durable_execution
async def step_none_result(event: None, ctx: DurableContext) -> None:
    """1-5: a step returning `None` (checkpointed with no payload)."""
    return await ctx.step(do_nothing)


def return_input(value: str) -> str:
    """Step body: the value it was given."""
    return value


@durable_execution
async def step_custom_serdes(event: str, ctx: DurableContext) -> str:
    """1-6: a per-step serdes upper-cases the result it checkpoints (and returns)."""
    result: str = await ctx.step(return_input, event, serdes=UppercaseSerdes())
    return result


# -- 1-7: logging from a step body ---------------------------------------------------------------


def greet_with_logs(name: str) -> str:
    """Step body that logs as it starts and ends."""
    logger.info("Greeting step started for: %s", name)
    greeting = f"Hello, {name}!"
    logger.info("Greeting step completed with: %s", greeting)
    return greeting


@durable_execution
async def step_logger(event: str, ctx: DurableContext) -> str:
    """1-7: the step body's logs reach the function's log stream, once each."""
    return await ctx.step(greet_with_logs, event)


# -- 1-8 .. 1-10: replay skips finished steps ----------------------------------------------------


def compute() -> str:
    """Step body: a value worth keeping."""
    return "computed"


@durable_execution
async def step_then_wait(event: None, ctx: DurableContext) -> str:
    """1-8: a step, then a wait; on replay the step returns its recorded result."""
    value = await ctx.step(compute)
    await ctx.wait(Duration(2))
    return value


def expensive_lookup() -> str:
    """Step body that says when it runs: it must run once, not on replay."""
    logger.info("step executed")
    return "cached_value"


@durable_execution
async def step_replay_cached(event: None, ctx: DurableContext) -> str:
    """1-9: after the wait, replay returns the step's recorded value without running it."""
    value = await ctx.step(expensive_lookup)
    await ctx.wait(Duration(1))
    return value


def reject_order() -> str:
    """Step body that always fails."""
    logger.info("step executed")
    raise ValueError("order rejected")


@durable_execution
async def step_replay_failed(event: None, ctx: DurableContext) -> dict[str, str]:
    """1-10: a failed step raises the same recorded `StepError` on replay, without running."""
    try:
        await ctx.step(reject_order, retry=RetryPolicy.none())
        caught = ""
    except StepError as exc:
        caught = exc.error_type
    await ctx.wait(Duration(1))
    return {"caught": caught}


# -- 1-11 .. 1-16: retries -----------------------------------------------------------------------


def fails_until(attempt_that_succeeds: int, result: str) -> Callable[[str], str]:
    """A step body that fails until its `attempt_that_succeeds`-th run in an execution."""

    def unreliable(execution_arn: str) -> str:
        attempt = ATTEMPTS.next(execution_arn, "unreliable")
        if attempt < attempt_that_succeeds:
            raise RuntimeError(f"attempt {attempt} failed")
        return result

    return unreliable


@durable_execution
async def step_retry(event: None, ctx: DurableContext) -> str:
    """1-11: fails once, retried after 1 s, succeeds on the second attempt."""
    unreliable = fails_until(2, "Operation succeeded")
    return await ctx.step(
        unreliable, ctx.execution_arn, name="unreliable", retry=RetryPolicy.fixed(3, 1)
    )


def always_fail() -> None:
    """Step body that never succeeds."""
    raise RuntimeError("this step always fails")


@durable_execution
async def step_retry_exhausted(event: None, ctx: DurableContext) -> None:
    """1-12: 4 attempts 1 s apart, all failing: the step, then the execution, fails."""
    await ctx.step(always_fail, retry=RetryPolicy.fixed(4, 1))


@durable_execution
async def step_default_retry(event: None, ctx: DurableContext) -> str:
    """1-13: no retry given: the default policy (6 attempts, 5 s doubling, full jitter)."""
    unreliable = fails_until(3, "succeeded on third attempt")
    return await ctx.step(unreliable, ctx.execution_arn, name="unreliable")


@durable_execution
async def step_custom_backoff(event: None, ctx: DurableContext) -> str:
    """1-14: 2 s, then 6 s (backoff rate 3, no jitter), then success."""
    policy = RetryPolicy(max_attempts=5, initial_delay=2, backoff_rate=3, jitter="none")
    unreliable = fails_until(3, "succeeded after backoff")
    return await ctx.step(unreliable, ctx.execution_arn, name="unreliable", retry=policy)


def retry_on_transient(error: BaseException, attempt: int) -> RetryDecision:
    """Retry strategy: a `TransientError` is retried after 1 s (up to 3 attempts)."""
    if isinstance(error, TransientError) and attempt < 3:
        return RetryDecision.after(1)
    return RetryDecision.stop()


def no_retry_on_transient(error: BaseException, attempt: int) -> RetryDecision:
    """Retry strategy: a `TransientError` is never retried; anything else is, after 1 s."""
    if isinstance(error, TransientError) or attempt >= 3:
        return RetryDecision.stop()
    return RetryDecision.after(1)


def flaky_service(execution_arn: str) -> str:
    """Step body: a transient failure on the first attempt only."""
    if ATTEMPTS.next(execution_arn, "flaky_service") == 1:
        raise TransientError("service briefly unavailable")
    return "service answered"


@durable_execution
async def step_retry_by_type(event: None, ctx: DurableContext) -> str:
    """1-15: the strategy looks at the error's type and retries the transient one."""
    return await ctx.step(flaky_service, ctx.execution_arn, retry=retry_on_transient)


def broken_service() -> str:
    """Step body: always a transient failure."""
    raise TransientError("service unavailable")


@durable_execution
async def step_no_retry_by_type(event: None, ctx: DurableContext) -> str:
    """1-16: the strategy refuses to retry a `TransientError`: the step fails at once."""
    return await ctx.step(broken_service, retry=no_retry_on_transient)


# -- 1-17, 1-18: at-most-once per retry across a crashed invocation ------------------------------


@durable_execution
async def step_at_most_once(event: str, ctx: DurableContext) -> str:
    """1-17: the process dies mid-body; the interrupted attempt is never re-run, and with no
    retry the step fails with `StepInterruptedError` on the next invocation."""

    async def charge_card() -> str:
        logger.info("charging for %s", event)
        crash_invocation()

    return await ctx.step(
        charge_card,
        name="at_most_once_flaky_step",
        retry=RetryPolicy.none(),
        semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY,
    )


@durable_execution
async def step_at_most_once_retried(event: str, ctx: DurableContext) -> str:
    """1-18: the process dies during attempt 1; the retry policy schedules attempt 2, which
    runs the body again and succeeds."""
    arn = ctx.execution_arn

    async def charge_card() -> str:
        logger.info("charging for %s", event)
        if ATTEMPTS.next(arn, "charge_card") == 1:
            crash_invocation()
        return "succeeded on second attempt"

    return await ctx.step(
        charge_card,
        retry=RetryPolicy.fixed(3, 1),
        semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY,
    )


# -- 1-19, 1-20: errors --------------------------------------------------------------------------


def failing_func() -> str:
    """Step body that raises."""
    raise ValueError("something went wrong")


@durable_execution
async def step_fails(event: None, ctx: DurableContext) -> str:
    """1-19: no retries: the step fails, and the uncaught `StepError` fails the execution."""
    return await ctx.step(failing_func, retry=RetryPolicy.none())


def fallback() -> str:
    """Step body: the value to use when the first step failed."""
    return "fallback_result"


@durable_execution
async def step_error_caught(event: None, ctx: DurableContext) -> str:
    """1-20: the handler catches the `StepError` and carries on with a second step."""
    try:
        return await ctx.step(failing_func, retry=RetryPolicy.none())
    except StepError as exc:
        logger.info("step failed (%s); using the fallback", exc.error_type)
    return await ctx.step(fallback)


HANDLERS: dict[str, DurableHandler[Any, Any]] = {
    "1-1": step_basic,
    "1-2": step_named,
    "1-3": step_sequential,
    "1-4": step_complex_result,
    "1-5": step_none_result,
    "1-6": step_custom_serdes,
    "1-7": step_logger,
    "1-8": step_then_wait,
    "1-9": step_replay_cached,
    "1-10": step_replay_failed,
    "1-11": step_retry,
    "1-12": step_retry_exhausted,
    "1-13": step_default_retry,
    "1-14": step_custom_backoff,
    "1-15": step_retry_by_type,
    "1-16": step_no_retry_by_type,
    "1-17": step_at_most_once,
    "1-18": step_at_most_once_retried,
    "1-19": step_fails,
    "1-20": step_error_caught,
}

TARGETS: dict[str, DurableHandler[Any, Any] | Callable[[Any], Any]] = {}
