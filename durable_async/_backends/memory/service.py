"""An embedded, in-memory emulation of the Lambda durable execution service.

It keeps the service's contract: a checkpoint-token chain (a stale token is refused), the operation
state machine, timers (waits, retry delays, callback timeouts) on an injectable clock, callbacks
completed from outside, chained invokes dispatched to an invoker, paging, and history events with
the service's `EventType` names. It refuses what the service refuses (unknown parents, oversized
payloads, invalid transitions, PENDING with nothing pending) with the same error classes as the AWS
backend raises.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..._clock import Clock, ManualClock
from ..._errors import StaleCheckpointTokenError
from ..._models import (
    CheckpointResponse,
    ErrorObject,
    ExecutionDetails,
    ExecutionState,
    InvocationInput,
    InvocationOutput,
    InvocationStatus,
    Operation,
    OperationStatus,
    OperationType,
    OperationUpdate,
)
from . import history as h
from .invokes import InvokeOutcome, Invoker, InvokeRequest
from .state import ExecutionRecord, reject

__all__ = ["BackendStats", "MemoryBackend"]


@dataclass
class BackendStats:
    """Counters of what the runtime sent: checkpoint calls, updates, payload bytes, state reads."""

    checkpoint_calls: int = 0
    updates: int = 0
    bytes: int = 0
    get_state_calls: int = 0


class MemoryBackend:
    """The durable execution service, emulated in memory for local runs and tests.

    Args:
        clock: the clock timers run on; a `ManualClock` by default, so the local runner can skip
            waits.
        latency: seconds each call sleeps on the event loop, to simulate a network round trip.
        page_size: operations per state page, to exercise paging.
        first_page_size: operations in the invocation event's own page (default: `page_size`);
            `0` sends none, only a marker, as the service does when the input is large, so
            the handler finds even the EXECUTION operation by paging.

    Example:
        ```python
        backend = MemoryBackend()
        event = backend.start_execution({"sku": "a-1"})
        output = await handler.invoke_async(event, backend=backend)
        ```
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        latency: float = 0.0,
        page_size: int = 1000,
        first_page_size: int | None = None,
    ) -> None:
        if page_size < 1 or (first_page_size is not None and first_page_size < 0):
            raise ValueError(
                f"page_size must be >= 1 and first_page_size >= 0, got {page_size}, "
                f"{first_page_size}"
            )
        self._clock: Clock = clock or ManualClock()
        self.first_page_size = first_page_size
        self.latency = latency
        self.page_size = page_size
        self.stats = BackendStats()
        self._executions: dict[str, ExecutionRecord] = {}
        self._seq = itertools.count(1)
        self._changed: dict[str, list[asyncio.Future[None]]] = {}
        self._invoke_tasks: set[asyncio.Task[None]] = set()
        self.invoker: Invoker | None = None

    @property
    def clock(self) -> Clock:
        """The clock timers run on."""
        return self._clock

    # -- starting and re-invoking ---------------------------------------------------------

    def start_execution(
        self,
        input: Any = None,
        *,
        name: str | None = None,
        input_payload: str | None = None,
        invoked_by: InvokeRequest | None = None,
        function_name: str = "local",
    ) -> InvocationInput:
        """Create an execution and return the event of its first invocation.

        `input` is JSON-encoded unless `input_payload` gives the raw payload. `invoked_by` makes
        it the child execution of a chained invoke: the caller's history then names it.
        `function_name` is the function the execution belongs to (its ARN names it).
        """
        n = next(self._seq)
        name = name or f"execution-{n}"
        arn = (
            f"arn:aws:lambda:local:000000000000:function:{function_name}"
            f"/durable-execution/{name}/{n:08d}"
        )
        exec_id = f"{n:08d}"
        raw = input_payload if input_payload is not None else json.dumps(input)
        now = self._clock.now()
        ex = ExecutionRecord(arn=arn, name=name, start=now, function_name=function_name)
        op = Operation(
            id=exec_id,
            type=OperationType.EXECUTION,
            status=OperationStatus.STARTED,
            name=name,
            start_timestamp=h.timestamp(now),
            execution_details=ExecutionDetails(input_payload=raw),
        )
        ex.ops[op.id] = op
        ex.wall[op.id] = [time.perf_counter(), -1.0]
        ex.history.record(op, "Started", now, {"Input": h.payload(raw)})
        self._executions[arn] = ex
        if invoked_by is not None:
            self._get(invoked_by.caller_arn).link_child(invoked_by.operation_id, arn)
        return self.invocation_event(arn)

    def invocation_event(self, arn: str) -> InvocationInput:
        """Issue a fresh token (older ones go stale) and return the next invocation's event."""
        ex = self._get(arn)
        ex.fire_timers(self._clock.now())
        ex.token = f"{arn}#{next(self._seq)}"
        ex.seen_changes = ex.changes
        ex.dirty.clear()
        ops = list(ex.ops.values())
        size = self.page_size if self.first_page_size is None else self.first_page_size
        first = ops[:size]
        marker = str(size) if len(ops) > size else None
        return InvocationInput(
            durable_execution_arn=arn,
            checkpoint_token=ex.token,
            initial_execution_state=ExecutionState(operations=first, next_marker=marker),
        )

    def complete_invocation(
        self, arn: str, output: InvocationOutput, *, started: float, request_id: str = "local"
    ) -> None:
        """Record what an invocation returned; a terminal output closes the execution.

        Raises:
            CheckpointRejectedError: PENDING with no pending operation, as the service refuses it.
        """
        ex = self._get(arn)
        now = self._clock.now()
        unseen = ex.changes != ex.seen_changes  # e.g. a callback arrived during the invocation
        if output.status is InvocationStatus.PENDING and not ex.has_pending() and not unseen:
            raise reject("Cannot return PENDING status with no pending operations")
        ex.history.invocation_completed(
            self.execution_op(arn).id, started, now, request_id, output.error
        )
        if output.status is InvocationStatus.SUCCEEDED:
            result = output.result if output.result else ex.result
            ex.close("SUCCEEDED", now, result=result, err=None)
        elif output.status is InvocationStatus.FAILED:
            ex.close("FAILED", now, result=None, err=output.error)
        self._wake(arn)

    def fail_invocation(
        self, arn: str, error: ErrorObject, *, started: float, request_id: str = "local"
    ) -> None:
        """Record an invocation that ended with no output (its runtime failed: it crashed or
        raised) as the service records a function error; the execution carries on."""
        now = self._clock.now()
        history = self._get(arn).history
        history.invocation_completed(self.execution_op(arn).id, started, now, request_id, error)

    # -- the API ----------------------------------------------------------------------------

    async def checkpoint(
        self,
        execution_arn: str,
        checkpoint_token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResponse:
        """Apply `updates` in order and return the next token with every changed operation."""
        if self.latency:
            await asyncio.sleep(self.latency)
        ex = self._check_token(execution_arn, checkpoint_token)
        self.stats.checkpoint_calls += 1
        self.stats.updates += len(updates)
        now = self._clock.now()
        ex.fire_timers(now)
        for update in updates:
            if update.payload is not None:
                self.stats.bytes += len(update.payload)
            ex.apply(update, now)
            if update.type is OperationType.CHAINED_INVOKE and update.action.value == "START":
                self._dispatch_invoke(ex, update)
        changed = list(ex.dirty.values())
        ex.dirty.clear()
        if ex.status != "RUNNING":
            return CheckpointResponse(new_execution_state=ExecutionState(operations=changed))
        ex.token = f"{execution_arn}#{next(self._seq)}"
        return CheckpointResponse(
            checkpoint_token=ex.token, new_execution_state=ExecutionState(operations=changed)
        )

    async def get_state(
        self,
        execution_arn: str,
        checkpoint_token: str,
        *,
        marker: str | None = None,
        max_items: int = 1000,
    ) -> ExecutionState:
        """Return a page of operations in creation order."""
        if self.latency:
            await asyncio.sleep(self.latency)
        ex = self._check_token(execution_arn, checkpoint_token)
        self.stats.get_state_calls += 1
        start = int(marker) if marker else 0
        size = min(max_items, self.page_size)
        ops = list(ex.ops.values())
        nxt = str(start + size) if start + size < len(ops) else None
        return ExecutionState(operations=ops[start : start + size], next_marker=nxt)

    # -- callbacks (what SendDurableExecutionCallback* do) ---------------------------------

    def _callback(self, callback_id: str) -> tuple[ExecutionRecord, Operation]:
        for ex in self._executions.values():
            if callback_id in ex.callbacks:
                return ex, ex.callback_op(callback_id)
        raise reject(f"no open callback {callback_id!r}", "ResourceNotFoundException")

    def send_callback_success(self, callback_id: str, result: str | None = None) -> None:
        """Complete callback `callback_id` with a result payload (JSON text)."""
        ex, op = self._callback(callback_id)
        ex.complete(op, self._clock.now(), result=result)
        self._notify(ex.arn)

    def send_callback_failure(self, callback_id: str, error: ErrorObject) -> None:
        """Fail callback `callback_id` with `error`."""
        ex, op = self._callback(callback_id)
        ex.complete(op, self._clock.now(), error=error)
        self._notify(ex.arn)

    def callback_deadline(self, callback_id: str) -> float | None:
        """When open callback `callback_id` times out (its timeout or heartbeat timeout, on the
        backend's clock), or `None` if it never does."""
        ex, op = self._callback(callback_id)
        return ex.due(op)

    def send_callback_heartbeat(self, callback_id: str) -> None:
        """Tell callback `callback_id` its sender is alive (pushes back its heartbeat timeout)."""
        ex, _ = self._callback(callback_id)
        ex.heartbeat(callback_id, self._clock.now())

    def stop_execution(self, arn: str, error: ErrorObject | None = None) -> float:
        """Stop a running execution (what `StopDurableExecution` does) and return when.

        Its invocation in flight, if any, finds its token stale at its next checkpoint.

        Raises:
            CheckpointRejectedError: the execution is unknown, or has already ended
                (`ResourceNotFoundException`, as the service answers).
        """
        ex = self._get(arn)
        if ex.status != "RUNNING":
            raise reject(
                f"durable execution {arn!r} is already {ex.status}", "ResourceNotFoundException"
            )
        now = self._clock.now()
        ex.close("STOPPED", now, result=None, err=error or ErrorObject())
        self._notify(arn)
        return now

    # -- chained invokes ---------------------------------------------------------------------

    def _dispatch_invoke(self, ex: ExecutionRecord, update: OperationUpdate) -> None:
        options = update.chained_invoke_options
        name = options.function_name if options and options.function_name else ""
        if self.invoker is None:
            err = ErrorObject(
                error_type="ResourceNotFoundException",
                error_message=f"function {name!r} is not registered with the "
                "local runner (register it with LocalRunner.register)",
            )
            ex.complete(ex.ops[update.id], self._clock.now(), error=err)
            return
        request = InvokeRequest(
            function_name=name,
            payload=update.payload,
            tenant_id=options.tenant_id if options else None,
            caller_arn=ex.arn,
            operation_id=update.id,
        )
        task = asyncio.get_running_loop().create_task(self._run_invoke(ex, request))
        self._invoke_tasks.add(task)
        task.add_done_callback(self._invoke_tasks.discard)

    async def _run_invoke(self, ex: ExecutionRecord, request: InvokeRequest) -> None:
        assert self.invoker is not None
        try:
            outcome = await self.invoker(request)
        except Exception as exc:  # the target blew up: the chained invoke fails with it
            outcome = InvokeOutcome(error=ErrorObject.from_exception(exc))
        op = ex.ops[request.operation_id]
        if not op.status.is_terminal and ex.status == "RUNNING":
            ex.complete(
                op,
                self._clock.now(),
                result=outcome.result,
                error=outcome.error,
                status=outcome.status,
            )
            self._notify(ex.arn)

    # -- waiting for outside events ----------------------------------------------------------

    def changed(self, arn: str) -> asyncio.Future[None]:
        """A future resolved the next time something outside the handler changes `arn`."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._changed.setdefault(arn, []).append(fut)
        return fut

    def changes(self, arn: str) -> int:
        """How many outside events (callbacks, invoke results) execution `arn` has had."""
        return self._get(arn).changes

    def _notify(self, arn: str) -> None:
        self._get(arn).changes += 1
        self._wake(arn)

    def _wake(self, arn: str) -> None:
        for fut in self._changed.pop(arn, []):
            if not fut.done():
                fut.set_result(None)

    # -- inspection for runners and tests ---------------------------------------------------

    def operations(self, arn: str) -> list[Operation]:
        """Every operation of the execution, in creation order."""
        return list(self._get(arn).ops.values())

    def execution_op(self, arn: str) -> Operation:
        """The EXECUTION operation."""
        return next(iter(self._get(arn).ops.values()))

    def history(self, arn: str) -> list[dict[str, Any]]:
        """The execution's events, as `GetDurableExecutionHistory` returns them."""
        return list(self._get(arn).history.events)

    def wall_times(self, arn: str) -> dict[str, float]:
        """Real seconds each ended operation took, from the moment the backend first recorded
        it to the moment it recorded its end (the runner's clock may skip; this does not)."""
        return {i: end - start for i, (start, end) in self._get(arn).wall.items() if end >= 0}

    def executions(self) -> list[str]:
        """The ARN of every execution, oldest first."""
        return list(self._executions)

    def running(self) -> list[str]:
        """The ARNs of the executions whose status is RUNNING, oldest first."""
        return [arn for arn, ex in self._executions.items() if ex.status == "RUNNING"]

    def function_of(self, arn: str) -> str:
        """The name of the function execution `arn` belongs to."""
        return self._get(arn).function_name

    def get_execution(self, arn: str) -> dict[str, Any]:
        """The execution's summary, as `GetDurableExecution` returns it."""
        ex = self._get(arn)
        out: dict[str, Any] = {
            "DurableExecutionArn": arn,
            "DurableExecutionName": ex.name,
            "FunctionArn": f"arn:aws:lambda:local:000000000000:function:{ex.function_name}",
            "Status": ex.status,
            "StartTimestamp": h.timestamp(ex.start),
        }
        if ex.end is not None:
            out["EndTimestamp"] = h.timestamp(ex.end)
        if ex.result is not None:
            out["Result"] = ex.result
        if ex.error is not None:
            out["Error"] = ex.error.to_wire()
        return out

    def invoke_outcome(self, arn: str) -> InvokeOutcome:
        """What a chained invoke of the ended execution `arn` reports to its caller: the result
        payload exactly as the execution checkpointed it, or its error."""
        ex = self._get(arn)
        if ex.status == "SUCCEEDED":
            return InvokeOutcome(result=ex.result)
        return InvokeOutcome(error=ex.error or ErrorObject())

    def has_pending(self, arn: str) -> bool:
        """Whether some operation waits on the service (a timer, a callback, an invoke, ...)."""
        return self._get(arn).has_pending()

    def next_wake_time(self, arn: str, *, callbacks: bool = True) -> float | None:
        """The earliest time a timer of this execution fires (callback timeouts optional)."""
        return self._get(arn).next_timer(callbacks=callbacks)

    def _get(self, arn: str) -> ExecutionRecord:
        try:
            return self._executions[arn]
        except KeyError:
            raise reject(f"unknown durable execution {arn!r}") from None

    def _check_token(self, arn: str, token: str) -> ExecutionRecord:
        ex = self._get(arn)
        if token != ex.token or ex.status != "RUNNING":
            raise StaleCheckpointTokenError(
                "Invalid checkpoint token: it is not the execution's current token",
                code="InvalidParameterValueException",
            )
        return ex
