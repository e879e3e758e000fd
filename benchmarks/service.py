"""A small in-memory stand-in for the durable execution service, shared by every SDK's adapter.

It speaks the service's wire form (the botocore shape: PascalCase keys, `datetime` timestamps),
so each SDK converts its own update objects with its own code, exactly as it would for the real
API, and the service logic itself costs the same whichever SDK talks to it. It keeps only what the
SDKs need to proceed: the checkpoint-token chain, operations moving STARTED -> SUCCEEDED/FAILED,
wait timers (time is skipped between invocations), step retries, and counters
of what it received. Latency is simulated by the adapters (a thread sleep for the threaded SDK,
`asyncio.sleep` for the asyncio ones), not here.

Standard library only: this module is imported inside every SDK's own virtual environment.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MAX_UPDATES_PER_CALL",
    "ServiceStats",
    "StubService",
    "drive",
    "drive_async",
    "lower_bound_calls",
]

MAX_UPDATES_PER_CALL = 250
"""The service's limit of updates per `CheckpointDurableExecution` request."""

_TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT", "STOPPED"}


def lower_bound_calls(updates: int) -> int:
    """The fewest checkpoint requests that can carry `updates` updates."""
    return max(1, math.ceil(updates / MAX_UPDATES_PER_CALL)) if updates else 0


def _ts(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def _json_form(value: Any) -> Any:
    """The invocation event's form: JSON, with timestamps as epoch milliseconds."""
    if isinstance(value, dict):
        return {k: _json_form(v) for k, v in value.items()}
    if isinstance(value, dt.datetime):
        return int(value.timestamp() * 1000)
    return value


@dataclass
class ServiceStats:
    """What the service received."""

    checkpoint_calls: int = 0
    updates: int = 0
    bytes: int = 0
    get_state_calls: int = 0
    invocations: int = 0
    max_updates_per_call: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "checkpoint_calls": self.checkpoint_calls,
            "updates": self.updates,
            "bytes": self.bytes,
            "get_state_calls": self.get_state_calls,
            "invocations": self.invocations,
            "max_updates_per_call": self.max_updates_per_call,
            "lower_bound_calls": lower_bound_calls(self.updates),
        }


@dataclass
class _Execution:
    arn: str
    token: str = ""
    ops: dict[str, dict[str, Any]] = field(default_factory=dict)
    timers: list[tuple[float, str]] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)  # fired since the last response
    status: str = "RUNNING"
    result: str | None = None


class StaleTokenError(Exception):
    """The checkpoint token is not the execution's current one."""


