"""The embedded service's state machine for one execution: operations, timers and history."""

from __future__ import annotations

import heapq
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..._errors import CheckpointRejectedError
from ..._limits import OPERATION_PAYLOAD_BYTES, PAYLOAD_BYTES
from ..._models import (
    CallbackDetails,
    ChainedInvokeDetails,
    ContextDetails,
    ErrorObject,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepDetails,
    WaitDetails,
)
from . import history as h
from .history import HistoryRecorder

__all__ = ["MAX_PAYLOAD_BYTES", "ExecutionRecord", "reject"]

MAX_PAYLOAD_BYTES = OPERATION_PAYLOAD_BYTES.max
MAX_DELAY = 31_622_400  # the API model's bound on WaitSeconds and NextAttemptDelaySeconds
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SUBTYPE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_A = OperationAction
_S = OperationStatus
_T = OperationType
_EVENT = {
    _S.SUCCEEDED: "Succeeded",
    _S.FAILED: "Failed",
    _S.TIMED_OUT: "TimedOut",
    _S.STOPPED: "Stopped",
    _S.CANCELLED: "Cancelled",
}


def executed_version(function_name: str) -> str:
    """The version a chained invoke of `function_name` runs: its numeric qualifier, if it has
    one (`fn:3`, or an ARN ending in `:3`), else `$LATEST` (this emulation resolves no alias)."""
    qualifier = function_name.rsplit(":", 1)[-1] if ":" in function_name else ""
    parts = function_name.split(":")
    if function_name.startswith("arn:") and len(parts) < 8:
        qualifier = ""
    return qualifier if qualifier.isdigit() else "$LATEST"


def reject(message: str, code: str = "InvalidParameterValueException") -> CheckpointRejectedError:
    """The error the service answers an invalid request with."""
    return CheckpointRejectedError(message, code=code)


@dataclass
class _CallbackTimers:
    timeout: int = 0
    heartbeat: int = 0
    last_beat: float = 0.0


