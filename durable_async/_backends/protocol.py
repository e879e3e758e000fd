"""The protocol every backend (the real service or the embedded emulation) implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from .._clock import Clock
from .._models import CheckpointResponse, ExecutionState, OperationUpdate

__all__ = ["Backend"]


@runtime_checkable
class Backend(Protocol):
    """What the runtime needs from the durable execution service.

    Implementations raise the `BackendError` subclasses: `StaleCheckpointTokenError` when the token
    is no longer current, `BackendUnavailableError` for throttling and server errors that persisted
    through retries, `CheckpointRejectedError` for every other refusal.
    """

    @property
    def clock(self) -> Clock:
        """The clock the service's timers run on (the wall clock for AWS)."""
        ...

    async def checkpoint(
        self,
        execution_arn: str,
        checkpoint_token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResponse:
        """Send `updates` (possibly none, to poll) and return the new token and changed state."""
        ...

    async def get_state(
        self,
        execution_arn: str,
        checkpoint_token: str,
        *,
        marker: str | None = None,
        max_items: int = 1000,
    ) -> ExecutionState:
        """Return one page of the execution's operations, starting at `marker`."""
        ...
