"""How the persistent backend turns executions into database rows, and rows back into them.

Operations are saved as their wire JSON (`model_dump_json(by_alias=True, exclude_none=True)`);
history events as JSON with every `datetime` tagged, so it comes back a timezone-aware UTC
`datetime`, equal to the one saved.
"""

from __future__ import annotations

import datetime as dt
import heapq
import json
from typing import Any

from .._backends.memory.state import ExecutionRecord, _CallbackTimers
from .._models import ErrorObject, Operation
from .store import Snapshot

__all__ = ["decode_event", "encode_event", "operation_row", "rebuild", "summary_row"]

_DATETIME = "$datetime"  # the key of a tagged datetime


def _tag(value: object) -> object:
    if isinstance(value, dt.datetime):
        return {_DATETIME: value.astimezone(dt.UTC).isoformat()}
    raise TypeError(f"cannot save a {type(value).__name__} in a history event")


def _untag(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and _DATETIME in obj:
        return dt.datetime.fromisoformat(obj[_DATETIME]).astimezone(dt.UTC)
    return obj


def encode_event(event: dict[str, Any]) -> str:
    """A history event as JSON text, its datetimes tagged."""
    return json.dumps(event, default=_tag, separators=(",", ":"))


def decode_event(body: str) -> dict[str, Any]:
    """The history event `encode_event` saved."""
    event: dict[str, Any] = json.loads(body, object_hook=_untag)
    return event


def summary_row(ex: ExecutionRecord, pos: int) -> tuple[Any, ...]:
    """The execution's own row (see `Batch.executions`); `pos` is its place in creation order."""
    error = ex.error.model_dump_json(by_alias=True, exclude_none=True) if ex.error else None
    return (
        ex.arn,
        pos,
        ex.name,
        ex.function_name,
        ex.start,
        ex.end,
        ex.status,
        ex.token,
        ex.result,
        error,
        ex.changes,
    )


def operation_row(ex: ExecutionRecord, op_id: str, pos: int) -> tuple[Any, ...]:
    """The row of operation `op_id` (see `Batch.operations`), with its callback id and timers."""
    op = ex.ops[op_id]
    details = op.callback_details
    callback_id = details.callback_id if details else None
    if callback_id is not None and ex.callbacks.get(callback_id) != op_id:
        callback_id = None
    t = ex.callback_timers.get(op_id)
    timers = json.dumps([t.timeout, t.heartbeat, t.last_beat]) if t else None
    body = op.model_dump_json(by_alias=True, exclude_none=True)
    return (ex.arn, op_id, pos, body, callback_id, timers)


def rebuild(snapshot: Snapshot) -> dict[str, tuple[ExecutionRecord, int]]:
    """Every saved execution, with its place in creation order, in that order."""
    out: dict[str, tuple[ExecutionRecord, int]] = {}
    for (
        arn,
        pos,
        name,
        function,
        start,
        end,
        status,
        token,
        result,
        error,
        changes,
    ) in snapshot.executions:
        ex = ExecutionRecord(
            arn=arn,
            name=name,
            start=start,
            function_name=function,
            token=token,
            status=status,
            result=result,
            error=ErrorObject.model_validate_json(error) if error is not None else None,
            end=end,
            changes=changes,
            seen_changes=changes,
        )
        out[arn] = (ex, pos)
    for arn, op_id, _, body, callback_id, timers in snapshot.operations:
        ex = out[arn][0]
        ex.ops[op_id] = Operation.model_validate_json(body)
        if callback_id is not None:
            ex.callbacks[callback_id] = op_id
        if timers is not None:
            ex.callback_timers[op_id] = _CallbackTimers(*json.loads(timers))
    for arn, _, body in snapshot.events:
        out[arn][0].history.events.append(decode_event(body))
    for ex, _ in out.values():
        ex.timers = [(due, i) for i, op in ex.ops.items() if (due := ex.due(op)) is not None]
        heapq.heapify(ex.timers)
        ex.history.saved = len(ex.history.events)
    return out
