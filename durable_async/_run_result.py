"""What the local runner gives back: the result of a run, and the handle of a running one."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from ._backends.memory.service import MemoryBackend
from ._errors import DurableError
from ._models import ErrorObject, InvocationStatus, Operation, OperationStatus, OperationType

__all__ = ["RunResult", "RunningExecution"]


@dataclass(frozen=True)
class RunResult:
    """The outcome of a local run: status, result, error, operations and history.

    Attributes:
        status: `SUCCEEDED` or `FAILED`.
        result: the handler's return value, decoded from JSON.
        error: the error of a failed execution.
        operations: every operation, in creation order (the EXECUTION one first).
        history: the service-shaped history events.
        invocations: how many times the handler was invoked.
        execution_arn: the execution's ARN on the embedded backend.
        failed_invocations: invocations that failed: those that raised an error Lambda
            retries (`BackendUnavailableError`, `InvocationDeadlineError`, as faults injected
            with a `FaultyBackend` cause) and those an `around` hook ended with a
            `FunctionError`. Each is recorded in the history as an `InvocationCompleted` with
            its error, and the runner invoked again after it, as Lambda does.
    """

    status: InvocationStatus
    result: Any
    error: ErrorObject | None
    operations: list[Operation] = field(repr=False)
    history: list[dict[str, Any]] = field(repr=False)
    invocations: int = 1
    execution_arn: str = ""
    failed_invocations: int = 0

    def operation(self, name: str) -> Operation:
        """The single operation called `name`.

        Raises:
            KeyError: no operation, or more than one, has that name.
        """
        found = [op for op in self.operations if op.name == name]
        if len(found) != 1:
            raise KeyError(f"{len(found)} operations are named {name!r}")
        return found[0]

    def operations_of(self, kind: OperationType) -> list[Operation]:
        """The operations of one type, in creation order."""
        return [op for op in self.operations if op.type is kind]


class RunningExecution:
    """An execution the runner is driving: inspect it, answer its callbacks, await its end."""

    def __init__(self, backend: MemoryBackend, arn: str, task: asyncio.Task[RunResult]) -> None:
        self._backend = backend
        self.execution_arn = arn
        self._task = task

    async def callback_id(self, name: str | None = None) -> str:
        """Wait until a callback (named `name`, if given) has started; return its id."""
        backend = self._backend
        while True:
            for op in backend.operations(self.execution_arn):
                if (
                    op.type is OperationType.CALLBACK
                    and op.callback_details
                    and op.callback_details.callback_id
                    and (name is None or op.name == name)
                    and op.status is OperationStatus.STARTED
                ):
                    return op.callback_details.callback_id
            if self._task.done():
                raise DurableError(f"the execution ended with no open callback named {name!r}")
            await asyncio.sleep(0.001)

    def send_callback_success(self, callback_id: str, result: Any = None) -> None:
        """Complete a callback with `result` (JSON-encoded)."""
        self._backend.send_callback_success(callback_id, json.dumps(result))

    def send_callback_failure(self, callback_id: str, error_type: str, message: str) -> None:
        """Fail a callback with an error."""
        error = ErrorObject(error_type=error_type, error_message=message)
        self._backend.send_callback_failure(callback_id, error)

    def send_callback_heartbeat(self, callback_id: str) -> None:
        """Send a heartbeat for a callback."""
        self._backend.send_callback_heartbeat(callback_id)

    async def result(self) -> RunResult:
        """Wait for the execution to end.

        Raises:
            UnawaitedOperationError: the handler created an operation and never awaited it
                (with the runner's default `unawaited="error"`); the execution itself ended as
                it would in production.
        """
        return await self._task
