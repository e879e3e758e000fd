"""The step operation: run a body once per attempt, checkpoint its outcome, retry by policy."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from .._duration import DurationLike, to_seconds
from .._errors import (
    DurableCallInStepError,
    DurableError,
    NonDeterministicExecutionError,
    SerdesError,
    StepError,
    StepTimeoutError,
    error_object,
)
from .._lifecycle import OperationHandle, settled_or_ready
from .._lineage import spawn
from .._models import Operation, OperationAction, OperationStatus, OperationType, StepOptions
from .._names import default_name
from .._operation import DurableOperation
from .._plugins import AttemptEnd, AttemptStart
from .._retry import RetryDecision, RetryLike, RetryPolicy, clamp_delay
from .._scope import IdScope
from .._serdes import Serdes, return_type, round_trip
from .._task_context import StepScope, current_step

__all__ = [
    "StepInterruptedError",
    "StepSemantics",
    "call_body",
    "call_within",
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


async def call_body(fn: Callable[..., Any], args: tuple[Any, ...], *, abandon: bool = False) -> Any:
    """Await `fn(*args)`: on the loop if it is async, else in a worker thread. With `abandon`,
    cancelling the wait for a thread leaves the thread running and ignores its outcome."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    import anyio.to_thread  # only plain functions need it: most handlers never load it

    return await anyio.to_thread.run_sync(functools.partial(fn, *args), abandon_on_cancel=abandon)


async def call_within(
    op: OperationHandle, attempt: int, fn: Callable[..., Any], args: tuple[Any, ...], seconds: int
) -> Any:
    """`call_body`, but raise `StepTimeoutError` once the runtime's clock is `seconds` past the
    start, whatever the body does then.

    A timer on the clock (a `ManualClock` in tests) cancels the current task, as
    `asyncio.timeout` does: an async body sees `CancelledError`; a body in a worker thread is
    abandoned. A cancellation from elsewhere (the invocation ending) is passed on untouched.
    """
    clock = op.runtime.clock
    task = asyncio.current_task()
    if task is None:  # pragma: no cover - a step always runs in a task
        raise RuntimeError("a step attempt must run in a task")
    deadline = clock.now() + seconds
    cancelling = task.cancelling()
    fired = False

    async def expire() -> None:
        nonlocal fired
        await clock.sleep_until(deadline)
        fired = True
        task.cancel(f"step {op.label} attempt {attempt} timed out")

    timer = spawn(expire(), detached=True)
    value: Any = None
    try:
        value = await call_body(fn, args, abandon=True)
    except BaseException:
        if not fired:
            raise
    finally:
        timer.cancel()
    if not fired:
        return value
    # Whatever the body did once cancelled (raised, swallowed the cancellation and returned),
    # the attempt overran: its outcome is ignored.
    if task.uncancel() > cancelling:
        raise asyncio.CancelledError("cancelled while the step attempt was timing out")
    raise StepTimeoutError(
        f"step {op.label} attempt {attempt} did not finish within its timeout of {seconds} s"
    )


async def run_attempt(
    op: OperationHandle,
    attempt: int,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    *,
    time_limit: int | None = None,
) -> tuple[Any, Exception | None]:
    """Run one attempt of a body inside its step scope; return (value, error).

    With a `time_limit` (whole seconds on the runtime's clock), an attempt that overruns fails
    with `StepTimeoutError` (see `call_within`).
    """
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
                if time_limit is None:
                    value = await call_body(fn, args)
                else:
                    value = await call_within(op, attempt, fn, args, time_limit)
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
    *,
    timeout: DurationLike | None = None,
) -> DurableOperation[Any]:
    """A STEP of `scope` running `fn(*args)`, named after `fn` unless `name` is given.

    `timeout` bounds each attempt; it is checked here, at the call, before the step takes an id.

    Raises:
        ValidationError: `timeout` is not a duration of 1 to 31,622,400 whole seconds.
    """
    seconds = None if timeout is None else to_seconds(timeout, what="step timeout")
    serdes = serdes or scope.runtime.serdes
    if result_type is None:  # typed back as `fn`'s return annotation
        result_type = return_type(fn)
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
            time_limit=seconds,
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
    time_limit: int | None = None,
) -> Any:
    """Drive the step from whatever state the history holds to a result or a `StepError`.

    `time_limit`: whole seconds each attempt may run (`None`: no limit).
    """
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
        value, outcome = await run_attempt(op, attempt, fn, args, time_limit=time_limit)
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
