"""An embedded, in-memory emulation of the Lambda durable execution service.

It keeps the service's contract: a checkpoint-token chain (a stale token is refused), the operation
state machine, timers (waits, retry delays) on an injectable clock, paging, and history events with
the service's `EventType` names. It refuses what the service refuses (unknown parents, oversized
payloads, invalid transitions, PENDING with nothing pending) with the same error classes as the AWS
backend raises.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from . import _history as h
from ._clock import Clock, ManualClock
from ._errors import CheckpointRejectedError, StaleCheckpointTokenError
from ._history import HistoryRecorder
from ._models import (
    CheckpointResponse,
    ContextDetails,
    ErrorObject,
    ExecutionDetails,
    ExecutionState,
    InvocationInput,
    InvocationOutput,
    InvocationStatus,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepDetails,
    WaitDetails,
)

__all__ = ["BackendStats", "MemoryBackend"]

MAX_PAYLOAD_BYTES = 256 * 1024
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SUBTYPE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_A = OperationAction
_S = OperationStatus
_T = OperationType


@dataclass
class BackendStats:
    """Counters of what the runtime sent: checkpoint calls, updates, payload bytes, state reads."""

    checkpoint_calls: int = 0
    updates: int = 0
    bytes: int = 0
    get_state_calls: int = 0


@dataclass
class _Execution:
    arn: str
    name: str
    token: str = ""
    ops: dict[str, Operation] = field(default_factory=dict)
    dirty: dict[str, Operation] = field(default_factory=dict)
    timers: list[tuple[float, str]] = field(default_factory=list)
    history: HistoryRecorder = field(default_factory=HistoryRecorder)
    status: str = "RUNNING"
    result: str | None = None
    error: ErrorObject | None = None
    start: float = 0.0
    end: float | None = None


def _reject(message: str) -> CheckpointRejectedError:
    return CheckpointRejectedError(message, code="InvalidParameterValueException")


class MemoryBackend:
    """The durable execution service, emulated in memory for local runs and tests.

    Args:
        clock: the clock timers run on; a `ManualClock` by default, so the local runner can skip
            waits.
        latency: seconds each call sleeps on the event loop, to simulate a network round trip.
        page_size: operations per state page, to exercise paging.

    Example:
        ```python
        backend = MemoryBackend()
        event = backend.start_execution({"sku": "a-1"})
        output = await handler.invoke_async(event, backend=backend)
        ```
    """

    def __init__(
        self, *, clock: Clock | None = None, latency: float = 0.0, page_size: int = 1000
    ) -> None:
        self._clock: Clock = clock or ManualClock()
        self.latency = latency
        self.page_size = page_size
        self.stats = BackendStats()
        self._executions: dict[str, _Execution] = {}
        self._seq = itertools.count(1)

    @property
    def clock(self) -> Clock:
        """The clock timers run on."""
        return self._clock

    # -- starting and re-invoking ---------------------------------------------------------

    def start_execution(
        self, input: Any = None, *, name: str | None = None, input_payload: str | None = None
    ) -> InvocationInput:
        """Create an execution and return the event of its first invocation.

        `input` is JSON-encoded unless `input_payload` gives the raw payload.
        """
        n = next(self._seq)
        name = name or f"execution-{n}"
        arn = f"arn:aws:lambda:local:000000000000:function:local/durable-execution/{name}/{n:08d}"
        exec_id = f"{n:08d}"
        raw = input_payload if input_payload is not None else json.dumps(input)
        now = self._clock.now()
        ex = _Execution(arn=arn, name=name, start=now)
        op = Operation(
            id=exec_id,
            type=_T.EXECUTION,
            status=_S.STARTED,
            name=name,
            start_timestamp=h._ts(now),
            execution_details=ExecutionDetails(input_payload=raw),
        )
        ex.ops[op.id] = op
        ex.history.record(op, "Started", now, {"Input": h.payload(raw)})
        self._executions[arn] = ex
        return self.invocation_event(arn)

    def invocation_event(self, arn: str) -> InvocationInput:
        """Issue a fresh token (older ones go stale) and return the next invocation's event."""
        ex = self._get(arn)
        self._fire_timers(ex)
        ex.token = f"{arn}#{next(self._seq)}"
        ex.dirty.clear()
        ops = list(ex.ops.values())
        first = ops[: self.page_size]
        marker = str(self.page_size) if len(ops) > self.page_size else None
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
        if output.status is InvocationStatus.PENDING and not self.has_pending(arn):
            raise _reject("Cannot return PENDING status with no pending operations")
        ex.history.invocation_completed(
            self.execution_op(arn).id, started, now, request_id, output.error
        )
        if output.status is InvocationStatus.SUCCEEDED:
            result = output.result if output.result else ex.result
            self._close(ex, "SUCCEEDED", result=result, err=None)
        elif output.status is InvocationStatus.FAILED:
            self._close(ex, "FAILED", result=None, err=output.error)

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
        self._fire_timers(ex)
        now = self._clock.now()
        for update in updates:
            if update.payload is not None:
                self.stats.bytes += len(update.payload)
            self._apply(ex, update, now)
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

    def get_execution(self, arn: str) -> dict[str, Any]:
        """The execution's summary, as `GetDurableExecution` returns it."""
        ex = self._get(arn)
        out: dict[str, Any] = {
            "DurableExecutionArn": arn,
            "DurableExecutionName": ex.name,
            "Status": ex.status,
            "StartTimestamp": h._ts(ex.start),
        }
        if ex.end is not None:
            out["EndTimestamp"] = h._ts(ex.end)
        if ex.result is not None:
            out["Result"] = ex.result
        if ex.error is not None:
            out["Error"] = ex.error.to_wire()
        return out

    def has_pending(self, arn: str) -> bool:
        """Whether some operation waits on the service (a timer, a retry, ...)."""
        return any(
            not op.status.is_terminal and op.type not in (_T.EXECUTION, _T.CONTEXT)
            for op in self._get(arn).ops.values()
        )

    def next_wake_time(self, arn: str) -> float | None:
        """The earliest time a timer of this execution fires, if any."""
        ex = self._get(arn)
        while ex.timers and _due(ex.ops[ex.timers[0][1]]) != ex.timers[0][0]:
            heapq.heappop(ex.timers)  # the operation moved on: a stale entry
        return ex.timers[0][0] if ex.timers else None

    # -- internals --------------------------------------------------------------------------

    def _get(self, arn: str) -> _Execution:
        try:
            return self._executions[arn]
        except KeyError:
            raise _reject(f"unknown durable execution {arn!r}") from None

    def _check_token(self, arn: str, token: str) -> _Execution:
        ex = self._get(arn)
        if token != ex.token or ex.status != "RUNNING":
            raise StaleCheckpointTokenError(
                "Invalid checkpoint token: it is not the execution's current token",
                code="InvalidParameterValueException",
            )
        return ex

    def _put(self, ex: _Execution, op: Operation) -> None:
        ex.ops[op.id] = op
        ex.dirty[op.id] = op
        due = _due(op)
        if due is not None:
            heapq.heappush(ex.timers, (due, op.id))

    def _fire_timers(self, ex: _Execution) -> None:
        now = self._clock.now()
        while ex.timers and ex.timers[0][0] <= now:
            due, op_id = heapq.heappop(ex.timers)
            op = ex.ops[op_id]
            if _due(op) != due:
                continue  # stale: the operation changed since this timer was set
            if op.type is _T.WAIT:
                done = op.model_copy(update={"status": _S.SUCCEEDED, "end_timestamp": h._ts(due)})
                self._put(ex, done)
                start = op.start_timestamp.timestamp() if op.start_timestamp else due
                ex.history.record(done, "Succeeded", due, {"Duration": round(due - start)})
            elif op.type is _T.STEP:
                self._put(ex, op.model_copy(update={"status": _S.READY}))

    def _close(
        self, ex: _Execution, status: str, *, result: str | None, err: ErrorObject | None
    ) -> None:
        if ex.status != "RUNNING":
            return
        now = self._clock.now()
        ex.status, ex.result, ex.error, ex.end = status, result, err, now
        op = self.execution_op(ex.arn)
        new = _S.SUCCEEDED if status == "SUCCEEDED" else _S.FAILED
        ex.ops[op.id] = op.model_copy(update={"status": new, "end_timestamp": h._ts(now)})
        if status == "SUCCEEDED":
            ex.history.record(op, "Succeeded", now, {"Result": h.payload(result)})
        else:
            ex.history.record(op, "Failed", now, {"Error": h.error(err)})

    def _validate(self, ex: _Execution, u: OperationUpdate) -> Operation | None:
        if not _ID.match(u.id):
            raise _reject(f"Invalid operation Id {u.id!r}: 1-64 characters of [A-Za-z0-9_-]")
        if u.name is not None and not (
            1 <= len(u.name) <= 256 and u.name.isascii() and u.name.isprintable()
        ):
            raise _reject(f"Invalid Name for operation {u.id}: 1-256 printable ASCII characters")
        if u.sub_type is not None and not _SUBTYPE.match(u.sub_type):
            raise _reject(f"Invalid SubType {u.sub_type!r} for operation {u.id}")
        if (
            u.type is not _T.EXECUTION
            and u.payload is not None
            and len(u.payload.encode()) > MAX_PAYLOAD_BYTES
        ):
            raise _reject(
                f"Payload of operation {u.id} is {len(u.payload.encode())} bytes; "
                f"the limit is {MAX_PAYLOAD_BYTES}"
            )
        if u.parent_id is not None and u.parent_id not in ex.ops:
            raise _reject(f"Operation {u.id} names an unknown parent {u.parent_id}")
        cur = ex.ops.get(u.id)
        if cur is not None and cur.type is not u.type:
            raise _reject(f"Operation {u.id} is a {cur.type.value}, not a {u.type.value}")
        if cur is not None and cur.status.is_terminal:
            raise _reject(f"Operation {u.id} is already {cur.status.value}")
        return cur

    def _apply(self, ex: _Execution, u: OperationUpdate, now: float) -> None:
        cur = self._validate(ex, u)
        ts = h._ts(now)
        if u.type is _T.EXECUTION:
            if u.action is _A.SUCCEED:
                self._close(ex, "SUCCEEDED", result=u.payload, err=None)
            elif u.action is _A.FAIL:
                self._close(ex, "FAILED", result=None, err=u.error)
            else:
                raise _reject(f"Invalid action {u.action.value} for EXECUTION")
            return
        if u.action is _A.START:
            if cur is not None and not (u.type is _T.STEP and cur.status in (_S.READY, _S.STARTED)):
                raise _reject(f"Operation {u.id} was already started")
            if cur is not None:
                op = cur.model_copy(update={"status": _S.STARTED})
            else:
                op = Operation(
                    id=u.id,
                    type=u.type,
                    status=_S.STARTED,
                    start_timestamp=ts,
                    parent_id=u.parent_id,
                    name=u.name,
                    sub_type=u.sub_type,
                )
            if u.type is _T.WAIT:
                secs = u.wait_options.wait_seconds if u.wait_options else None
                if not secs or secs < 1:
                    raise _reject(f"WAIT {u.id} needs WaitOptions.WaitSeconds >= 1")
                end = h._ts(now + secs)
                op = op.model_copy(
                    update={"wait_details": WaitDetails(scheduled_end_timestamp=end)}
                )
                ex.history.record(
                    op, "Started", now, {"Duration": secs, "ScheduledEndTimestamp": end}
                )
            elif u.type in (_T.STEP, _T.CONTEXT):
                if u.type is _T.STEP and op.step_details is None:
                    op = op.model_copy(update={"step_details": StepDetails(attempt=0)})
                ex.history.record(op, "Started", now)
            else:
                raise _reject(f"{u.type.value} operations are not emulated by MemoryBackend yet")
            self._put(ex, op)
            return
        if cur is None:
            raise _reject(f"{u.action.value} for operation {u.id} that was never started")
        if u.type is _T.STEP:
            self._apply_step(ex, cur, u, now)
        elif u.type is _T.CONTEXT and u.action in (_A.SUCCEED, _A.FAIL):
            ok = u.action is _A.SUCCEED
            replay = bool(u.context_options and u.context_options.replay_children)
            details = ContextDetails(
                replay_children=replay or None,
                result=u.payload if ok else None,
                error=None if ok else u.error,
            )
            op = cur.model_copy(
                update={
                    "status": _S.SUCCEEDED if ok else _S.FAILED,
                    "end_timestamp": ts,
                    "context_details": details,
                }
            )
            self._put(ex, op)
            ex.history.record(
                op,
                "Succeeded" if ok else "Failed",
                now,
                {"Result": h.payload(u.payload)} if ok else {"Error": h.error(u.error)},
            )
        elif u.type is _T.WAIT and u.action is _A.CANCEL:
            op = cur.model_copy(update={"status": _S.CANCELLED, "end_timestamp": ts})
            self._put(ex, op)
            ex.history.record(op, "Cancelled", now, {"Error": h.error(u.error)})
        else:
            raise _reject(f"Invalid action {u.action.value} for {u.type.value} {u.id}")

    def _apply_step(self, ex: _Execution, cur: Operation, u: OperationUpdate, now: float) -> None:
        details = cur.step_details or StepDetails(attempt=0)
        attempt = details.attempt or 0
        if cur.status is not _S.STARTED:
            raise _reject(f"STEP {u.id} is {cur.status.value}; {u.action.value} needs STARTED")
        ts = h._ts(now)
        if u.action is _A.RETRY:
            delay = u.step_options.next_attempt_delay_seconds if u.step_options else None
            if not delay or delay < 1:
                raise _reject(
                    f"RETRY of STEP {u.id} needs StepOptions.NextAttemptDelaySeconds >= 1"
                )
            new = StepDetails(
                attempt=attempt + 1,
                next_attempt_timestamp=h._ts(now + delay),
                error=u.error,
                result=u.payload,
            )
            op = cur.model_copy(update={"status": _S.PENDING, "step_details": new})
            ex.history.record(
                op,
                "Failed",
                now,
                {
                    "Error": h.error(u.error),
                    "RetryDetails": {
                        "CurrentAttempt": attempt + 1,
                        "NextAttemptDelaySeconds": delay,
                    },
                },
            )
        elif u.action in (_A.SUCCEED, _A.FAIL):
            ok = u.action is _A.SUCCEED
            new = StepDetails(
                attempt=attempt, result=u.payload if ok else None, error=None if ok else u.error
            )
            op = cur.model_copy(
                update={
                    "status": _S.SUCCEEDED if ok else _S.FAILED,
                    "end_timestamp": ts,
                    "step_details": new,
                }
            )
            retry = {"CurrentAttempt": attempt + 1}
            ex.history.record(
                op,
                "Succeeded" if ok else "Failed",
                now,
                {"Result": h.payload(u.payload), "RetryDetails": retry}
                if ok
                else {"Error": h.error(u.error), "RetryDetails": retry},
            )
        else:
            raise _reject(f"Invalid action {u.action.value} for STEP {u.id}")
        self._put(ex, op)


def _due(op: Operation) -> float | None:
    if op.type is _T.WAIT and op.status is _S.STARTED and op.wait_details:
        end = op.wait_details.scheduled_end_timestamp
        return end.timestamp() if end else None
    if op.type is _T.STEP and op.status is _S.PENDING and op.step_details:
        nxt = op.step_details.next_attempt_timestamp
        return nxt.timestamp() if nxt else None
    return None
