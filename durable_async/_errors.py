"""The exception tree of durable_async.

```text
BaseException
├── asyncio.CancelledError
│   └── SuspendExecution ........... internal: the invocation is suspending; never catch it
└── Exception
    └── DurableError ............... base of every error this library raises
        ├── InvalidInvocationError . the Lambda event is not a valid durable invocation
        ├── InvocationDeadlineError  the invocation ran out of time with work in progress;
        │                            raised so Lambda retries it (checkpoints are flushed)
        ├── NonDeterministicExecutionError
        │                            replay met a different operation than the history holds
        ├── DurableCallInStepError . a durable operation was called from inside a step body
        ├── SerdesError ............ a value could not be serialised or deserialised
        ├── UnexpectedCancellationError
        │                            user code let a CancelledError escape uncancelled
        ├── StepInterruptedError ... an at-most-once attempt found started on replay (handed
        │                            to the retry policy; defined with the step operation)
        ├── StepTimeoutError ....... a step attempt ran past the step's `timeout` (handed to
        │                            the retry policy like an error the body raised)
        ├── UnawaitedOperationError  testing only: an operation was created and never awaited
        │                            (raised by `LocalRunner`, see the warning below)
        ├── OperationError ......... an operation failed; carries the original error's type and
        │   │                        message, identical on first run and replay
        │   ├── StepError .......... a step failed for good (retries exhausted)
        │   ├── ChildContextError .. the body of a child context raised
        │   ├── CallbackError ...... the callback's sender reported a failure
        │   │   └── CallbackTimeoutError
        │   │                        no result (or no heartbeat) arrived in time
        │   ├── CallbackSubmitterError
        │   │                        wait_for_callback's submitter failed for good
        │   ├── InvokeError ........ a chained invoke FAILED, TIMED_OUT or was STOPPED
        │   └── WaitForConditionError
        │                            the condition was not met within the attempts, or the
        │                            check raised
        ├── AllOperationsFailedError
        │                            ctx.any(...): every operation failed
        ├── ValidationError ........ an invalid argument (to an operation or a retry policy)
        └── BackendError ........... talking to the durable execution service failed
            ├── StaleCheckpointTokenError
            │                        a newer invocation owns the execution; this one ends
            ├── BackendUnavailableError
            │                        throttled, 5xx or timed out; Lambda retries the invocation
            └── CheckpointRejectedError
                                     the service refused a checkpoint; the execution fails
```

One warning sits beside the tree:

```text
Exception
└── Warning
    └── RuntimeWarning
        └── UnawaitedOperationWarning
                                     a durable operation was created and never awaited, so it
                                     never ran (the durable twin of "coroutine ... was never
                                     awaited"); await it, or hand it to gather or create_task
```

Errors users may catch derive from `Exception`. Suspension travels as task cancellation
(`asyncio.CancelledError` is a `BaseException`), so `except Exception` around `ctx.wait(...)`
cannot swallow it.
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from ._models import ErrorObject

__all__ = [
    "BackendError",
    "AllOperationsFailedError",
    "BackendUnavailableError",
    "CallbackError",
    "CallbackSubmitterError",
    "CallbackTimeoutError",
    "CheckpointRejectedError",
    "ChildContextError",
    "DurableCallInStepError",
    "DurableError",
    "InvalidInvocationError",
    "InvocationDeadlineError",
    "InvokeError",
    "NonDeterministicExecutionError",
    "OperationError",
    "SerdesError",
    "StaleCheckpointTokenError",
    "StepError",
    "StepTimeoutError",
    "SuspendExecution",
    "UnawaitedOperationError",
    "UnawaitedOperationWarning",
    "UnexpectedCancellationError",
    "ValidationError",
    "WaitForConditionError",
]


class DurableError(Exception):
    """Base class of every error raised by durable_async."""


class InvalidInvocationError(DurableError):
    """The Lambda event is not a valid durable execution invocation.

    Raised when the event lacks `DurableExecutionArn`/`CheckpointToken`, when its state has no
    EXECUTION operation first, or when the state is malformed. The handler wrapper turns it into a
    `FAILED` output naming the problem instead of crashing.
    """


class InvocationDeadlineError(DurableError):
    """The invocation reached its deadline while a step or other work was still running.

    Queued checkpoints were flushed first, so nothing recorded is lost; the handler raises it so
    Lambda retries the invocation, which replays and carries on.
    """


class NonDeterministicExecutionError(DurableError):
    """Replay met an operation that does not match the checkpointed history.

    The message names the operation id, and the expected and actual type, sub-type, name or
    parent. The execution is marked FAILED (never PENDING): replaying again cannot fix it.
    """


class DurableCallInStepError(DurableError):
    """A durable operation (step, wait, ...) was called from inside a step body.

    Step bodies are plain code that runs at least/at most once per attempt; they cannot hold
    durable operations. Use a child context for nesting.
    """


class UnexpectedCancellationError(DurableError):
    """Handler code or a step body raised `asyncio.CancelledError` without being cancelled.

    That happens when code awaits a task or future that was cancelled (often one it cancelled
    itself). The invocation was not cancelled, so it is an error of the step or handler that let
    it escape, recorded like any other; the original `CancelledError` is its `__cause__`.
    """


class StepTimeoutError(DurableError):
    """A step attempt ran past the `timeout` given to `ctx.step(...)`.

    The attempt counts as failed with this error, which the step's retry policy sees like any
    error the body raises (`retry_on=(StepTimeoutError,)` retries only timeouts); its name is
    the attempt's recorded error type, so a step that gives up raises a `StepError` whose
    `error_type` is `"StepTimeoutError"`. An async body is cancelled when its time is up; a
    plain function, which cannot be stopped in its worker thread, is abandoned: it runs on, and
    whatever it returns or raises is ignored.
    """


class SerdesError(DurableError):
    """A value could not be serialised to, or deserialised from, its checkpoint payload."""


class ValidationError(DurableError):
    """A durable operation was called with an invalid argument (name, duration, ...)."""


class OperationError(DurableError):
    """A durable operation failed; the original error's type and message are kept.

    Attributes:
        error_type: the original exception's type name (e.g. `"ValueError"`).
        error_message: the original exception's message.
        error_data: optional extra data checkpointed with the error.
        stack_trace: the original stack trace lines, when recorded.

    The same error (same type, message and data) is raised on the first run and on every
    replay, so handler code that catches it behaves identically.
    """

    kind = "operation"

    def __init__(
        self,
        error_type: str,
        error_message: str,
        *,
        error_data: str | None = None,
        stack_trace: list[str] | None = None,
        operation_id: str | None = None,
        operation_name: str | None = None,
    ) -> None:
        label = operation_name or operation_id or "?"
        super().__init__(f"{self.kind} {label!r} failed: {error_type}: {error_message}")
        self.error_type = error_type
        self.error_message = error_message
        self.error_data = error_data
        self.stack_trace = stack_trace or []
        self.operation_id = operation_id
        self.operation_name = operation_name


class StepError(OperationError):
    """A step failed for good: its retry policy gave up, or it was interrupted at most once."""

    kind = "step"


class ChildContextError(OperationError):
    """The body of a child context raised; the context is checkpointed as FAILED."""

    kind = "child context"


class CallbackError(OperationError):
    """The sender of a callback reported a failure (`SendDurableExecutionCallbackFailure`)."""

    kind = "callback"


class CallbackTimeoutError(CallbackError):
    """A callback got no result within its timeout, or no heartbeat within its heartbeat timeout.

    `error_type` is `"Callback.Timeout"` or `"Callback.Heartbeat"`.
    """


class CallbackSubmitterError(OperationError):
    """The submitter of `wait_for_callback` failed for good, so nobody will send the callback."""

    kind = "callback submitter"


class InvokeError(OperationError):
    """A chained invoke did not succeed.

    Attributes:
        status: `"FAILED"`, `"TIMED_OUT"` or `"STOPPED"`.
    """

    kind = "chained invoke"
    status = "FAILED"


class WaitForConditionError(OperationError):
    """`wait_for_condition` gave up: the check raised, or the strategy ran out of attempts."""

    kind = "wait for condition"


class AllOperationsFailedError(DurableError):
    """`ctx.any(...)`: every operation failed.

    Attributes:
        errors: each operation's exception, in argument order.
    """

    def __init__(self, errors: list[BaseException]) -> None:
        super().__init__(
            f"all {len(errors)} operations failed: "
            + "; ".join(f"{type(e).__name__}: {e}" for e in errors)
        )
        self.errors = errors


class BackendError(DurableError):
    """Talking to the durable execution service failed."""

    def __init__(self, message: str, *, code: str | None = None, cause: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.cause = cause


class StaleCheckpointTokenError(BackendError):
    """The checkpoint token is stale: a newer invocation owns the execution.

    This invocation ends quietly without failing the execution.
    """


class BackendUnavailableError(BackendError):
    """The service throttled us or failed (429/5xx) even after retries.

    The handler re-raises it so Lambda retries the whole invocation; nothing checkpointed is lost.
    """


RAW_TRANSIENT = (TimeoutError, OSError)
"""What a backend may let through raw when the service did not answer: transient, like
`BackendUnavailableError` (see `unavailable`)."""


def unavailable(exc: BaseException, doing: str) -> BackendUnavailableError:
    """The `BackendUnavailableError` for a transient failure a backend let through raw (a
    `TimeoutError`, a dropped connection's `OSError`): Lambda should retry the invocation."""
    return BackendUnavailableError(
        f"{doing}: the service did not answer ({type(exc).__name__}: {exc})",
        code=type(exc).__name__,
        cause=exc,
    )


class CheckpointRejectedError(BackendError):
    """The service refused a checkpoint (a 4xx other than a stale token, or a KMS error).

    The execution is marked FAILED with this error.
    """


class UnawaitedOperationError(DurableError):
    """A run of the local runner created durable operations that it never awaited.

    Raised by `LocalRunner.run()` and `RunningExecution.result()` (with the runner's default
    `unawaited="error"`) after the execution ended, where production would only issue an
    `UnawaitedOperationWarning`. The message names each operation (sub-type, name and id) and
    the file and line that created it. Await the operation (or hand it to `asyncio.gather`,
    `asyncio.create_task` or a combinator); pass `unawaited="warn"` or `"ignore"` to the runner
    if the test is about something else.
    """


class UnawaitedOperationWarning(RuntimeWarning):
    """A durable operation was created (`ctx.step(...)`, `ctx.wait(...)`, ...) but never awaited.

    An operation's work starts when it is first awaited, directly or through a task (`gather`,
    `create_task`, `TaskGroup`, a combinator): one that nobody awaits never runs, and the
    execution goes on without it. Like Python's "coroutine ... was never awaited", this warning
    says so, with the operation's sub-type, name and id in the message, and the file and line of
    the call that created it as the warning's location (so `-W` and `filterwarnings` filters by
    module or line apply to it).

    The rule: when an invocation ends because the handler finished, returning or raising (the
    execution is `SUCCEEDED` or `FAILED`), the warning is issued once per operation that no one
    ever awaited, gathered, gave to a task or to another operation, among those created by a
    task that itself ran to its end, returning or raising. Nothing is reported:

    - when the invocation suspends (`PENDING`) or is cut off (deadline, lost backend), since
      code that had not run yet may still await the operation in the next invocation;
    - for operations created by a task that was cancelled (map and parallel items cancelled by
      early completion, tasks the runtime cancels when the handler returns, tasks your code
      cancelled), since the code that would have awaited them never got to run.

    An operation handed to a task counts as awaited even if the task is cancelled before it
    starts the operation; `op.close()` marks an operation you decided not to run.

    `durable_async.testing.LocalRunner` turns these into `UnawaitedOperationError` by default.
    """


class SuspendExecution(asyncio.CancelledError):
    """Internal control flow: the invocation is suspending and will resume on re-invocation.

    It derives from `asyncio.CancelledError` (a `BaseException`), so `except Exception` in user
    code cannot swallow it. Durable calls made after suspension began raise it. Never catch it.
    """


E = TypeVar("E", bound=OperationError)


def error_object(exc: BaseException) -> ErrorObject:
    """Describe `exc` as the service stores an error: type name, message and stack trace.

    A failed durable operation (`OperationError`) keeps the message it recorded, not the longer
    text naming the operation, and its inner error type goes in `error_data`, as in the
    operation's own checkpoint; it keeps the stack trace it recorded too (where the step body
    failed), else the frames where the handler let it escape. Every field is cut to the limits
    in `durable_async._traceback`.
    """
    from ._traceback import (  # lazily: only failures need it
        MAX_MESSAGE_BYTES,
        MAX_TYPE_BYTES,
        clip,
        clip_stack,
        stack_trace,
    )

    if isinstance(exc, OperationError):
        recorded = clip_stack(exc.stack_trace)
        return ErrorObject(
            error_type=clip(type(exc).__name__, MAX_TYPE_BYTES),
            error_message=clip(exc.error_message, MAX_MESSAGE_BYTES),
            error_data=clip(exc.error_type, MAX_TYPE_BYTES),
            stack_trace=recorded or stack_trace(exc) or None,
        )
    return ErrorObject(
        error_type=clip(type(exc).__name__, MAX_TYPE_BYTES),
        error_message=clip(str(exc), MAX_MESSAGE_BYTES),
        stack_trace=stack_trace(exc) or None,
    )


def recorded_error(exc: OperationError) -> ErrorObject:
    """The error `exc`'s operation recorded (inner type, message, data and stack trace), as a
    map or parallel item reports it."""
    return ErrorObject(
        error_type=exc.error_type,
        error_message=exc.error_message,
        error_data=exc.error_data,
        stack_trace=exc.stack_trace or None,
    )


def operation_error(cls: type[E], err: ErrorObject | None, op_id: str, name: str | None) -> E:
    """Rebuild the error a failed operation recorded, the same on first run and replay."""
    err = err or ErrorObject()
    return cls(
        err.error_type or "Error",
        err.error_message or "",
        error_data=err.error_data,
        stack_trace=err.stack_trace,
        operation_id=op_id,
        operation_name=name,
    )
