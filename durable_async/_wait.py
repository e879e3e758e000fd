"""The wait operation: a durable timer kept by the service."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._models import (
    Operation,
    OperationAction,
    OperationType,
    OperationUpdate,
    WaitOptions,
)

if TYPE_CHECKING:
    from ._runtime import ExecutionRuntime

__all__ = ["run_wait"]


def _ended(op: Operation) -> bool:
    return op.status.is_terminal


async def run_wait(
    runtime: ExecutionRuntime, op_id: str, name: str | None, parent_id: str | None, seconds: int
) -> None:
    """Start the timer (unless the history has it) and park until the service ends it."""
    op = runtime.store.get(op_id)
    if op is None:
        op = await runtime.send(
            OperationUpdate(
                id=op_id,
                type=OperationType.WAIT,
                action=OperationAction.START,
                parent_id=parent_id,
                name=name,
                sub_type="Wait",
                wait_options=WaitOptions(wait_seconds=seconds),
            )
        )
    if op.status.is_terminal:
        return
    end = op.wait_details.scheduled_end_timestamp if op.wait_details else None
    await runtime.park(op_id, _ended, due=end.timestamp() if end else None)
