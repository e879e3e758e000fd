"""The local runner: run a durable handler to the end on the embedded backend, skipping time."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .._clock import ManualClock
from .._errors import DurableError
from .._handler import DurableHandler
from .._memory_backend import MemoryBackend
from .._models import ErrorObject, InvocationStatus, Operation, OperationType

__all__ = ["LocalRunner", "RunResult"]


@dataclass(frozen=True)
class RunResult:
    """The outcome of a local run: status, result, error, operations and history.

    Attributes:
        status: `SUCCEEDED` or `FAILED` (or `PENDING` when the run stopped at `max_invocations`).
        result: the handler's return value, decoded from JSON.
        error: the error of a failed execution.
        operations: every operation, in creation order (the EXECUTION one first).
        history: the service-shaped history events.
        invocations: how many times the handler was invoked.
        execution_arn: the execution's ARN on the embedded backend.
    """

    status: InvocationStatus
    result: Any
    error: ErrorObject | None
    operations: list[Operation] = field(repr=False)
    history: list[dict[str, Any]] = field(repr=False)
    invocations: int = 1
    execution_arn: str = ""

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


class LocalRunner:
    """Runs a durable handler on a `MemoryBackend`, re-invoking it until it ends.

    When an invocation suspends, the runner moves the backend's `ManualClock` to the next timer
    (a wait's end, a retry's next attempt) and invokes again, so hours of waiting take no time.

    Args:
        handler: the `@durable_execution` handler.
        backend: the embedded backend (default: a new one on a `ManualClock`).
        max_invocations: a bound that turns a runaway workflow into a clear error.

    Example:
        ```python
        result = await LocalRunner(handler).run({"sku": "a-1"})
        assert result.status is InvocationStatus.SUCCEEDED
        ```
    """

    def __init__(
        self,
        handler: DurableHandler[Any, Any],
        *,
        backend: MemoryBackend | None = None,
        max_invocations: int = 1000,
    ) -> None:
        self.handler = handler
        self.backend = backend or MemoryBackend()
        self.max_invocations = max_invocations

    async def run(self, input: Any = None, *, name: str | None = None) -> RunResult:
        """Start an execution with `input` and drive it to a terminal status."""
        backend = self.backend
        event = backend.start_execution(input, name=name)
        arn = event.durable_execution_arn
        invocations = 0
        while True:
            invocations += 1
            started = backend.clock.now()
            output = await self.handler.invoke_output(event, backend=backend)
            backend.complete_invocation(
                arn, output, started=started, request_id=f"local-{invocations}"
            )
            if output.status is not InvocationStatus.PENDING:
                break
            if invocations >= self.max_invocations:
                raise DurableError(f"execution {arn} still PENDING after {invocations} invocations")
            wake = backend.next_wake_time(arn)
            if wake is not None and isinstance(backend.clock, ManualClock):
                backend.clock.advance_to(wake)
            event = backend.invocation_event(arn)
        summary = backend.get_execution(arn)
        result = summary.get("Result")
        return RunResult(
            status=output.status,
            result=json.loads(result) if result else None,
            error=output.error,
            operations=backend.operations(arn),
            history=backend.history(arn),
            invocations=invocations,
            execution_arn=arn,
        )
