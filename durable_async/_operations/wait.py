"""The wait operation: a durable timer kept by the service."""

from __future__ import annotations

from .._duration import DurationLike, to_seconds
from .._lifecycle import OperationHandle, ended
from .._models import OperationAction, OperationType, WaitOptions
from .._operation import DurableOperation
from .._scope import IdScope

__all__ = ["run_wait", "wait_operation"]


# --8<-- [start:wait_operation]
def wait_operation(
    scope: IdScope, duration: DurationLike, name: str | None
) -> DurableOperation[None]:
    """Check the duration now, take the next id of `scope`; `run_wait` runs when awaited."""
    seconds = to_seconds(duration, what="wait duration")
    return scope.operation(OperationType.WAIT, "Wait", name, lambda op: run_wait(op, seconds))


# --8<-- [end:wait_operation]


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
