"""How a local run answers the callbacks it waits on: scripted answers or a hook, and a clear
error, never a hang, when nothing answers them."""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ._backends.memory.service import MemoryBackend
from ._clock import ManualClock
from ._errors import DurableError
from ._models import ErrorObject, Operation, OperationStatus, OperationType

__all__ = [
    "CallbackAnswer",
    "CallbacksPendingError",
    "OnCallback",
    "scripted",
    "settle_callbacks",
]


@dataclass(frozen=True)
class CallbackAnswer:
    """What a local run does with one waiting callback. Build it with the class methods.

    Attributes:
        kind: `"succeed"`, `"fail"` or `"time_out"`.
        payload: the JSON result of a success.
        error: the error of a failure.
    """

    kind: Literal["succeed", "fail", "time_out"]
    payload: str = "null"
    error: ErrorObject | None = field(default=None)

    @classmethod
    def succeed(cls, result: Any = None) -> CallbackAnswer:
        """Complete the callback with `result` (JSON-encoded), as
        `SendDurableExecutionCallbackSuccess` would."""
        return cls("succeed", payload=json.dumps(result))

    @classmethod
    def fail(
        cls, message: str, *, error_type: str = "CallbackError", data: str | None = None
    ) -> CallbackAnswer:
        """Fail the callback, as `SendDurableExecutionCallbackFailure` would: the handler's
        await raises `CallbackError` carrying `error_type` (as its `error_data`, for
        `wait_for_callback`), `message` and `data`."""
        error = ErrorObject(error_type=error_type, error_message=message, error_data=data)
        return cls("fail", error=error)

    @classmethod
    def time_out(cls) -> CallbackAnswer:
        """Let the callback time out: the clock skips to its timeout (a `ManualClock` only)."""
        return cls("time_out")


OnCallback = (
    Callable[[Operation], "CallbackAnswer | Awaitable[CallbackAnswer | None] | None"]
    | Sequence[CallbackAnswer]
)
"""A hook called with each waiting callback's operation, returning its answer (or `None`: not
answered); or a sequence of answers, given to the waiting callbacks in the order they started."""


class CallbacksPendingError(DurableError):
    """The execution waits on callbacks and nothing can answer them.

    Raised by `LocalRunner.run()`, which holds no handle a test could answer through (use
    `start(...)` for that), when the callbacks are the only thing left and no answer is given.

    Attributes:
        pending: the waiting CALLBACK operations.
        reason: why they cannot be answered, when it is more than nothing answering them
            (a callback asked to time out has no timeout, say).
    """

    def __init__(self, pending: Sequence[Operation], reason: str | None = None) -> None:
        names = ", ".join(describe(op) for op in pending)
        super().__init__(
            f"the execution is waiting on {len(pending)} callback(s) nothing answers: {names}. "
            + (
                reason
                or "Answer them with LocalRunner(on_callback=...), through start(...)'s handle, "
                "or let them time out with callback_grace"
            )
        )
        self.pending = list(pending)
        self.reason = reason


def describe(op: Operation) -> str:
    """A callback as messages name it: its name and callback id."""
    details = op.callback_details
    return f"{op.name or '(unnamed)'} (callback id {details.callback_id if details else None})"


async def settle_callbacks(
    backend: MemoryBackend,
    arn: str,
    on_callback: Callable[[Operation], Any] | None,
    *,
    can_wait: bool,
) -> bool:
    """When callbacks are all execution `arn` waits on: answer them with `on_callback`. Whether
    any was answered (invoke again); otherwise the caller waits for what comes next.

    Raises:
        CallbacksPendingError: none was answered, and nothing else can (`can_wait` false).
    """
    if backend.next_wake_time(arn, callbacks=False) is not None:
        return False
    operations = backend.operations(arn)
    if any(_started(op, OperationType.CHAINED_INVOKE) for op in operations):
        return False  # a chained invoke's target runs: its result will come
    pending = [op for op in operations if _started(op, OperationType.CALLBACK)]
    if not pending:
        return False
    if on_callback is not None and await _answer(backend, arn, pending, on_callback):
        return True
    if not can_wait:
        raise CallbacksPendingError(pending)
    return False


def _started(op: Operation, kind: OperationType) -> bool:
    return op.type is kind and op.status is OperationStatus.STARTED


async def _answer(
    backend: MemoryBackend,
    arn: str,
    pending: Sequence[Operation],
    on_callback: Callable[[Operation], Any],
) -> bool:
    """Ask `on_callback` about each waiting callback and apply the answers; whether any was
    answered."""
    answered = False
    for op in pending:
        answer = on_callback(op)
        if inspect.isawaitable(answer):
            answer = await answer
        if answer is None:
            continue
        if not isinstance(answer, CallbackAnswer):
            raise TypeError(f"on_callback returned {answer!r}, not a CallbackAnswer or None")
        _apply(backend, arn, op, answer)
        answered = True
    return answered


def scripted(answers: Sequence[CallbackAnswer]) -> Callable[[Operation], CallbackAnswer | None]:
    """The hook that gives `answers` out in order, one per callback, then `None`."""
    queue = list(answers)
    given: dict[str, CallbackAnswer] = {}

    def next_answer(op: Operation) -> CallbackAnswer | None:
        if op.id not in given:  # a heartbeat-less retry of the same callback keeps its answer
            if not queue:
                return None
            given[op.id] = queue.pop(0)
        return given[op.id]

    return next_answer


def _apply(backend: MemoryBackend, arn: str, op: Operation, answer: CallbackAnswer) -> None:
    details = op.callback_details
    callback_id = details.callback_id if details else None
    if callback_id is None:
        raise DurableError(f"callback {op.name or op.id!r} has no callback id")
    if answer.kind == "succeed":
        backend.send_callback_success(callback_id, answer.payload)
    elif answer.kind == "fail":
        assert answer.error is not None
        backend.send_callback_failure(callback_id, answer.error)
    else:
        deadline = backend.callback_deadline(callback_id)
        clock = backend.clock
        if deadline is None or not isinstance(clock, ManualClock):
            why = "it has no timeout" if deadline is None else "the clock is not a ManualClock"
            raise CallbacksPendingError([op], f"It cannot be made to time out: {why}")
        clock.advance_to(deadline)
