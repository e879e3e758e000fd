"""The step operation: run a body once per attempt, checkpoint its outcome, retry by policy."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import anyio.to_thread

from .._errors import (
    DurableCallInStepError,
    DurableError,
    NonDeterministicExecutionError,
    SerdesError,
    StepError,
    error_object,
)
from .._lifecycle import OperationHandle, settled_or_ready
from .._models import Operation, OperationAction, OperationStatus, OperationType, StepOptions
from .._names import default_name
from .._operation import DurableOperation
from .._plugins import AttemptEnd, AttemptStart
from .._retry import RetryDecision, RetryLike, RetryPolicy, clamp_delay
from .._scope import IdScope
from .._serdes import Serdes, round_trip
from .._task_context import StepScope, current_step

__all__ = [
    "StepInterruptedError",
    "StepSemantics",
    "call_body",
    "run_attempt",
    "run_step",
    "step_operation",
]

_S = OperationStatus
_DEFAULT_RETRY = RetryPolicy.default()
_NEVER_RETRY = (DurableCallInStepError, NonDeterministicExecutionError)


class StepSemantics(StrEnum):
    """How often a step body may run per retry attempt.

    `AT_LEAST_ONCE_PER_RETRY` (default): the body starts at once; if the invocation dies mid-body
    the attempt runs again. `AT_MOST_ONCE_PER_RETRY`: the START checkpoint is acknowledged before
    the body runs; an attempt found started on replay is treated as failed
    (`StepInterruptedError`) and handed to the retry policy.
    """

    AT_LEAST_ONCE_PER_RETRY = "AT_LEAST_ONCE_PER_RETRY"
    AT_MOST_ONCE_PER_RETRY = "AT_MOST_ONCE_PER_RETRY"


class StepInterruptedError(DurableError):
    """An at-most-once attempt was started but its outcome was never recorded."""


async def call_body(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    return await anyio.to_thread.run_sync(functools.partial(fn, *args))


async def run_attempt(
    op: OperationHandle, attempt: int, fn: Callable[..., Any], args: tuple[Any, ...]
) -> tuple[Any, Exception | None]:
    """Run one attempt of a body inside its step scope; return (value, error)."""
    runtime = op.runtime
    plugins = runtime.plugins
    ident = (runtime.arn, op.id, OperationType.STEP, op.sub_type, op.name, attempt)
    token = current_step.set(StepScope(runtime, op.id, op.name, attempt))
    runtime.enter_busy()
    try:
        if plugins:
            plugins.emit("on_attempt_start", AttemptStart(*ident))
        try:
            try:
                value = await call_body(fn, args)
            except asyncio.CancelledError as cancelled:
                runtime.check_cancellation(cancelled, f"the body of step {op.label}")
                raise
        except Exception as exc:
            if plugins:
                plugins.emit("on_attempt_end", AttemptEnd(*ident, "FAILED", exc))
            return None, exc
        if plugins:
            plugins.emit("on_attempt_end", AttemptEnd(*ident, "SUCCEEDED"))
        return value, None
    finally:
        runtime.exit_busy()
        current_step.reset(token)


async def _give_up_or_retry(
    op: OperationHandle, policy: RetryLike, exc: BaseException, attempt: int
) -> Operation:
    """Record a failed attempt: RETRY after the policy's delay, or FAIL for good."""
    # A durable call inside the body is a programming error: retrying cannot fix it.
    decision = RetryDecision.stop() if isinstance(exc, _NEVER_RETRY) else policy(exc, attempt)
    if not isinstance(decision, RetryDecision):
        raise TypeError(f"retry strategy of step {op.label} returned {decision!r}")
    error = error_object(exc)
    if not decision.retry:
        return await op.send(OperationAction.FAIL, error=error)
    opts = StepOptions(next_attempt_delay_seconds=clamp_delay(decision.delay_seconds))
    return await op.send(OperationAction.RETRY, error=error, step_options=opts)


def step_operation(
    scope: IdScope,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    name: str | None,
    retry: RetryLike | None,
    semantics: StepSemantics,
    result_type: Any,
    serdes: Serdes | None,
) -> DurableOperation[Any]:
    """A STEP of `scope` running `fn(*args)`, named after `fn` unless `name` is given."""
    serdes = serdes or scope.runtime.serdes
    return scope.operation(
        OperationType.STEP,
        "Step",
        name if name is not None else default_name(fn),
        lambda op: run_step(
            op,
            fn,
            args,
            retry=retry,
            semantics=semantics,
            result_type=result_type,
            serdes=serdes,
        ),
    )


async def run_step(
    op: OperationHandle,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    *,
    retry: RetryLike | None,
    semantics: StepSemantics,
    result_type: Any,
    serdes: Serdes,
) -> Any:
    """Drive the step from whatever state the history holds to a result or a `StepError`."""
    policy = retry or _DEFAULT_RETRY
    at_most_once = semantics is StepSemantics.AT_MOST_ONCE_PER_RETRY

    state = op.state()
    while True:
        status = state.status if state is not None else None
        details = state.step_details if state is not None else None
        if status is _S.SUCCEEDED:
            return serdes.deserialize(details.result if details else None, result_type)
        if status in (_S.FAILED, _S.CANCELLED, _S.TIMED_OUT, _S.STOPPED):
            raise op.error(StepError, details.error if details else None)
        attempt = ((details.attempt or 0) if details else 0) + 1
        if status is _S.PENDING:
            nxt = details.next_attempt_timestamp if details else None
            state = await op.park(settled_or_ready, due=nxt.timestamp() if nxt else None)
            continue
        if status is _S.STARTED and at_most_once:
            interrupted = StepInterruptedError(
                f"step {op.label} attempt {attempt} was interrupted before its outcome "
                "was recorded (at-most-once: not re-run)"
            )
            state = await _give_up_or_retry(op, policy, interrupted, attempt)
            continue
        if status is not _S.STARTED:
            if at_most_once:
                await op.send(OperationAction.START, body_waits=True)
            else:
                op.queue(OperationAction.START)
        value, outcome = await run_attempt(op, attempt, fn, args)
        if outcome is not None:
            state = await _give_up_or_retry(op, policy, outcome, attempt)
            continue
        try:
            payload, result = round_trip(serdes, value, result_type, f"step {op.label}")
        except SerdesError as exc:  # no retry: the body would return the same value again
            state = await op.send(OperationAction.FAIL, error=error_object(exc))
            continue
        await op.send(OperationAction.SUCCEED, payload=payload)
        return result
