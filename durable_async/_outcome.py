"""What an invocation returns: the output of a handler that finished, of one stopped by the
deadline, and of one interrupted (a checkpoint failure, a fatal error, or nothing left to run).

An output is FAILED only for a failure that is the execution's; one a retry can fix is raised
instead (`BackendUnavailableError`, `InvocationDeadlineError`), so Lambda invokes again.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ._errors import (
    RAW_TRANSIENT,
    BackendUnavailableError,
    DurableError,
    InvocationDeadlineError,
    SerdesError,
    StaleCheckpointTokenError,
    unavailable,
)
from ._models import (
    ErrorObject,
    InvocationOutput,
    InvocationStatus,
    OperationAction,
    OperationType,
    OperationUpdate,
    response_too_large,
)

if TYPE_CHECKING:
    from ._runtime import ExecutionRuntime

__all__ = ["deadline_output", "finished_output", "interrupted_output"]


async def finished_output(runtime: ExecutionRuntime, root: asyncio.Task[Any]) -> InvocationOutput:
    """The handler returned or raised: SUCCEEDED with its result, or FAILED with its error.

    A result too large for Lambda's response is checkpointed as the EXECUTION's result, and the
    response carries none.
    """
    exc = root.exception()
    if exc is None:
        try:
            payload = runtime.serdes.serialize(root.result())
        except Exception as err:
            exc = SerdesError(f"the handler's result cannot be serialised: {err}")
    if exc is not None:
        await runtime.batcher.drain()
        return InvocationOutput(
            status=InvocationStatus.FAILED, error=ErrorObject.from_exception(exc)
        )
    if payload is not None and response_too_large(payload):
        runtime.queue(
            OperationUpdate(
                id=runtime.execution_op.id,
                type=OperationType.EXECUTION,
                action=OperationAction.SUCCEED,
                payload=payload,
            )
        )
        payload = ""
    await runtime.batcher.drain()
    return InvocationOutput(status=InvocationStatus.SUCCEEDED, result=payload)


async def deadline_output(runtime: ExecutionRuntime) -> InvocationOutput:
    """Handler code ran out of time: flush, then PENDING if the service has something pending.

    Raises:
        InvocationDeadlineError: nothing is pending on the service (work was still running), so
            only a retry of the invocation can carry on.
    """
    await runtime.batcher.drain()
    if runtime.batcher.failure is None and runtime.fatal is None and not runtime.store.waiting():
        raise InvocationDeadlineError(
            "the invocation reached its deadline while work was still running; its "
            "checkpoints are flushed and Lambda will retry it"
        )
    return interrupted_output(runtime)


def interrupted_output(runtime: ExecutionRuntime) -> InvocationOutput:
    """The handler did not finish: PENDING (suspended, or superseded by a newer invocation), or
    FAILED with the error that ended the execution.

    Raises:
        BackendUnavailableError: a checkpoint failed in a way a retry can fix.
    """
    failure = runtime.batcher.failure
    if isinstance(failure, BackendUnavailableError):
        raise failure
    if isinstance(failure, RAW_TRANSIENT):
        raise unavailable(failure, "checkpointing") from failure
    if isinstance(failure, StaleCheckpointTokenError) or (
        failure is None and runtime.fatal is None
    ):
        return InvocationOutput(status=InvocationStatus.PENDING)
    error = runtime.fatal or failure
    assert error is not None
    if not isinstance(error, DurableError):
        error = DurableError(str(error))
    return InvocationOutput(status=InvocationStatus.FAILED, error=ErrorObject.from_exception(error))
