"""Callbacks: an id the service hands out, completed later by someone outside the workflow."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .._duration import DurationLike, to_seconds
from .._errors import CallbackError, CallbackTimeoutError, operation_error
from .._lifecycle import OperationHandle, ended
from .._limits import CALLBACK_TIMEOUT_SECONDS
from .._models import CallbackOptions, OperationAction, OperationStatus, OperationType
from .._operation import DurableOperation
from .._scope import IdScope
from .._serdes import Serdes

if TYPE_CHECKING:
    from .._runtime import ExecutionRuntime

__all__ = ["Callback", "callback_operation", "start_callback"]

_CALLBACK_MAX = CALLBACK_TIMEOUT_SECONDS.max

T = TypeVar("T")


class Callback(Generic[T]):
    """A started callback: hand `callback_id` to the outside world, then await the result.

    Attributes:
        callback_id: the id to pass to `SendDurableExecutionCallbackSuccess/Failure/Heartbeat`.
        operation_id: the CALLBACK operation's id.
        name: the operation's name, if any.

    Awaiting the callback (or `result()`) returns the sender's result, deserialised (and validated
    as `result_type` if one was given).

    Raises:
        CallbackError: the sender reported a failure.
        CallbackTimeoutError: no result or heartbeat arrived in time.
    """

    def __init__(
        self,
        runtime: ExecutionRuntime,
        operation_id: str,
        name: str | None,
        callback_id: str,
        *,
        result_type: Any,
        serdes: Serdes,
    ) -> None:
        self._runtime = runtime
        self.operation_id = operation_id
        self.name = name
        self.callback_id = callback_id
        self._result_type = result_type
        self._serdes = serdes

    def __repr__(self) -> str:
        return f"<Callback id={self.callback_id} name={self.name!r}>"

    async def result(self) -> T:
        """Wait for the sender's result (suspending the invocation if nothing else runs)."""
        self._runtime.register()
        op = await self._runtime.park(self.operation_id, ended)
        details = op.callback_details
        if op.status is OperationStatus.SUCCEEDED:
            value: T = self._serdes.deserialize(
                details.result if details else None, self._result_type
            )
            return value
        error = details.error if details else None
        cls = CallbackTimeoutError if op.status is OperationStatus.TIMED_OUT else CallbackError
        raise operation_error(cls, error, self.operation_id, self.name)

    def __await__(self) -> Generator[Any, None, T]:
        return self.result().__await__()


async def start_callback(
    op: OperationHandle,
    *,
    timeout_seconds: int,
    heartbeat_seconds: int,
    result_type: Any,
    serdes: Serdes,
) -> Callback[Any]:
    """Checkpoint the CALLBACK start (unless replaying it) and return the callback."""
    state = op.state()
    if state is None:
        state = await op.send(
            OperationAction.START,
            callback_options=CallbackOptions(
                timeout_seconds=timeout_seconds, heartbeat_timeout_seconds=heartbeat_seconds
            ),
        )
    callback_id = state.callback_details.callback_id if state.callback_details else None
    if not callback_id:
        raise CallbackError(
            "MissingCallbackId",
            "the service did not return a callback id",
            operation_id=op.id,
            operation_name=op.name,
        )
    return Callback(op.runtime, op.id, op.name, callback_id, result_type=result_type, serdes=serdes)


def callback_operation(
    scope: IdScope,
    name: str | None,
    timeout: DurationLike | None,
    heartbeat_timeout: DurationLike | None,
    result_type: Any,
    serdes: Serdes | None,
) -> DurableOperation[Callback[Any]]:
    """Check the timeouts now, take the next id of `scope`; the callback starts when awaited."""
    timeout_s = _optional_seconds(timeout, "callback timeout")
    heartbeat_s = _optional_seconds(heartbeat_timeout, "callback heartbeat timeout")
    serdes = serdes or scope.runtime.serdes
    return scope.operation(
        OperationType.CALLBACK,
        "Callback",
        name,
        lambda op: start_callback(
            op,
            timeout_seconds=timeout_s,
            heartbeat_seconds=heartbeat_s,
            result_type=result_type,
            serdes=serdes,
        ),
    )


def _optional_seconds(value: DurationLike | None, what: str) -> int:
    """Whole seconds of an optional timeout; 0 (no limit) for `None`."""
    return 0 if value is None else to_seconds(value, what=what, maximum=_CALLBACK_MAX)
