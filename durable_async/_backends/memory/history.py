"""History events in the service's shapes (`GetDurableExecutionHistory`), built by the emulation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..._models import ErrorObject, Operation, OperationType

__all__ = ["HistoryRecorder", "timestamp"]

_TYPE_NAMES = {
    OperationType.EXECUTION: "Execution",
    OperationType.CONTEXT: "Context",
    OperationType.STEP: "Step",
    OperationType.WAIT: "Wait",
    OperationType.CALLBACK: "Callback",
    OperationType.CHAINED_INVOKE: "ChainedInvoke",
}


def timestamp(seconds: float) -> dt.datetime:
    """Epoch seconds as the UTC datetime the service's APIs return."""
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def payload(value: str | None) -> dict[str, Any]:
    """An `EventResult`/`EventInput` member."""
    return {"Payload": value, "Truncated": False} if value is not None else {"Truncated": False}


def error(err: ErrorObject | None) -> dict[str, Any]:
    """An `EventError` member."""
    return {"Payload": err.to_wire() if err else {}, "Truncated": False}


class HistoryRecorder:
    """Accumulates the events of one execution, numbered from 1."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.saved = 0
        """How many events (the first ones) a persistent backend has saved."""
        self.changed: set[int] = set()
        """Indexes of saved events mutated since (see `ExecutionRecord.link_child`)."""

    def record(
        self, op: Operation, suffix: str, when: float, details: dict[str, Any] | None = None
    ) -> None:
        """Record `<Type><suffix>` (e.g. `StepSucceeded`) for `op` at `when`."""
        kind = _TYPE_NAMES[op.type] + suffix
        event: dict[str, Any] = {
            "EventType": kind,
            "EventId": len(self.events) + 1,
            "Id": op.id,
            "EventTimestamp": timestamp(when),
        }
        if op.sub_type is not None:
            event["SubType"] = op.sub_type
        if op.name is not None:
            event["Name"] = op.name
        if op.parent_id is not None:
            event["ParentId"] = op.parent_id
        event[f"{kind}Details"] = details or {}
        self.events.append(event)

    def invocation_completed(
        self, execution_id: str, start: float, end: float, request_id: str, err: ErrorObject | None
    ) -> None:
        """Record an `InvocationCompleted` event with its full details."""
        details: dict[str, Any] = {
            "StartTimestamp": timestamp(start),
            "EndTimestamp": timestamp(end),
            "RequestId": request_id,
        }
        if err is not None:
            details["Error"] = error(err)
        self.events.append(
            {
                "EventType": "InvocationCompleted",
                "EventId": len(self.events) + 1,
                "Id": execution_id,
                "EventTimestamp": timestamp(end),
                "InvocationCompletedDetails": details,
            }
        )
