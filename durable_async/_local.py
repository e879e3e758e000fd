"""The local runner: run a durable handler to the end on the embedded backend, skipping time."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Any, Literal

from ._always_replay import ReplayAfterCheckpoint, SimulatedCrash
from ._answers import CallbacksPendingError, OnCallback, scripted, settle_callbacks
from ._backends.faulty import FaultyBackend
from ._backends.memory.invokes import InvokeOutcome, InvokeRequest
from ._backends.memory.service import MemoryBackend
from ._backends.protocol import Backend
from ._errors import BackendUnavailableError, DurableError, InvocationDeadlineError
from ._invocations import Around, FunctionError, Invocation, LocalLambdaContext
from ._models import (
    ErrorObject,
    InvocationInput,
    InvocationOutput,
    InvocationStatus,
    Operation,
)
from ._next_event import NextEvent, SkipToNextEvent
from ._run_result import RunningExecution, RunResult
from ._targets import DurableTarget, call_plain
from ._unawaited import UnawaitedOperation, unawaited_error, warn_unawaited

__all__ = ["LocalRunner"]

Target = DurableTarget | Callable[[Any], Any]

_RETRIED = (BackendUnavailableError, InvocationDeadlineError)
"""What Lambda retries: the invocation raised because the service or the time ran out."""


class LocalRunner:
    """Runs a durable handler on a `MemoryBackend`, re-invoking it until it ends.

    When an invocation suspends on a timer (a wait, a retry delay), the runner moves the
    backend's `ManualClock` to it and invokes again, so hours of waiting take no time. When it
    suspends on a callback or a chained invoke, the runner waits for that to complete (send
    callbacks through `start(...)`'s handle; advance the clock to make a callback time out).
    A chained invoke's target starts once the invocation that asked for it has ended, as on
    the service, where a Lambda invoke takes far longer than the SDK takes to suspend.

    An invocation that raises an error Lambda retries (`BackendUnavailableError`,
    `InvocationDeadlineError`), or that an `around` hook ends with a `FunctionError`, failed:
    the runner records it in the history (an `InvocationCompleted` with its error) and invokes
    again, as Lambda would. Any other exception from an invocation is a bug and propagates.

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
        callback_grace: for the default `next_event` policy (`SkipToNextEvent`): when an
            invocation suspends on callbacks only, how many seconds of real time to wait for
            an outside event before skipping the clock to the next callback timeout (default
            `None`: wait for the event, or for the test to advance the clock).
        unawaited: what to do when the handler finishes leaving a durable operation it created
            never awaited (so it never ran; see `UnawaitedOperationWarning`): `"error"` (the
            default) lets the execution end as in production, then raises
            `UnawaitedOperationError` from `run()` or `result()`; `"warn"` issues the
            production warning; `"ignore"` says nothing. Chained-invoke targets run by the
            runner report to the run that invoked them.
        around: runs each invocation, of the handler and of every chained-invoke target:
            `await around(invocation, call)` must await `call()` and return its result, or
            raise. Raising `FunctionError(error_type, message)` fails the invocation as
            Lambda's runtime reports a failure (a crashed process, say): a durable invocation
            is recorded as failed and invoked again, a plain target's invoke fails with that
            error. `invocation.function` is the target's registered name, or the handler's
            `__name__`; `invocation.payload` is the durable invocation event, or the target's
            payload.
        next_event: `await next_event(backend, arn)` returns when an execution that suspended
            with nothing new should be invoked again (default: `SkipToNextEvent`, which skips
            the clock to the next timer or waits for an outside event).
        max_failed_invocations: after this many failed invocations in a row the execution
            fails with the last one's error, as the service gives up on a function that keeps
            failing (default `None`: no limit but `max_invocations`).
        on_callback: answers callbacks when they are all the execution waits on: a hook
            `on_callback(operation) -> CallbackAnswer | None` (sync or async; `None` leaves
            the callback unanswered), or a sequence of `CallbackAnswer`s given out in the order
            the callbacks started. Left unanswered, `run()` raises `CallbacksPendingError`
            naming them, rather than wait for an answer nothing can send (unless
            `callback_grace` or `next_event` is given); `start(...)`'s handle waits, since the
            test holding it can answer.

    Example:
        ```python
        result = await LocalRunner(handler).run({"sku": "a-1"})
        assert result.status is InvocationStatus.SUCCEEDED
        ```
    """

    def __init__(
        self,
        handler: DurableTarget,
        *,
        backend: MemoryBackend | FaultyBackend | None = None,
        max_invocations: int = 1000,
        always_replay: bool = False,
        callback_grace: float | None = None,
        unawaited: Literal["error", "warn", "ignore"] = "error",
        around: Around | None = None,
        next_event: NextEvent | None = None,
        max_failed_invocations: int | None = None,
        on_callback: OnCallback | None = None,
    ) -> None:
        if unawaited not in ("error", "warn", "ignore"):
            raise ValueError(f"unawaited must be 'error', 'warn' or 'ignore', got {unawaited!r}")
        if next_event is not None and callback_grace is not None:
            raise ValueError("callback_grace is an option of the default next_event policy")
        if max_failed_invocations is not None and max_failed_invocations < 1:
            raise ValueError(f"max_failed_invocations must be >= 1, got {max_failed_invocations}")
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
        self.around = around
        self.next_event: NextEvent = next_event or SkipToNextEvent(callback_grace)
        self._waits_for_answers = next_event is not None or callback_grace is not None
        self.on_callback: Callable[[Operation], Any] | None = (
            on_callback if on_callback is None or callable(on_callback) else scripted(on_callback)
        )
        # Whether something outside can answer each execution's callbacks (by ARN): not under
        # `run()`, which hands out no handle.
        self._answerable: dict[str, bool] = {}
        # A chained target's unanswered callbacks, for the run that invoked it to raise.
        self._stuck: dict[str, CallbacksPendingError] = {}
        self.max_failed_invocations = max_failed_invocations
        self.functions: dict[str, Target] = {}
        self._function: str = getattr(handler, "__name__", type(handler).__name__)
        # The unawaited operations of each execution being driven, by ARN; a chained invoke's
        # child execution shares the list of the one that invoked it.
        self._unawaited_by_arn: dict[str, list[UnawaitedOperation]] = {}
        # Set while no invocation of the execution (by ARN) runs: chained invokes wait for it.
        self._idle: dict[str, asyncio.Event] = {}
        if self.backend.invoker is None:
            self.backend.invoker = self._invoke

    def register(self, name: str, target: Target) -> None:
        """Make `name` a chained-invoke target: a durable handler (run as a child execution
        with its own history) or a plain function (sync or async) called with the payload."""
        self.functions[name] = target

    async def run(self, input: Any = None, *, name: str | None = None) -> RunResult:
        """Start an execution with `input` and drive it to a terminal status.

        Raises:
            CallbacksPendingError: only callbacks are left and nothing answers them.
        """
        return await self.start(input, name=name, wait_for_answers=False).result()

    def start(
        self,
        input: Any = None,
        *,
        name: str | None = None,
        input_payload: str | None = None,
        wait_for_answers: bool = True,
    ) -> RunningExecution:
        """Start an execution and drive it in a task; the handle answers callbacks.

        With `wait_for_answers=False`, callbacks that nothing answers end the run with
        `CallbacksPendingError`, as under `run()`, instead of waiting for the handle's answers.
        """
        event = self.backend.start_execution(input, name=name, input_payload=input_payload)
        return self._launch(event, answerable=wait_for_answers)

    def resume(self, execution_arn: str) -> RunningExecution:
        """Drive an execution already on this runner's backend to its end.

        For an execution whose invocation died (a crash injected by a test, a backend that
        raised) or that another runner started: the next invocation replays its checkpoints.
        """
        return self._launch(self.backend.invocation_event(execution_arn))

    def _launch(
        self,
        event: InvocationInput,
        unawaited: list[UnawaitedOperation] | None = None,
        *,
        answerable: bool = True,
    ) -> RunningExecution:
        # What the event's state holds is noted now: a callback answered before the task first
        # runs is news for its first invocation, not something to wait for afterwards.
        seen = self.backend.changes(event.durable_execution_arn)
        self._answerable[event.durable_execution_arn] = answerable
        task = asyncio.get_running_loop().create_task(self._drive(event, unawaited, seen))
        return RunningExecution(self.backend, event.durable_execution_arn, task)

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
        idle = self._idle[arn] = asyncio.Event()
        try:
            result = await self._invoke_until_done(event, found, seen, idle)
        finally:
            del self._unawaited_by_arn[arn]
            del self._idle[arn]
            self._answerable.pop(arn, None)
            idle.set()
        if unawaited is None and found and self.unawaited == "error":
            raise unawaited_error(found)
        return result

    async def _invoke_until_done(
        self,
        event: InvocationInput,
        found: list[UnawaitedOperation],
        changes: int,
        idle: asyncio.Event,
    ) -> RunResult:
        """Invoke until the execution ends; `changes` counts the outside events (callbacks,
        invoke results) that `event`'s state already holds."""
        backend = self.backend
        arn = event.durable_execution_arn
        report = {"error": found.extend, "warn": warn_unawaited, "ignore": _ignore}[self.unawaited]
        invocations = failed = in_a_row = 0
        while True:
            invocations += 1
            if invocations > self.max_invocations:
                raise DurableError(
                    f"execution {arn} still running after {invocations - 1} invocations"
                )
            started, request_id = backend.clock.now(), f"local-{invocations}"
            calls = len(self._wire.calls) if isinstance(self._wire, FaultyBackend) else 0
            idle.clear()
            try:
                output, error = await self._invoke_once(event, report, request_id)
            finally:
                idle.set()
            if output is not None and not self._superseded(calls):
                # (An injected stale token: the service discards the output, and the "newer
                # invocation" that owns the execution is the next one.)
                in_a_row = 0
                backend.complete_invocation(arn, output, started=started, request_id=request_id)
                if output.status is not InvocationStatus.PENDING:
                    break
                if backend.changes(arn) == changes:
                    await self._next_event(arn)
                if not self._running(arn):  # stopped while it waited
                    output = None
                    break
            elif error is not None:  # Lambda invokes again, unless it gives up
                failed += 1
                in_a_row += 1
                if in_a_row == self.max_failed_invocations and self._running(arn):
                    output = InvocationOutput(status=InvocationStatus.FAILED, error=error)
                    backend.complete_invocation(arn, output, started=started, request_id=request_id)
                    break
                backend.fail_invocation(arn, error, started=started, request_id=request_id)
            if output is None and not self._running(arn):
                break  # a checkpoint ended the execution, and its answer was lost
            event = backend.invocation_event(arn)
            changes = backend.changes(arn)
        summary = backend.get_execution(arn)
        result = summary.get("Result")
        if output is None:
            failure = summary.get("Error")
            ok = summary["Status"] == "SUCCEEDED"
            output = InvocationOutput(
                # A stopped (or timed-out) execution did not succeed: it ended FAILED, with
                # the error it was stopped with.
                status=InvocationStatus.SUCCEEDED if ok else InvocationStatus.FAILED,
                error=ErrorObject.model_validate(failure) if failure else None,
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

    async def _invoke_once(
        self,
        event: InvocationInput,
        report: Callable[[Sequence[UnawaitedOperation]], None],
        request_id: str,
    ) -> tuple[InvocationOutput | None, ErrorObject | None]:
        """One invocation: its output, or the error it failed with (neither, for the end
        `always_replay` simulates)."""
        wire = ReplayAfterCheckpoint(self._wire) if self.always_replay else self._wire
        context = LocalLambdaContext(self._function, request_id)

        async def call() -> InvocationOutput:
            return await self.handler.invoke_output(
                event, context, backend=wire, _report_unawaited=report
            )

        try:
            if self.around is None:
                return await call(), None
            payload = event.model_dump(mode="json", by_alias=True, exclude_none=True)
            output = await self.around(Invocation(self._function, payload, durable=True), call)
        except FunctionError as exc:
            return None, ErrorObject(error_type=exc.error_type, error_message=exc.message)
        except SimulatedCrash:
            return None, None
        except _RETRIED as exc:
            return None, ErrorObject(error_type=type(exc).__name__, error_message=str(exc))
        if not isinstance(output, InvocationOutput):
            raise TypeError(f"around returned {output!r}, not what call() returned")
        return output, None

    async def _next_event(self, arn: str) -> None:
        """Wait for what invokes a suspended execution again. When callbacks are all it waits
        on, `on_callback` answers them first; under `run()`, with nothing to answer them, the
        run ends with `CallbacksPendingError` rather than wait for ever."""
        can_wait = self._answerable.get(arn, True) or self._waits_for_answers
        if not await settle_callbacks(self.backend, arn, self.on_callback, can_wait=can_wait):
            await self.next_event(self.backend, arn)
        stuck = self._stuck.pop(arn, None)
        if stuck is not None:
            raise stuck

    def _running(self, arn: str) -> bool:
        return bool(self.backend.get_execution(arn)["Status"] == "RUNNING")

    def _superseded(self, calls: int) -> bool:
        """Whether a `FaultyBackend` answered a call made since `calls` with a stale token."""
        wire = self._wire
        return isinstance(wire, FaultyBackend) and any(
            call.fault == "stale_token" for call in wire.calls[calls:]
        )

    def _sibling(self, name: str, target: DurableTarget) -> LocalRunner:
        """A runner of `target` (registered as `name`) on this runner's backend, with its
        settings, functions and bookkeeping: executions either one drives wait for each other's
        invocations and report unawaited operations as one run."""
        runner = LocalRunner(
            target,
            backend=self.backend,
            max_invocations=self.max_invocations,
            unawaited=self.unawaited,
            around=self.around,
            next_event=self.next_event,
            max_failed_invocations=self.max_failed_invocations,
            on_callback=self.on_callback,
        )
        runner.functions, runner._function = self.functions, name
        runner._waits_for_answers = self._waits_for_answers
        runner._unawaited_by_arn, runner._idle = self._unawaited_by_arn, self._idle
        runner._stuck, runner._answerable = self._stuck, self._answerable
        return runner

    async def _invoke(self, request: InvokeRequest) -> InvokeOutcome:
        """Run a chained invoke's target, once the invocation that asked for it has ended."""
        idle = self._idle.get(request.caller_arn)
        if idle is not None:
            await idle.wait()
        name, payload = request.function_name, request.payload
        target = self.functions.get(name)
        if target is None:
            return InvokeOutcome(
                error=ErrorObject(
                    error_type="ResourceNotFoundException",
                    error_message=f"function {name!r} is not registered with the local runner",
                )
            )
        if isinstance(target, DurableTarget):
            child = self._sibling(name, target)
            event = self.backend.start_execution(
                input_payload=payload or "null", invoked_by=request, function_name=name
            )
            caller = self._unawaited_by_arn.get(request.caller_arn)
            answerable = self._answerable.get(request.caller_arn, True)
            try:
                await child._launch(event, caller, answerable=answerable).result()
            except CallbacksPendingError as exc:
                self._stuck[request.caller_arn] = exc
                raise
            return self.backend.invoke_outcome(event.durable_execution_arn)
        value = json.loads(payload) if payload else None
        return await call_plain(self.around, name, target, value)


def _ignore(operations: Sequence[UnawaitedOperation]) -> None:
    """`unawaited="ignore"`: say nothing."""
