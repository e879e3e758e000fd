"""Child contexts: a body with its own operation ids, checkpointed as one CONTEXT operation."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from ._errors import (
    ChildContextError,
    NonDeterministicExecutionError,
    error_object,
    operation_error,
)
from ._lineage import fresh_root
from ._models import (
    ContextOptions,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)
from ._serdes import Serdes, round_trip

if TYPE_CHECKING:
    from ._context import DurableContext
    from ._runtime import ExecutionRuntime

__all__ = ["MAX_CONTEXT_RESULT_BYTES", "run_child"]

MAX_CONTEXT_RESULT_BYTES = 256 * 1024


async def run_child(
    runtime: ExecutionRuntime,
    parent: DurableContext,
    op_id: str,
    name: str | None,
    sub_type: str,
    body: Callable[[DurableContext], Coroutine[Any, Any, Any]],
    *,
    result_type: Any,
    serdes: Serdes,
    await_success: bool = True,
) -> Any:
    """Run `body` in a child context of `parent`, or return what the history recorded.

    A result over 256 KiB is checkpointed with `ReplayChildren=true` and no payload; on replay the
    body runs again and its children return their recorded results, so no side effect repeats.

    With `await_success=False` (map and parallel items) the result is returned as soon as its
    SUCCEED is queued: the batch's own SUCCEED, which its caller awaits, is sent after it in
    order, so the item's is acknowledged first. Until then a replay runs the item again, and its
    operations return their recorded results.
    """
    op = runtime.store.get(op_id)
    details = op.context_details if op is not None else None
    if op is not None and op.status is OperationStatus.SUCCEEDED:
        if not (details and details.replay_children):
            return serdes.deserialize(details.result if details else None, result_type)
    elif op is not None and op.status.is_terminal:
        raise operation_error(ChildContextError, details.error if details else None, op_id, name)

    def update(action: OperationAction, **fields: Any) -> OperationUpdate:
        return OperationUpdate(
            id=op_id,
            type=OperationType.CONTEXT,
            action=action,
            parent_id=parent.parent_id,
            name=name,
            sub_type=sub_type,
            **fields,
        )

    if op is None:
        runtime.batcher.enqueue(update(OperationAction.START), wait=False)
    child = parent.child(op_id)
    try:
        with fresh_root(op_id):
            value = await body(child)
        payload, result = round_trip(serdes, value, result_type, f"child context {name or op_id!r}")
    except Exception as exc:
        if isinstance(exc, NonDeterministicExecutionError) or runtime.fatal is not None:
            raise  # the invocation is failing as a whole: nothing to checkpoint for the child
        failure = exc
    else:
        if op is None or not op.status.is_terminal:
            if payload is not None and len(payload.encode()) > MAX_CONTEXT_RESULT_BYTES:
                succeed = update(
                    OperationAction.SUCCEED, context_options=ContextOptions(replay_children=True)
                )
            else:
                succeed = update(OperationAction.SUCCEED, payload=payload)
            if await_success:
                await runtime.send(succeed)
            else:
                runtime.batcher.enqueue(succeed, wait=False)
        return result
    error = error_object(failure)
    await runtime.send(update(OperationAction.FAIL, error=error))
    raise operation_error(ChildContextError, error, op_id, name) from failure
