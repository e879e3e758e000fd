"""Child contexts: a body with its own operation ids, checkpointed as one CONTEXT operation."""

from __future__ import annotations

from typing import Any

from .._errors import ChildContextError, NonDeterministicExecutionError
from .._lifecycle import OperationHandle
from .._limits import OPERATION_PAYLOAD_BYTES
from .._lineage import fresh_root
from .._models import ContextOptions, OperationAction, OperationStatus, OperationType
from .._operation import DurableOperation
from .._scope import ContextBody, IdScope
from .._serdes import Serdes, round_trip

__all__ = ["MAX_CONTEXT_RESULT_BYTES", "child_operation", "run_child"]

MAX_CONTEXT_RESULT_BYTES = OPERATION_PAYLOAD_BYTES.max


def child_operation(
    scope: IdScope,
    sub_type: str,
    name: str | None,
    body: ContextBody,
    *,
    result_type: Any,
    serdes: Serdes,
) -> DurableOperation[Any]:
    """A CONTEXT operation of `scope` running `body` in a child scope of its own."""
    return scope.operation(
        OperationType.CONTEXT,
        sub_type,
        name,
        lambda op: run_child(op, scope, body, result_type=result_type, serdes=serdes),
    )


async def run_child(
    op: OperationHandle,
    parent: IdScope,
    body: ContextBody,
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
    state = op.state()
    details = state.context_details if state is not None else None
    if state is not None and state.status is OperationStatus.SUCCEEDED:
        if not (details and details.replay_children):
            return serdes.deserialize(details.result if details else None, result_type)
    elif state is not None and state.status.is_terminal:
        raise op.error(ChildContextError, details.error if details else None)
    if state is None:
        op.queue(OperationAction.START)
    try:
        with fresh_root(op.id):
            value = await body(parent.child(op.id))
        payload, result = round_trip(serdes, value, result_type, f"child context {op.label}")
    except Exception as exc:
        if isinstance(exc, NonDeterministicExecutionError) or op.runtime.fatal is not None:
            raise  # the invocation is failing as a whole: nothing to checkpoint for the child
        await op.fail(ChildContextError, exc)
    if state is not None and state.status.is_terminal:
        return result  # replaying a large result's children: already recorded
    if payload is not None and len(payload.encode()) > MAX_CONTEXT_RESULT_BYTES:
        succeed = op.update(
            OperationAction.SUCCEED, context_options=ContextOptions(replay_children=True)
        )
    else:
        succeed = op.update(OperationAction.SUCCEED, payload=payload)
    if await_success:
        await op.runtime.send(succeed)
    else:
        op.runtime.queue(succeed)
    return result
