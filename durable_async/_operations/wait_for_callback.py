"""wait_for_callback: a child context holding a callback and the step that hands its id out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._duration import DurationLike
from .._errors import (
    CallbackError,
    CallbackSubmitterError,
    CallbackTimeoutError,
    ChildContextError,
    OperationError,
    StepError,
)
from .._operation import DurableOperation
from .._retry import RetryLike, RetryPolicy
from .._scope import IdScope
from .._serdes import Serdes
from .callback import callback_operation
from .child import child_operation
from .step import StepSemantics, step_operation

__all__ = ["wait_for_callback_operation"]

_AT_LEAST_ONCE = StepSemantics.AT_LEAST_ONCE_PER_RETRY

_CALLBACK_ERRORS: dict[str | None, type[OperationError]] = {
    cls.__name__: cls for cls in (CallbackError, CallbackTimeoutError, CallbackSubmitterError)
}


def wait_for_callback_operation(
    scope: IdScope,
    submitter: Callable[[str], Any],
    name: str | None,
    timeout: DurationLike | None,
    heartbeat_timeout: DurationLike | None,
    retry: RetryLike | None,
    result_type: Any,
    serdes: Serdes | None,
) -> DurableOperation[Any]:
    """A `WaitForCallback` context: start a callback, run `submitter(callback_id)` in a step,
    wait for the sender's result; a failure surfaces as the callback's own error class."""
    policy = retry or RetryPolicy.none()
    serdes = serdes or scope.runtime.serdes

    async def body(child: IdScope) -> Any:
        callback = await callback_operation(
            child, name, timeout, heartbeat_timeout, result_type, serdes
        )
        submit = step_operation(
            child,
            submitter,
            (callback.callback_id,),
            "submitter",
            policy,
            _AT_LEAST_ONCE,
            None,
            None,
        )
        try:
            await submit
        except StepError as exc:
            raise CallbackSubmitterError(
                exc.error_type,
                exc.error_message,
                operation_id=exc.operation_id,
                operation_name=name,
            ) from exc
        return await callback

    inner = child_operation(
        scope, "WaitForCallback", name, body, result_type=result_type, serdes=serdes
    )
    inner._hand_over()  # `surfaced` awaits it: only the operation returned can be forgotten

    async def surfaced() -> Any:
        try:
            return await inner
        except ChildContextError as exc:
            error = _callback_error(exc, name)
            if error is exc:
                raise
            raise error from None

    return DurableOperation(scope.runtime, inner.operation_id, name, surfaced)


def _callback_error(exc: ChildContextError, name: str | None) -> OperationError:
    """The callback's own error class for a failed wait_for_callback context, if it has one."""
    cls = _CALLBACK_ERRORS.get(exc.error_type)
    if cls is None:
        return exc
    return cls(
        exc.error_data or exc.error_type,
        exc.error_message,
        operation_id=exc.operation_id,
        operation_name=name,
    )
