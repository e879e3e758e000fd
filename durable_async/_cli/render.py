"""How a run is shown: the history as a tree, the error with the user's frames, and the JSON
document `--json` prints."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .._models import ErrorObject, Operation, OperationStatus, OperationType
from .._run_result import RunResult
from .._run_view import attempts, item_indexes, operation_error

__all__ = [
    "TIMES_NOTE",
    "format_error",
    "format_history",
    "format_report",
    "to_json",
]

TIMES_NOTE = (
    "SIM: simulated time, on the runner's clock (waits and retry delays are skipped); "
    "WALL: real time, from the operation's start to its end as the backend saw them"
)

_COLOURS = {
    OperationStatus.SUCCEEDED: "32",
    OperationStatus.FAILED: "31",
    OperationStatus.TIMED_OUT: "31",
    OperationStatus.STOPPED: "31",
    OperationStatus.CANCELLED: "33",
}
_ERROR_WIDTH = 70


def _seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.3f}s"
    if seconds < 3600:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def _simulated(op: Operation) -> float | None:
    if op.start_timestamp is None or op.end_timestamp is None:
        return None
    return (op.end_timestamp - op.start_timestamp).total_seconds()


def _attempt(op: Operation) -> str:
    """The attempt a step is on, or ended with, counting from 1 (see `attempts`)."""
    if op.type is not OperationType.STEP or op.step_details is None:
        return "-"
    return str(attempts(op))


def _kind(op: Operation) -> str:
    plain = op.sub_type in (None, "Step", "RunInChildContext")
    if not plain and op.type in (OperationType.CONTEXT, OperationType.STEP):
        return f"{op.type.value}:{op.sub_type}"
    return op.type.value


def _tree(operations: Sequence[Operation]) -> list[tuple[Operation, int, str]]:
    """Each operation with its depth and the label of its name column, parents first."""
    ids = {op.id for op in operations}
    children: dict[str | None, list[Operation]] = {}
    for op in operations:
        parent = op.parent_id if op.parent_id in ids else None
        children.setdefault(parent, []).append(op)
    index = item_indexes(operations)
    out: list[tuple[Operation, int, str]] = []

    def visit(parent: str | None, depth: int) -> None:
        for op in children.get(parent, []):
            label = op.name or "-"
            if op.id in index:
                label = f"[{index[op.id]}] {op.name}" if op.name else f"[{index[op.id]}]"
            out.append((op, depth, label))
            visit(op.id, depth + 1)

    visit(None, 0)
    return out


def _error_cell(op: Operation) -> str:
    error = operation_error(op)
    if error is None:
        return ""
    text = f"{error.error_type or 'Error'}: {error.error_message or ''}".replace("\n", " ")
    return text if len(text) <= _ERROR_WIDTH else text[: _ERROR_WIDTH - 3] + "..."


def format_history(
    operations: Sequence[Operation],
    *,
    colour: bool = False,
    wall: Mapping[str, float] | None = None,
) -> str:
    """Render operations as an aligned tree: children indented under their child context, map
    or parallel (items with their index), and per row the attempt, status, simulated and real
    durations, and the error."""
    header = ("ID", "TYPE", "NAME", "STATUS", "ATTEMPT", "SIM", "WALL", "ERROR")
    rows = [header]
    statuses: list[OperationStatus | None] = [None]
    for op, depth, label in _tree(operations):
        real = wall.get(op.id) if wall is not None else None
        rows.append(
            (
                op.id[:12],
                _kind(op),
                "  " * depth + label,
                op.status.value,
                _attempt(op),
                _seconds(_simulated(op)),
                _seconds(real),
                _error_cell(op),
            )
        )
        statuses.append(op.status)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for row, status in zip(rows, statuses, strict=True):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        if colour and status is None:
            cells = [f"\x1b[1m{c}\x1b[0m" for c in cells]
        elif colour and status in _COLOURS:
            cells[3] = f"\x1b[{_COLOURS[status]}m{cells[3]}\x1b[0m"
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def format_error(error: ErrorObject, *, hint: str | None = None) -> str:
    """Render a failed run's error: type and message, then its recorded stack trace (the user's
    frames, innermost first), each entry indented under a header."""
    lines = [f"error: {error.error_type}: {error.error_message}"]
    if hint:
        lines.append(f"  {hint}")
    if error.error_data:
        lines.append(f"  error data: {error.error_data}")
    if error.stack_trace:
        lines.append("stack trace (most recent call first):")
        lines.extend(f"  {line}" for entry in error.stack_trace for line in entry.splitlines())
    return "\n".join(lines)


def to_json(result: RunResult, wall: Mapping[str, float] | None = None) -> str:
    """The run as one JSON document: status, result or error, and the full history."""
    operations: list[dict[str, Any]] = []
    for op, depth, _ in _tree(result.operations):
        shape = op.model_dump(mode="json", by_alias=True, exclude_none=True)
        shape["Depth"] = depth
        shape["SimulatedSeconds"] = _simulated(op)
        shape["WallSeconds"] = wall.get(op.id) if wall is not None else None
        operations.append(shape)
    document = {
        "status": result.status.value,
        "result": result.result,
        "error": result.error.model_dump(mode="json", by_alias=True, exclude_none=True)
        if result.error
        else None,
        "invocations": result.invocations,
        "executionArn": result.execution_arn,
        "operations": operations,
        "history": result.history,
    }
    return json.dumps(document, indent=2, default=str)


def format_report(
    document: dict[str, Any],
    wall: Mapping[str, float],
    *,
    hint: str | None = None,
    colour: bool = False,
) -> str:
    """The report of a run's JSON document: status, result or error, the history tree and
    what its times mean."""
    lines = [f"status: {document['status']} after {document['invocations']} invocation(s)"]
    error = document.get("error")
    if error:
        lines.append(format_error(ErrorObject.model_validate(error), hint=hint))
    else:
        lines.append(f"result: {json.dumps(document['result'])}")
    operations = [Operation.model_validate(shape) for shape in document["operations"]]
    lines += ["", format_history(operations, colour=colour, wall=wall), "", TIMES_NOTE]
    return "\n".join(lines)
