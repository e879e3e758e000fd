"""The local runner: run a durable handler to the end on the embedded backend, skipping time."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ._backends.faulty import FaultyBackend
from ._backends.memory.service import InvokeOutcome, InvokeRequest, MemoryBackend
from ._backends.protocol import Backend
from ._clock import ManualClock
from ._errors import BackendUnavailableError, DurableError, InvocationDeadlineError
from ._handler import DurableHandler
from ._models import (
    CheckpointResponse,
    ErrorObject,
    ExecutionState,
    InvocationInput,
    InvocationOutput,
    InvocationStatus,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)
from ._unawaited import UnawaitedOperation, unawaited_error, warn_unawaited

__all__ = ["LocalRunner", "RunResult", "RunningExecution"]


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
        failed_invocations: invocations that raised an error Lambda retries
            (`BackendUnavailableError`, `InvocationDeadlineError`, as faults injected with a
            `FaultyBackend` cause); the runner invoked again after each, as Lambda does.
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

    def __init__(self, runner: LocalRunner, arn: str, task: asyncio.Task[RunResult]) -> None:
        self._runner = runner
        self.execution_arn = arn
        self._task = task

    async def callback_id(self, name: str | None = None) -> str:
        """Wait until a callback (named `name`, if given) has started; return its id."""
        backend = self._runner.backend
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
        self._runner.backend.send_callback_success(callback_id, json.dumps(result))

    def send_callback_failure(self, callback_id: str, error_type: str, message: str) -> None:
        """Fail a callback with an error."""
        error = ErrorObject(error_type=error_type, error_message=message)
        self._runner.backend.send_callback_failure(callback_id, error)

    def send_callback_heartbeat(self, callback_id: str) -> None:
        """Send a heartbeat for a callback."""
        self._runner.backend.send_callback_heartbeat(callback_id)

    async def result(self) -> RunResult:
        """Wait for the execution to end.

        Raises:
            UnawaitedOperationError: the handler created an operation and never awaited it
                (with the runner's default `unawaited="error"`); the execution itself ended as
                it would in production.
        """
        return await self._task


class _SimulatedCrash(BackendUnavailableError):
    """The invocation 'died' after a checkpoint reached the service."""


_RETRIED = (BackendUnavailableError, InvocationDeadlineError)
"""What Lambda retries: the invocation raised because the service or the time ran out."""


class _ReplayAfterCheckpoint:
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
        raise _SimulatedCrash("simulated crash after a checkpoint", code="SimulatedCrash")

    async def get_state(
        self, arn: str, token: str, *, marker: str | None = None, max_items: int = 1000
    ) -> ExecutionState:
        return await self._backend.get_state(arn, token, marker=marker, max_items=max_items)


class LocalRunner:
    """Runs a durable handler on a `MemoryBackend`, re-invoking it until it ends.

    When an invocation suspends on a timer (a wait, a retry delay), the runner moves the
    backend's `ManualClock` to it and invokes again, so hours of waiting take no time. When it
    suspends on a callback or a chained invoke, the runner waits for that to complete (send
    callbacks through `start(...)`'s handle; advance the clock to make a callback time out).

    An invocation that raises an error Lambda retries (`BackendUnavailableError`,
    `InvocationDeadlineError`) is invoked again, as Lambda would; any other exception from an
    invocation is a bug and propagates.

    Args:
        handler: the `@durable_execution` handler.
        backend: the embedded backend (default: a new one on a `ManualClock`), or a
            `FaultyBackend` wrapping one: the handler's calls then go through its faults.
        max_invocations: a bound that turns a runaway workflow into a clear error.
        always_replay: end every invocation right after its first checkpoint reaches the
            service (as if the function crashed before reading the response) and invoke
            again, so the workflow replays from every point of its history. A correct
            handler gives the same result either way. A checkpoint that starts an
            at-most-once step is let through, so the step behaves as in a live run.
        callback_grace: when an invocation suspends on callbacks only, how many seconds of
            real time to wait for an outside event before skipping the clock to the next
            callback timeout (default `None`: wait for the event, or for the test to advance
            the clock).
        unawaited: what to do when the handler finishes leaving a durable operation it created
            never awaited (so it never ran; see `UnawaitedOperationWarning`): `"error"` (the
            default) lets the execution end as in production, then raises
            `UnawaitedOperationError` from `run()` or `result()`; `"warn"` issues the
            production warning; `"ignore"` says nothing. Chained-invoke targets run by the
            runner report to the run that invoked them.

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
        backend: MemoryBackend | FaultyBackend | None = None,
        max_invocations: int = 1000,
        always_replay: bool = False,
        callback_grace: float | None = None,
        unawaited: Literal["error", "warn", "ignore"] = "error",
    ) -> None:
        if unawaited not in ("error", "warn", "ignore"):
            raise ValueError(f"unawaited must be 'error', 'warn' or 'ignore', got {unawaited!r}")
        self.handler = handler
        self.unawaited = unawaited
        self._wire: Backend
        if isinstance(backend, FaultyBackend):
            if not isinstance(backend.inner, MemoryBackend):
                raise TypeError("LocalRunner needs a FaultyBackend wrapping a MemoryBackend")
            self.backend, self._wire = backend.inner, backend
        else:
            self.backend = backend or MemoryBackend()
            self._wire = self.backend
        self.max_invocations = max_invocations
        self.always_replay = always_replay
        self.callback_grace = callback_grace
        self.functions: dict[str, DurableHandler[Any, Any] | Callable[[Any], Any]] = {}
        # The unawaited operations of each execution being driven, by ARN; a chained invoke's
        # child execution shares the list of the one that invoked it.
        self._unawaited_by_arn: dict[str, list[UnawaitedOperation]] = {}
        if self.backend.invoker is None:
            self.backend.invoker = self._invoke

    def register(self, name: str, target: DurableHandler[Any, Any] | Callable[[Any], Any]) -> None:
        """Make `name` a chained-invoke target: a durable handler (run as a child execution
        with its own history) or a plain function (sync or async) called with the payload."""
        self.functions[name] = target

    async def run(self, input: Any = None, *, name: str | None = None) -> RunResult:
        """Start an execution with `input` and drive it to a terminal status."""
        return await self.start(input, name=name).result()

    def start(
        self, input: Any = None, *, name: str | None = None, input_payload: str | None = None
    ) -> RunningExecution:
        """Start an execution and drive it in a task; the handle answers callbacks."""
        event = self.backend.start_execution(input, name=name, input_payload=input_payload)
        return self._launch(event)

    def resume(self, execution_arn: str) -> RunningExecution:
        """Drive an execution already on this runner's backend to its end.

        For an execution whose invocation died (a crash injected by a test, a backend that
        raised) or that another runner started: the next invocation replays its checkpoints.
        """
        return self._launch(self.backend.invocation_event(execution_arn))

    def _launch(
        self, event: InvocationInput, unawaited: list[UnawaitedOperation] | None = None
    ) -> RunningExecution:
        # What the event's state holds is noted now: a callback answered before the task first
        # runs is news for its first invocation, not something to wait for afterwards.
        seen = self.backend.changes(event.durable_execution_arn)
        task = asyncio.get_running_loop().create_task(self._drive(event, unawaited, seen))
        return RunningExecution(self, event.durable_execution_arn, task)

    async def _drive(
        self, event: InvocationInput, unawaited: list[UnawaitedOperation] | None, seen: int
    ) -> RunResult:
        """Run the execution to its end; then raise `UnawaitedOperationError` if asked to.

        `unawaited` is the list of the run that invoked this execution (a chained invoke), which
        reports the operations of both; `None` for an execution started on the runner.
        """
        found = [] if unawaited is None else unawaited
        arn = event.durable_execution_arn
        self._unawaited_by_arn[arn] = found
        try:
            result = await self._invoke_until_done(event, found, seen)
        finally:
            del self._unawaited_by_arn[arn]
        if unawaited is None and found and self.unawaited == "error":
            raise unawaited_error(found)
        return result

    async def _invoke_until_done(
        self, event: InvocationInput, found: list[UnawaitedOperation], changes: int
    ) -> RunResult:
        """Invoke until the execution ends; `changes` counts the outside events (callbacks,
        invoke results) that `event`'s state already holds."""
        backend = self.backend
        arn = event.durable_execution_arn
        report = {"error": found.extend, "warn": warn_unawaited, "ignore": _ignore}[self.unawaited]
        invocations = failed = 0
        while True:
            wire = _ReplayAfterCheckpoint(self._wire) if self.always_replay else self._wire
            invocations += 1
            started = backend.clock.now()
            if invocations > self.max_invocations:
                raise DurableError(
                    f"execution {arn} still running after {invocations - 1} invocations"
                )
            calls = len(self._wire.calls) if isinstance(self._wire, FaultyBackend) else 0
            output: InvocationOutput | None = None
            try:
                output = await self.handler.invoke_output(
                    event, backend=wire, _report_unawaited=report
                )
            except _RETRIED as exc:  # Lambda invokes again, unless a checkpoint ended it
                failed += not isinstance(exc, _SimulatedCrash)
                if backend.get_execution(arn)["Status"] != "RUNNING":
                    break
            if output is not None and not self._superseded(calls):
                # (An injected stale token: the service discards the output, and the "newer
                # invocation" that owns the execution is the next one.)
                backend.complete_invocation(
                    arn, output, started=started, request_id=f"local-{invocations}"
                )
                if output.status is not InvocationStatus.PENDING:
                    break
                if backend.changes(arn) == changes:
                    await self._next_event(arn)
            event = backend.invocation_event(arn)
            changes = backend.changes(arn)
        summary = backend.get_execution(arn)
        result = summary.get("Result")
        if output is None:  # the execution ended with a checkpoint whose answer was lost
            error = summary.get("Error")
            output = InvocationOutput(
                status=InvocationStatus(summary["Status"]),
                error=ErrorObject.model_validate(error) if error else None,
            )
        return RunResult(
            status=output.status,
            result=json.loads(result) if result else None,
            error=output.error,
            operations=backend.operations(arn),
            history=backend.history(arn),
            invocations=invocations,
            execution_arn=arn,
            failed_invocations=failed,
        )

    def _superseded(self, calls: int) -> bool:
        """Whether a `FaultyBackend` answered a call made since `calls` with a stale token."""
        wire = self._wire
        return isinstance(wire, FaultyBackend) and any(
            call.fault == "stale_token" for call in wire.calls[calls:]
        )

    async def _next_event(self, arn: str) -> None:
        """Skip to the next timer, or wait for a callback, an invoke result or a timeout."""
        backend, clock = self.backend, self.backend.clock
        wake = backend.next_wake_time(arn, callbacks=False)
        if wake is not None and isinstance(clock, ManualClock):
            clock.advance_to(wake)
            return
        waiters: list[asyncio.Future[Any]] = [backend.changed(arn)]
        deadline = backend.next_wake_time(arn)
        if deadline is not None:
            waiters.append(asyncio.ensure_future(clock.sleep_until(deadline)))
        try:
            done, _ = await asyncio.wait(
                waiters, timeout=self.callback_grace, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
        if not done and deadline is not None and isinstance(clock, ManualClock):
            clock.advance_to(deadline)  # nobody answered in time: let the timeout happen

    async def _invoke(self, request: InvokeRequest) -> InvokeOutcome:
        name, payload = request.function_name, request.payload
        target = self.functions.get(name)
        if target is None:
            return InvokeOutcome(
                error=ErrorObject(
                    error_type="ResourceNotFoundException",
                    error_message=f"function {name!r} is not registered with the local runner",
                )
            )
        if isinstance(target, DurableHandler):
            child = LocalRunner(target, backend=self.backend, unawaited=self.unawaited)
            child.functions = self.functions
            child._unawaited_by_arn = self._unawaited_by_arn  # grandchildren find their caller
            event = self.backend.start_execution(
                input_payload=payload or "null", invoked_by=request
            )
            caller = self._unawaited_by_arn.get(request.caller_arn)
            await child._launch(event, caller).result()
            return self.backend.invoke_outcome(event.durable_execution_arn)
        value = target(json.loads(payload) if payload else None)
        if inspect.isawaitable(value):
            value = await value
        return InvokeOutcome(result=json.dumps(value))


def _ignore(operations: Sequence[UnawaitedOperation]) -> None:
    """`unawaited="ignore"`: say nothing."""