@dataclass
class ExecutionRecord:
    """Everything the service keeps about one execution."""

    arn: str
    name: str
    start: float
    function_name: str = "local"
    token: str = ""
    ops: dict[str, Operation] = field(default_factory=dict)
    dirty: dict[str, Operation] = field(default_factory=dict)
    history: HistoryRecorder = field(default_factory=HistoryRecorder)
    timers: list[tuple[float, str]] = field(default_factory=list)
    callbacks: dict[str, str] = field(default_factory=dict)  # callback id -> operation id
    callback_timers: dict[str, _CallbackTimers] = field(default_factory=dict)
    changes: int = 0  # bumped by callbacks and invokes completed from outside
    seen_changes: int = 0  # what the current invocation started with
    status: str = "RUNNING"
    result: str | None = None
    error: ErrorObject | None = None
    end: float | None = None
    wall: dict[str, list[float]] = field(default_factory=dict)  # id -> [start, end] real time
    # Ids of the operations stored or changed since a persistent backend last saved them, in
    # the order they were first stored (an insertion-ordered set: new ids keep creation order).
    unsaved: dict[str, None] = field(default_factory=dict, compare=False, repr=False)

    # -- bookkeeping ------------------------------------------------------------------------

    def put(self, op: Operation) -> None:
        """Store `op` as changed, and arm its timer if it has one."""
        self.ops[op.id] = op
        self.dirty[op.id] = op
        self.unsaved[op.id] = None
        self._clock_wall(op)
        due = self.due(op)
        if due is not None:
            heapq.heappush(self.timers, (due, op.id))

    def _clock_wall(self, op: Operation) -> None:
        """Note the real time `op` is first seen, and first seen ended."""
        span = self.wall.get(op.id)
        if span is None:
            self.wall[op.id] = span = [time.perf_counter(), -1.0]
        if span[1] < 0 and op.status.is_terminal:
            span[1] = time.perf_counter()

    def due(self, op: Operation) -> float | None:
        """When the service changes `op` by itself, if ever."""
        if op.status is _S.STARTED and op.type is _T.WAIT and op.wait_details:
            end = op.wait_details.scheduled_end_timestamp
            return end.timestamp() if end else None
        if op.status is _S.PENDING and op.type is _T.STEP and op.step_details:
            nxt = op.step_details.next_attempt_timestamp
            return nxt.timestamp() if nxt else None
        if op.status is _S.STARTED and op.type is _T.CALLBACK and op.id in self.callback_timers:
            t = self.callback_timers[op.id]
            start = op.start_timestamp.timestamp() if op.start_timestamp else 0.0
            times = [start + t.timeout] if t.timeout else []
            if t.heartbeat:
                times.append(t.last_beat + t.heartbeat)
            return min(times) if times else None
        return None

    def next_timer(self, *, callbacks: bool = True) -> float | None:
        """The earliest armed timer (stale entries are dropped on the way)."""
        while self.timers and self.due(self.ops[self.timers[0][1]]) != self.timers[0][0]:
            heapq.heappop(self.timers)
        if callbacks:
            return self.timers[0][0] if self.timers else None
        times = [
            d
            for d, i in self.timers
            if self.ops[i].type is not _T.CALLBACK and self.due(self.ops[i]) == d
        ]
        return min(times) if times else None

    def has_pending(self) -> bool:
        """Whether some operation waits on the service."""
        return any(
            not op.status.is_terminal and op.type not in (_T.EXECUTION, _T.CONTEXT)
            for op in self.ops.values()
        )

    def fire_timers(self, now: float) -> None:
        """Apply every timer that is due at `now`."""
        while self.timers and self.timers[0][0] <= now:
            due, op_id = heapq.heappop(self.timers)
            op = self.ops[op_id]
            if self.due(op) != due:
                continue  # stale: the operation changed since this timer was armed
            if op.type is _T.WAIT:
                start = op.start_timestamp.timestamp() if op.start_timestamp else due
                self.finish(op, _S.SUCCEEDED, due, {"Duration": round(due - start)})
            elif op.type is _T.STEP:
                self.put(op.model_copy(update={"status": _S.READY}))
            elif op.type is _T.CALLBACK:
                t = self.callback_timers[op_id]
                beat = bool(t.heartbeat) and t.last_beat + t.heartbeat <= due
                kind = "Callback.Heartbeat" if beat else "Callback.Timeout"
                err = ErrorObject(
                    error_type=kind,
                    error_message=f"callback {op.name or op_id} "
                    f"timed out ({'no heartbeat' if beat else 'no result'} in time)",
                )
                details = CallbackDetails(callback_id=self._callback_id(op), error=err)
                self.finish(
                    op.model_copy(update={"callback_details": details}),
                    _S.TIMED_OUT,
                    due,
                    {"Error": h.error(err)},
                )

    def finish(
        self, op: Operation, status: OperationStatus, when: float, details: dict[str, Any]
    ) -> Operation:
        """Move `op` to a terminal `status` and record its event."""
        done = op.model_copy(update={"status": status, "end_timestamp": h.timestamp(when)})
        self.put(done)
        self.history.record(done, _EVENT[status], when, details)
        return done

    def close(
        self, status: str, now: float, *, result: str | None, err: ErrorObject | None
    ) -> None:
        """End the execution (once) with `status`: SUCCEEDED, FAILED or STOPPED."""
        if self.status != "RUNNING":
            return
        self.status, self.result, self.error, self.end = status, result, err, now
        op = next(iter(self.ops.values()))
        new = _S(status)
        self.ops[op.id] = op.model_copy(update={"status": new, "end_timestamp": h.timestamp(now)})
        self.unsaved[op.id] = None
        self._clock_wall(self.ops[op.id])
        if status == "SUCCEEDED":
            self.history.record(op, "Succeeded", now, {"Result": h.payload(result)})
        else:
            self.history.record(op, _EVENT[new], now, {"Error": h.error(err)})

    # -- callbacks and invokes, completed from outside --------------------------------------

    def link_child(self, op_id: str, child_arn: str) -> None:
        """Name the execution a chained invoke started in its `ChainedInvokeStarted` event."""
        events = self.history.events
        for i in range(len(events) - 1, -1, -1):
            event = events[i]
            if event["EventType"] == "ChainedInvokeStarted" and event["Id"] == op_id:
                event["ChainedInvokeStartedDetails"]["DurableExecutionArn"] = child_arn
                self.history.changed.add(i)
                return

    def _callback_id(self, op: Operation) -> str | None:
        return op.callback_details.callback_id if op.callback_details else None

    def callback_op(self, callback_id: str) -> Operation:
        """The open callback operation `callback_id`."""
        op_id = self.callbacks.get(callback_id)
        op = self.ops.get(op_id) if op_id else None
        if op is None or op.status.is_terminal:
            raise reject(f"no open callback {callback_id!r}", "ResourceNotFoundException")
        return op

    def complete(
        self,
        op: Operation,
        now: float,
        *,
        result: str | None = None,
        error: ErrorObject | None = None,
        status: OperationStatus | None = None,
    ) -> None:
        """Complete a callback or chained invoke with a result or an error."""
        status = status or (_S.FAILED if error is not None else _S.SUCCEEDED)
        details = {"Error": h.error(error)} if error is not None else {"Result": h.payload(result)}
        if op.type is _T.CALLBACK:
            new = CallbackDetails(callback_id=self._callback_id(op), result=result, error=error)
            op = op.model_copy(update={"callback_details": new})
        else:
            op = op.model_copy(
                update={"chained_invoke_details": ChainedInvokeDetails(result=result, error=error)}
            )
        self.finish(op, status, now, details)

    def heartbeat(self, callback_id: str, now: float) -> None:
        """Push back a callback's heartbeat deadline."""
        op = self.callback_op(callback_id)
        self.callback_timers[op.id].last_beat = now
        self.unsaved[op.id] = None  # its timers are saved with it
        due = self.due(op)
        if due is not None:
            heapq.heappush(self.timers, (due, op.id))

    # -- updates ----------------------------------------------------------------------------

    def validate(self, u: OperationUpdate) -> Operation | None:
        """Refuse what the service refuses; return the operation's current state."""
        if not _ID.match(u.id):
            raise reject(f"Invalid operation Id {u.id!r}: 1-64 characters of [A-Za-z0-9_-]")
        if u.name is not None and not (
            1 <= len(u.name) <= 256 and u.name.isascii() and u.name.isprintable()
        ):
            raise reject(f"Invalid Name for operation {u.id}: 1-256 printable ASCII characters")
        if u.sub_type is not None and not _SUBTYPE.match(u.sub_type):
            raise reject(f"Invalid SubType {u.sub_type!r} for operation {u.id}")
        size = len(u.payload.encode()) if u.payload is not None else 0
        limit = PAYLOAD_BYTES[u.type.value]
        if u.type is not _T.EXECUTION and size > limit:
            raise reject(f"Payload of operation {u.id} is {size} bytes; the limit is {limit}")
        if u.parent_id is not None and u.parent_id not in self.ops:
            raise reject(f"Operation {u.id} names an unknown parent {u.parent_id}")
        cur = self.ops.get(u.id)
        if cur is not None and cur.type is not u.type:
            raise reject(f"Operation {u.id} is a {cur.type.value}, not a {u.type.value}")
        if cur is not None and cur.status.is_terminal:
            raise reject(f"Operation {u.id} is already {cur.status.value}")
        return cur

    def apply(self, u: OperationUpdate, now: float) -> None:
        """Apply one update."""
        cur = self.validate(u)
        if u.type is _T.EXECUTION:
            if u.action not in (_A.SUCCEED, _A.FAIL):
                raise reject(f"Invalid action {u.action.value} for EXECUTION")
            ok = u.action is _A.SUCCEED
            self.close(
                "SUCCEEDED" if ok else "FAILED",
                now,
                result=u.payload if ok else None,
                err=None if ok else u.error,
            )
        elif u.action is _A.START:
            self._start(cur, u, now)
        elif cur is None:
            raise reject(f"{u.action.value} for operation {u.id} that was never started")
        elif u.type is _T.STEP:
            self._step(cur, u, now)
        elif u.type is _T.CONTEXT and u.action in (_A.SUCCEED, _A.FAIL):
            ok = u.action is _A.SUCCEED
            replay = bool(u.context_options and u.context_options.replay_children)
            details = ContextDetails(
                replay_children=replay or None,
                result=u.payload if ok else None,
                error=None if ok else u.error,
            )
            self.finish(
                cur.model_copy(update={"context_details": details}),
                _S.SUCCEEDED if ok else _S.FAILED,
                now,
                {"Result": h.payload(u.payload)} if ok else {"Error": h.error(u.error)},
            )
        elif u.type is _T.WAIT and u.action is _A.CANCEL:
            self.finish(cur, _S.CANCELLED, now, {"Error": h.error(u.error)})
        else:
            raise reject(f"Invalid action {u.action.value} for {u.type.value} {u.id}")

    def _start(self, cur: Operation | None, u: OperationUpdate, now: float) -> None:
        if cur is not None and not (u.type is _T.STEP and cur.status in (_S.READY, _S.STARTED)):
            raise reject(f"Operation {u.id} was already started")
        op = (
            cur.model_copy(update={"status": _S.STARTED})
            if cur is not None
            else Operation(
                id=u.id,
                type=u.type,
                status=_S.STARTED,
                start_timestamp=h.timestamp(now),
                parent_id=u.parent_id,
                name=u.name,
                sub_type=u.sub_type,
            )
        )
        details: dict[str, Any] = {}
        if u.type is _T.WAIT:
            secs = u.wait_options.wait_seconds if u.wait_options else None
            if not secs or not 1 <= secs <= MAX_DELAY:
                raise reject(f"WAIT {u.id} needs WaitOptions.WaitSeconds in 1..{MAX_DELAY}")
            end = h.timestamp(now + secs)
            op = op.model_copy(update={"wait_details": WaitDetails(scheduled_end_timestamp=end)})
            details = {"Duration": secs, "ScheduledEndTimestamp": end}
        elif u.type is _T.STEP and op.step_details is None:
            op = op.model_copy(update={"step_details": StepDetails(attempt=0)})
        elif u.type is _T.CALLBACK:
            opts = u.callback_options
            timers = _CallbackTimers(
                timeout=(opts.timeout_seconds or 0) if opts else 0,
                heartbeat=(opts.heartbeat_timeout_seconds or 0) if opts else 0,
                last_beat=now,
            )
            callback_id = uuid.uuid4().hex
            self.callbacks[callback_id] = op.id
            self.callback_timers[op.id] = timers
            op = op.model_copy(
                update={"callback_details": CallbackDetails(callback_id=callback_id)}
            )
            details = {
                "CallbackId": callback_id,
                "Timeout": timers.timeout,
                "HeartbeatTimeout": timers.heartbeat,
            }
        elif u.type is _T.CHAINED_INVOKE:
            fn = u.chained_invoke_options.function_name if u.chained_invoke_options else None
            if not fn:
                raise reject(f"CHAINED_INVOKE {u.id} needs ChainedInvokeOptions.FunctionName")
            details = {"FunctionName": fn, "Input": h.payload(u.payload)}
            tenant = u.chained_invoke_options.tenant_id if u.chained_invoke_options else None
            if tenant is not None:
                details["TenantId"] = tenant
            details["ExecutedVersion"] = executed_version(fn)
        self.put(op)
        self.history.record(op, "Started", now, details)

    def _step(self, cur: Operation, u: OperationUpdate, now: float) -> None:
        attempt = (cur.step_details.attempt if cur.step_details else 0) or 0
        if cur.status is not _S.STARTED:
            raise reject(f"STEP {u.id} is {cur.status.value}; {u.action.value} needs STARTED")
        if u.action is _A.RETRY:
            delay = u.step_options.next_attempt_delay_seconds if u.step_options else None
            if not delay or not 1 <= delay <= MAX_DELAY:
                raise reject(
                    f"RETRY of STEP {u.id} needs NextAttemptDelaySeconds in 1..{MAX_DELAY}"
                )
            new = StepDetails(
                attempt=attempt + 1,
                next_attempt_timestamp=h.timestamp(now + delay),
                error=u.error,
                result=u.payload,
            )
            op = cur.model_copy(update={"status": _S.PENDING, "step_details": new})
            self.put(op)
            retry = {"CurrentAttempt": attempt + 1, "NextAttemptDelaySeconds": delay}
            if u.error is None:  # a poll that carries state forward, not a failure
                self.history.record(
                    op, "Succeeded", now, {"Result": h.payload(u.payload), "RetryDetails": retry}
                )
            else:
                self.history.record(
                    op, "Failed", now, {"Error": h.error(u.error), "RetryDetails": retry}
                )
        elif u.action in (_A.SUCCEED, _A.FAIL):
            ok = u.action is _A.SUCCEED
            new = StepDetails(
                attempt=attempt, result=u.payload if ok else None, error=None if ok else u.error
            )
            retry = {"CurrentAttempt": attempt + 1}
            self.finish(
                cur.model_copy(update={"step_details": new}),
                _S.SUCCEEDED if ok else _S.FAILED,
                now,
                {"Result": h.payload(u.payload), "RetryDetails": retry}
                if ok
                else {"Error": h.error(u.error), "RetryDetails": retry},
            )
        else:
            raise reject(f"Invalid action {u.action.value} for STEP {u.id}")
