"""The wait operation: a durable timer kept by the service."""

from __future__ import annotations

from .._lifecycle import OperationHandle, ended
from .._models import OperationAction, WaitOptions

__all__ = ["run_wait"]


# --8<-- [start:run_wait]
async def run_wait(op: OperationHandle, seconds: int) -> None:
    """Start the timer (unless the history has it) and park until the service ends it."""
    state = op.state()
    if state is None:
        state = await op.send(OperationAction.START, wait_options=WaitOptions(wait_seconds=seconds))
    if state.status.is_terminal:
        return
    end = state.wait_details.scheduled_end_timestamp if state.wait_details else None
    await op.park(ended, due=end.timestamp() if end else None)


# --8<-- [end:run_wait]