class StubService:
    """The service's state for any number of executions, in the wire form.

    Its clock is the wall clock plus the time skipped so far; timers that come due fire on the
    next API call, as the real service's do, and `skip_time` jumps past all of them between
    invocations.
    """

    def __init__(self) -> None:
        self._skipped = 0.0
        self.stats = ServiceStats()
        self._executions: dict[str, _Execution] = {}
        self._seq = itertools.count(1)

    @property
    def now(self) -> float:
        """The service's time, in seconds since the epoch."""
        return time.time() + self._skipped

    # -- starting and re-invoking --------------------------------------------------------------

    def start(self, input_value: Any = None) -> str:
        """Create an execution; its EXECUTION operation's id is the ARN's last segment."""
        n = next(self._seq)
        exec_id = f"{n:032x}"
        arn = (
            f"arn:aws:lambda:us-east-1:123456789012:function:bench/durable-execution/run/{exec_id}"
        )
        ex = _Execution(arn=arn)
        ex.ops[exec_id] = {
            "Id": exec_id,
            "Type": "EXECUTION",
            "Status": "STARTED",
            "StartTimestamp": _ts(self.now),
            "ExecutionDetails": {"InputPayload": json.dumps(input_value)},
        }
        self._executions[arn] = ex
        return arn

    def event(self, arn: str) -> dict[str, Any]:
        """Issue a fresh token and return the next invocation's event (the whole state)."""
        ex = self._executions[arn]
        self._fire_timers(ex)
        ex.changed.clear()
        ex.token = f"{arn}:{next(self._seq)}"
        self.stats.invocations += 1
        return {
            "DurableExecutionArn": arn,
            "CheckpointToken": ex.token,
            "InitialExecutionState": {"Operations": [_json_form(op) for op in ex.ops.values()]},
        }

    def skip_time(self, arn: str) -> int:
        """Move the clock past every pending timer and fire them; return how many fired."""
        ex = self._executions[arn]
        if ex.timers:
            latest = max(due for due, _ in ex.timers)
            self._skipped += max(0.0, latest - self.now)
        fired = self._fire_timers(ex)
        for op_id, op in ex.ops.items():
            if op["Type"] == "STEP" and op["Status"] == "PENDING":
                ex.ops[op_id] = {**op, "Status": "READY"}
                fired += 1
        return fired

    def _fire_timers(self, ex: _Execution) -> int:
        """Complete the waits whose time has come."""
        now, fired = self.now, 0
        while ex.timers and ex.timers[0][0] <= now:
            due, op_id = heapq.heappop(ex.timers)
            op = ex.ops[op_id]
            if op["Status"] == "STARTED":
                ex.ops[op_id] = {**op, "Status": "SUCCEEDED", "EndTimestamp": _ts(due)}
                ex.changed.add(op_id)
                fired += 1
        return fired

    def finish(self, arn: str, output: dict[str, Any]) -> None:
        """Record what an invocation returned."""
        ex = self._executions[arn]
        status = output.get("Status")
        if status in ("SUCCEEDED", "FAILED"):
            ex.status = status
            ex.result = output.get("Result") or ex.result

    def operations(self, arn: str) -> list[dict[str, Any]]:
        return list(self._executions[arn].ops.values())

    # -- the API --------------------------------------------------------------------------------

    def checkpoint(self, arn: str, token: str, updates: list[dict[str, Any]]) -> dict[str, Any]:
        """`CheckpointDurableExecution` (botocore form): apply updates, return token and changes."""
        ex = self._executions[arn]
        if token != ex.token or ex.status != "RUNNING":
            raise StaleTokenError(f"stale checkpoint token {token!r}")
        stats = self.stats
        stats.checkpoint_calls += 1
        stats.updates += len(updates)
        stats.max_updates_per_call = max(stats.max_updates_per_call, len(updates))
        self._fire_timers(ex)
        changed = {op_id: ex.ops[op_id] for op_id in ex.changed}
        ex.changed.clear()
        for u in updates:
            payload = u.get("Payload")
            if payload:
                stats.bytes += len(payload)
            op = self._apply(ex, u)
            if op is not None:
                changed[op["Id"]] = op
        out: dict[str, Any] = {"NewExecutionState": {"Operations": list(changed.values())}}
        if ex.status == "RUNNING":
            ex.token = f"{arn}:{next(self._seq)}"
            out["CheckpointToken"] = ex.token
        return out

    def get_state(self, arn: str, token: str, marker: str | None = None) -> dict[str, Any]:
        """`GetDurableExecutionState`: one page holding every operation."""
        ex = self._executions[arn]
        if token != ex.token:
            raise StaleTokenError(f"stale checkpoint token {token!r}")
        self.stats.get_state_calls += 1
        self._fire_timers(ex)
        return {"Operations": list(ex.ops.values())}

    def _apply(self, ex: _Execution, u: dict[str, Any]) -> dict[str, Any] | None:
        op_id, kind, action = u["Id"], u["Type"], u["Action"]
        now = self.now
        if kind == "EXECUTION":
            ex.status = "SUCCEEDED" if action == "SUCCEED" else "FAILED"
            ex.result = u.get("Payload")
            return None
        cur = ex.ops.get(op_id)
        if action == "START":
            if cur is not None and cur["Status"] not in ("READY", "STARTED"):
                raise ValueError(f"operation {op_id} was already started")
            op: dict[str, Any] = cur or {
                "Id": op_id,
                "Type": kind,
                "Status": "STARTED",
                "StartTimestamp": _ts(now),
            }
            op = {**op, "Status": "STARTED"}
            for key in ("ParentId", "Name", "SubType"):
                if u.get(key) is not None:
                    op[key] = u[key]
            if kind == "WAIT":
                due = now + u["WaitOptions"]["WaitSeconds"]
                op["WaitDetails"] = {"ScheduledEndTimestamp": _ts(due)}
                heapq.heappush(ex.timers, (due, op_id))
            elif kind == "STEP" and "StepDetails" not in op:
                op["StepDetails"] = {"Attempt": 0}
            elif kind == "CONTEXT":
                op["ContextDetails"] = {}
        else:
            if cur is None:
                raise ValueError(f"{action} of operation {op_id} that was never started")
            if cur["Status"] in _TERMINAL:
                raise ValueError(f"operation {op_id} is already {cur['Status']}")
            op = dict(cur)
            if action == "RETRY":
                attempt = cur.get("StepDetails", {}).get("Attempt", 0) + 1
                delay = u.get("StepOptions", {}).get("NextAttemptDelaySeconds", 1)
                op["Status"] = "PENDING"
                op["StepDetails"] = {
                    "Attempt": attempt,
                    "NextAttemptTimestamp": _ts(now + delay),
                    **({"Error": u["Error"]} if u.get("Error") else {}),
                }
            else:
                ok = action == "SUCCEED"
                op["Status"] = (
                    "SUCCEEDED" if ok else ("CANCELLED" if action == "CANCEL" else "FAILED")
                )
                op["EndTimestamp"] = _ts(now)
                outcome = {"Result": u.get("Payload")} if ok else {"Error": u.get("Error")}
                outcome = {k: v for k, v in outcome.items() if v is not None}
                if kind == "STEP":
                    attempt = cur.get("StepDetails", {}).get("Attempt", 0)
                    op["StepDetails"] = {"Attempt": attempt, **outcome}
                elif kind == "CONTEXT":
                    op["ContextDetails"] = outcome
        ex.ops[op_id] = op
        return op


MAX_INVOCATIONS = 50


def drive(
    service: StubService, invoke: Callable[[dict[str, Any]], dict[str, Any]], input_value: Any
) -> dict[str, Any]:
    """Run an execution to its end: invoke, skip time while it is PENDING, invoke again."""
    arn = service.start(input_value)
    for _ in range(MAX_INVOCATIONS):
        out = invoke(service.event(arn))
        service.finish(arn, out)
        if _status(out) != "PENDING":
            return out
        service.skip_time(arn)
    raise RuntimeError(f"still running after {MAX_INVOCATIONS} invocations")


async def drive_async(
    service: StubService,
    invoke: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
    input_value: Any,
) -> dict[str, Any]:
    """`drive` for handlers invoked on a running event loop."""
    arn = service.start(input_value)
    for _ in range(MAX_INVOCATIONS):
        out = await invoke(service.event(arn))
        service.finish(arn, out)
        if _status(out) != "PENDING":
            return out
        service.skip_time(arn)
    raise RuntimeError(f"still running after {MAX_INVOCATIONS} invocations")


def _status(out: dict[str, Any]) -> str:
    status = out.get("Status")
    return str(getattr(status, "value", status))
