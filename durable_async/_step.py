"""The step operation: run a body once per attempt, checkpoint its outcome, retry by policy."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from ._errors import (
    DurableCallInStepError,
    DurableError,
    NonDeterministicExecutionError,
    SerdesError,
    StepError,
    error_object,
    operation_error,
)
from ._models import (
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepOptions,
)
from ._plugins import AttemptEnd, AttemptStart
from ._retry import RetryDecision, RetryLike, RetryPolicy, clamp_delay
from ._serdes import Serdes, round_trip
from ._task_context import StepScope, current_step

if TYPE_CHECKING:
    from ._runtime import ExecutionRuntime

__all__ = [
    "StepInterruptedError",
    "StepSemantics",
    "call_body",
    "run_attempt",
    "run_step",
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


def _settled_or_ready(op: Operation) -> bool:
    return op.status is not _S.PENDING


async def call_body(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    return await anyio.to_thread.run_sync(functools.partial(fn, *args))


async def run_attempt(
    runtime: ExecutionRuntime,
    op_id: str,
    name: str | None,
    sub_type: str,
    attempt: int,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
) -> tuple[Any, Exception | None]:
    """Run one attempt of a body inside its step scope; return (value, error)."""
    plugins = runtime.plugins
    ident = (runtime.arn, op_id, OperationType.STEP, sub_type, name, attempt)
    token = current_step.set(StepScope(runtime, op_id, name, attempt))
    runtime.enter_busy()
    try:
        if plugins:
            plugins.emit("on_attempt_start", AttemptStart(*ident))
        try:
            try:
                value = await call_body(fn, args)
            except asyncio.CancelledError as cancelled:
                runtime.check_cancellation(cancelled, f"the body of step {name or op_id!r}")
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


async def run_step(
    runtime: ExecutionRuntime,
    op_id: str,
    name: str | None,
    parent_id: str | None,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    *,
    retry: RetryLike | None,
    semantics: StepSemantics,
    result_type: Any,
    serdes: Serdes,
) -> Any:
    """Drive step `op_id` from whatever state the history holds to a result or a `StepError`."""
    policy = retry or _DEFAULT_RETRY
    at_most_once = semantics is StepSemantics.AT_MOST_ONCE_PER_RETRY

    def update(action: OperationAction, **fields: Any) -> OperationUpdate:
        return OperationUpdate(
            id=op_id,
            type=OperationType.STEP,
            action=action,
            parent_id=parent_id,
            name=name,
            sub_type="Step",
            **fields,
        )

    async def give_up_or_retry(exc: BaseException, attempt: int) -> Operation:
        # A durable call inside the body is a programming error: retrying cannot fix it.
        decision = RetryDecision.stop() if isinstance(exc, _NEVER_RETRY) else policy(exc, attempt)
        if not isinstance(decision, RetryDecision):
            raise TypeError(f"retry strategy of step {name or op_id!r} returned {decision!r}")
        error = error_object(exc)
        if decision.retry:
            opts = StepOptions(next_attempt_delay_seconds=clamp_delay(decision.delay_seconds))
            return await runtime.send(update(OperationAction.RETRY, error=error, step_options=opts))
        return await runtime.send(update(OperationAction.FAIL, error=error))

    op = runtime.store.get(op_id)
    while True:
        status = op.status if op is not None else None
        if op is not None and status is _S.SUCCEEDED:
            details = op.step_details
            return serdes.deserialize(details.result if details else None, result_type)
        if op is not None and status in (_S.FAILED, _S.CANCELLED, _S.TIMED_OUT, _S.STOPPED):
            raise operation_error(
                StepError, op.step_details.error if op.step_details else None, op_id, name
            )
        attempt = ((op.step_details.attempt or 0) if op and op.step_details else 0) + 1
        if op is not None and status is _S.PENDING:
            nxt = op.step_details.next_attempt_timestamp if op.step_details else None
            op = await runtime.park(op_id, _settled_or_ready, due=nxt.timestamp() if nxt else None)
            continue
        if op is not None and status is _S.STARTED and at_most_once:
            interrupted = StepInterruptedError(
                f"step {name or op_id!r} attempt {attempt} was interrupted before its outcome "
                "was recorded (at-most-once: not re-run)"
            )
            op = await give_up_or_retry(interrupted, attempt)
            continue
        if status is not _S.STARTED:
            if at_most_once:
                await runtime.send(update(OperationAction.START, body_waits=True))
            else:
                runtime.batcher.enqueue(update(OperationAction.START), wait=False)
        value, outcome = await run_attempt(runtime, op_id, name, "Step", attempt, fn, args)
        if outcome is not None:
            op = await give_up_or_retry(outcome, attempt)
            continue
        try:
            payload, result = round_trip(serdes, value, result_type, f"step {name or op_id!r}")
        except SerdesError as exc:  # no retry: the body would return the same value again
            op = await runtime.send(update(OperationAction.FAIL, error=error_object(exc)))
            continue
        await runtime.send(update(OperationAction.SUCCEED, payload=payload))
        return result
