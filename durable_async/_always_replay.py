"""`always_replay`: each invocation ends right after its first checkpoint reaches the service,
as if the function crashed before reading the response."""

from __future__ import annotations

from collections.abc import Sequence

from ._backends.protocol import Backend
from ._errors import BackendUnavailableError
from ._models import CheckpointResponse, ExecutionState, OperationAction, OperationUpdate

__all__ = ["ReplayAfterCheckpoint", "SimulatedCrash"]


class SimulatedCrash(BackendUnavailableError):
    """The invocation 'died' after a checkpoint reached the service."""


class ReplayAfterCheckpoint:
    """A backend view for one invocation under `always_replay`: it loses the response of the
    first checkpoint sent while no at-most-once step is between its START and its outcome.

    Ending the invocation there would interrupt the attempt, which a live run never does (a
    real crash can, and `FaultyBackend` tests that).
    """

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self.clock = backend.clock
        self._running: set[str] = set()  # at-most-once steps started, outcome not yet sent

    async def checkpoint(
        self,
        arn: str,
        token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResponse:
        response = await self._backend.checkpoint(arn, token, updates, client_token=client_token)
        running = self._running
        for update in updates:
            if update.body_waits:
                running.add(update.id)
            elif update.action is not OperationAction.START:
                running.discard(update.id)
        if running:
            return response
        raise SimulatedCrash("simulated crash after a checkpoint", code="SimulatedCrash")

    async def get_state(
        self, arn: str, token: str, *, marker: str | None = None, max_items: int = 1000
    ) -> ExecutionState:
        return await self._backend.get_state(arn, token, marker=marker, max_items=max_items)
