"""The `durable-async` command: run a durable handler locally on the embedded backend.

durable-async run examples/order.py:handler --input '{"sku": "a-1"}'
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ._handler import DurableHandler, durable_execution
from ._local import LocalRunner
from ._models import ErrorObject, Operation, OperationStatus, OperationType
from ._run_result import RunResult

__all__ = ["format_error", "format_history", "main"]

_COLOURS = {
    OperationStatus.SUCCEEDED: "32",
    OperationStatus.FAILED: "31",
    OperationStatus.TIMED_OUT: "31",
    OperationStatus.STOPPED: "31",
    OperationStatus.CANCELLED: "33",
}


def _load(target: str) -> DurableHandler[Any, Any]:
    path, sep, attr = target.rpartition(":")
    if not sep or not path or not attr:
        raise SystemExit(f"expected FILE.py:HANDLER or MODULE:HANDLER, got {target!r}")
    if path.endswith(".py") or "/" in path:
        file = Path(path)
        if not file.is_file():
            raise SystemExit(f"no such file: {path}")
        spec = importlib.util.spec_from_file_location(file.stem, file)
        if spec is None or spec.loader is None:
            raise SystemExit(f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[file.stem] = module
        sys.path.insert(0, str(file.parent.resolve()))
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(path)
    handler = getattr(module, attr, None)
    if handler is None:
        raise SystemExit(f"{path} has no attribute {attr!r}")
    if isinstance(handler, DurableHandler):
        return handler
    if asyncio.iscoroutinefunction(handler):
        return durable_execution(handler)
    raise SystemExit(f"{target} is neither a @durable_execution handler nor an async function")


def _duration(op: Operation) -> str:
    if op.start_timestamp is None or op.end_timestamp is None:
        return "-"
    seconds = (op.end_timestamp - op.start_timestamp).total_seconds()
    return f"{seconds:.3f}s" if seconds < 60 else f"{seconds / 60:.1f}m"


def _attempt(op: Operation) -> str:
    if op.type is not OperationType.STEP or op.step_details is None:
        return "-"
    done = op.step_details.attempt or 0
    return str(done + 1 if op.status.is_terminal or op.status is OperationStatus.STARTED else done)


def format_history(operations: Sequence[Operation], *, colour: bool = False) -> str:
    """Render operations as an aligned table: id, type, name, status, attempt, duration."""
    rows = [("ID", "TYPE", "NAME", "STATUS", "ATTEMPT", "DURATION")]
    statuses: list[OperationStatus | None] = [None]
    for op in operations:
        rows.append(
            (
                op.id[:12],
                op.type.value,
                op.name or "-",
                op.status.value,
                _attempt(op),
                _duration(op),
            )
        )
        statuses.append(op.status)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row, status in zip(rows, statuses, strict=False):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        if colour and status is None:
            cells = [f"\x1b[1m{c}\x1b[0m" for c in cells]
        elif colour and status in _COLOURS:
            cells[3] = f"\x1b[{_COLOURS[status]}m{cells[3]}\x1b[0m"
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def format_error(error: ErrorObject) -> str:
    """Render a failed run's error: type and message, then its recorded stack trace, innermost
    frame first, each entry indented under a header."""
    lines = [f"error: {error.error_type}: {error.error_message}"]
    if error.error_data:
        lines.append(f"  error data: {error.error_data}")
    if error.stack_trace:
        lines.append("stack trace (most recent call first):")
        lines.extend(f"  {line}" for entry in error.stack_trace for line in entry.splitlines())
    return "\n".join(lines)


def _report(result: RunResult, out: TextIO, colour: bool) -> None:
    print(f"status: {result.status.value} after {result.invocations} invocation(s)", file=out)
    if result.error is not None:
        print(format_error(result.error), file=out)
    else:
        print(f"result: {json.dumps(result.result)}", file=out)
    print(file=out)
    print(format_history(result.operations, colour=colour), file=out)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `durable-async` command."""
    parser = argparse.ArgumentParser(
        prog="durable-async", description="Run durable_async workflows locally."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a handler to completion on the embedded backend")
    run.add_argument("target", help="FILE.py:HANDLER or MODULE:HANDLER")
    run.add_argument("--input", default="null", help="the execution input, as JSON")
    run.add_argument("--no-color", action="store_true", help="never colour the output")
    args = parser.parse_args(argv)
    try:
        payload = json.loads(args.input)
    except ValueError as exc:
        parser.error(f"--input is not valid JSON: {exc}")
    handler = _load(args.target)
    result = asyncio.run(LocalRunner(handler).run(payload))
    colour = sys.stdout.isatty() and not args.no_color
    _report(result, sys.stdout, colour)
    return 0 if result.status.value == "SUCCEEDED" else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
