"""Assertions on a `RunResult`: find an operation by its path, check how the execution ended and
what each operation did, with failure messages that say what was expected and what was found.

The pytest plugin imports this module in every session, so it stays cheap: the package's own
modules are imported inside the functions that use them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from .._models import ErrorObject, Operation, OperationStatus
    from .._run_result import RunResult

__all__ = [
    "OperationLookupError",
    "assert_failed",
    "assert_operation",
    "assert_ran_once",
    "assert_succeeded",
    "find_operation",
    "operation_paths",
]

_LISTED: Final = 40  # operations a lookup error lists before it cuts the list short
_SHOWN: Final = 300  # characters of a value a message shows


class _Missing:
    """The default of an expectation that was not given (`None` is a value to expect)."""

    def __repr__(self) -> str:
        return "<not given>"


_MISSING: Final[Any] = _Missing()


class OperationLookupError(LookupError, AssertionError):
    """No operation of a run, or more than one, has the path asked for.

    It is a `LookupError` and an `AssertionError`: in a test it fails like an assertion, and the
    message lists the paths the run has.
    """


def operation_paths(result: RunResult) -> list[tuple[str, Operation]]:
    """The path of every operation of a run (the EXECUTION one left out), in creation order.

    A path joins the names of the enclosing child contexts, map and parallel operations and the
    operation's own name with `/`: `"checkout/charge"`. A map item or parallel branch without a
    name is its 0-based index (`"items/2/charge"`); another operation without a name shows
    its kind in angle brackets (`"<Step>"`).
    """
    return [(paths[0], op) for op, paths in _path_table(result)]


def find_operation(result: RunResult, path: str) -> Operation:
    """The single operation of a run at `path`: a full path (`"checkout/charge"`), its end
    (`"charge"`, `"2/charge"`), or an operation id.

    A full path wins over paths that only end with it. A map item or parallel branch with a
    name answers to its index too.

    Raises:
        OperationLookupError: no operation, or more than one, matches; the message lists them,
            or every path the run has.
    """
    table = _path_table(result)
    for op, _ in table:
        if op.id == path:
            return op
    exact = [op for op, paths in table if path in paths]
    tail = f"/{path}"
    found = exact or [op for op, paths in table if any(p.endswith(tail) for p in paths)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise OperationLookupError(
            f"expected an operation at path {path!r}; found none. The run's operations are:\n"
            + _listing(table)
        )
    chosen = {op.id for op in found}
    raise OperationLookupError(
        f"expected one operation at path {path!r}; found {len(found)}:\n"
        + _listing([row for row in table if row[0].id in chosen], ids=True)
        + "\nGive more of the path, or an operation id."
    )


def assert_succeeded(run: RunResult, /, *, result: Any = _MISSING) -> Any:
    """Assert the execution succeeded (and, given `result`, returned it); return its result."""
    if run.status != "SUCCEEDED":
        raise AssertionError(
            f"expected the execution to succeed; it ended {run.status.value} with "
            f"{_error_text(run.error)}"
        )
    if result is not _MISSING and run.result != result:
        raise AssertionError(
            f"expected the execution to return {_show(result)}; it returned {_show(run.result)}"
        )
    return run.result


def assert_failed(
    run: RunResult,
    /,
    *,
    error_type: str | type[BaseException] | None = None,
    message: str | None = None,
) -> ErrorObject:
    """Assert the execution failed (with `error_type`, and an error message containing
    `message`, when given); return its error.

    `error_type` is the recorded type name (`"StepError"` for a step that failed for good,
    with the step's own error type in `error_data`), or an exception class, compared by name.
    """
    expected = _type_name(error_type)
    wanted = f"to fail with {expected}" if expected else "to fail"
    error = run.error
    if run.status != "FAILED" or error is None:
        raise AssertionError(
            f"expected the execution {wanted}; it ended {run.status.value} with "
            + (f"result {_show(run.result)}" if error is None else _error_text(error))
        )
    if expected is not None and error.error_type != expected:
        raise AssertionError(
            f"expected the execution {wanted}; it failed with {_error_text(error)}"
        )
    if message is not None and message not in (error.error_message or ""):
        raise AssertionError(
            f"expected the execution's error message to contain {message!r}; it failed with "
            f"{_error_text(error)}"
        )
    return error


def assert_operation(
    run: RunResult,
    path: str,
    /,
    *,
    status: OperationStatus | str | None = None,
    attempts: int | None = None,
    result: Any = _MISSING,
    error_type: str | type[BaseException] | None = None,
) -> Operation:
    """Assert what the operation at `path` (see `find_operation`) did; return it.

    Args:
        run: the run.
        path: the operation's path, the end of it, or its id.
        status: its `OperationStatus` (or the status's name).
        attempts: a step's attempts, the first one included (`1`: it was never retried).
        result: its recorded result, decoded from JSON (a step's, a child context's, a
            callback's or a chained invoke's).
        error_type: the type name of its recorded error, or an exception class.

    Raises:
        AssertionError: listing every expectation that does not hold, with what was found.
    """
    from .._models import OperationStatus
    from .._run_view import attempts as attempts_of
    from .._run_view import operation_error

    op = find_operation(run, path)
    wrong: list[str] = []
    if status is not None and op.status != OperationStatus(status):
        found = op.status.value
        error = operation_error(op)
        if error is not None:
            found += f" with {_error_text(error)}"
        wrong.append(f"status: expected {OperationStatus(status).value}, found {found}")
    if attempts is not None:
        if op.type != "STEP":
            wrong.append(f"attempts: expected {attempts}, but only steps have attempts")
        elif attempts_of(op) != attempts:
            wrong.append(f"attempts: expected {attempts}, found {attempts_of(op)}")
    if result is not _MISSING:
        has, value = _operation_result(op)
        if not has:
            wrong.append(f"result: expected {_show(result)}, found no recorded result")
        elif value != result:
            wrong.append(f"result: expected {_show(result)}, found {_show(value)}")
    expected_type = _type_name(error_type)
    if expected_type is not None:
        error = operation_error(op)
        if error is None:
            wrong.append(f"error type: expected {expected_type}, found no error")
        elif error.error_type != expected_type:
            wrong.append(f"error type: expected {expected_type}, found {_error_text(error)}")
    if wrong:
        raise AssertionError(
            f"operation {path!r} ({_kind(op)}):\n" + "\n".join(f"  {line}" for line in wrong)
        )
    return op


def assert_ran_once(run: RunResult, path: str, /) -> Operation:
    """Assert the step at `path` ran exactly once: a single attempt, and one run of its body.

    The run's history shows it: one `StepStarted` event for the step, and no invocation that
    ended between that start and the step's outcome (an attempt an invocation left unfinished,
    through a crash or a failed checkpoint, runs again in the next one). A run the history
    does not record, such as the simulated crashes of `always_replay=True`, is not seen.

    Raises:
        AssertionError: the operation is not a step, or ran more than once, or never started.
    """
    op = find_operation(run, path)
    if op.type != "STEP":
        raise AssertionError(f"expected a step at path {path!r}; found a {_kind(op)}")
    starts = interrupted = ended_while_open = 0
    running = False
    for event in run.history:
        kind = event.get("EventType")
        if kind == "InvocationCompleted" and running:
            ended_while_open += 1
        elif event.get("Id") != op.id:
            continue
        elif kind == "StepStarted":
            starts += 1
            running = True
        elif kind in ("StepSucceeded", "StepFailed"):
            interrupted += ended_while_open
            ended_while_open = 0
            running = False
    from .._run_view import attempts as attempts_of

    tried = attempts_of(op)
    if starts == 1 and tried == 1 and interrupted == 0:
        return op
    found = (
        f"{_count(tried, 'attempt')}, {_count(starts, 'StepStarted event')} and "
        f"{_count(interrupted, 'invocation')} that ended while it ran"
    )
    if starts == 0:
        why = "it never started"
    elif tried > 1:
        why = "its retry policy ran it again"
    elif interrupted:
        why = "an invocation ended during its attempt, which a later invocation took up again"
    else:
        why = "it started again"
    raise AssertionError(f"expected step {path!r} to run exactly once; found {found} ({why})")


# -- helpers ----------------------------------------------------------------------------------


def _path_table(result: RunResult) -> list[tuple[Operation, list[str]]]:
    """Each operation (but the EXECUTION one) with the paths it answers to, its own first."""
    from .._run_view import item_indexes

    ops = [op for op in result.operations if op.type != "EXECUTION"]
    by_id = {op.id: op for op in ops}
    index_of = item_indexes(ops)

    paths: dict[str, list[str]] = {}

    def paths_of(op: Operation) -> list[str]:
        known = paths.get(op.id)
        if known is not None:
            return known
        own = [op.name] if op.name else []
        if op.id in index_of:
            own.append(str(index_of[op.id]))
        own = own or [f"<{op.sub_type or op.type.value}>"]
        parent = by_id.get(op.parent_id) if op.parent_id else None
        found = own if parent is None else [f"{p}/{s}" for p in paths_of(parent) for s in own]
        paths[op.id] = found
        return found

    return [(op, paths_of(op)) for op in ops]


def _listing(table: Iterable[tuple[Operation, list[str]]], *, ids: bool = False) -> str:
    rows = list(table)
    if not rows:
        return "  (none)"
    shown = rows[:_LISTED]
    width = max(len(paths[0]) for _, paths in shown)
    lines = [
        f"  {paths[0]:<{width}}  {_kind(op)} {op.status.value}" + (f"  id {op.id}" if ids else "")
        for op, paths in shown
    ]
    if len(rows) > len(shown):
        lines.append(f"  ... and {len(rows) - len(shown)} more")
    return "\n".join(lines)


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + "s" * (n != 1)


def _kind(op: Operation) -> str:
    kind = op.type.value
    return f"{kind} {op.sub_type}" if op.sub_type and op.sub_type.upper() != kind else kind


def _details(op: Operation) -> Any:
    return op.step_details or op.context_details or op.callback_details or op.chained_invoke_details


def _operation_result(op: Operation) -> tuple[bool, Any]:
    """Whether `op` recorded a result, and the result (decoded from JSON when it is JSON)."""
    payload = getattr(_details(op), "result", None)
    if payload is None:
        return False, None
    try:
        return True, json.loads(payload)
    except ValueError:
        return True, payload


def _type_name(error_type: str | type[BaseException] | None) -> str | None:
    return error_type.__name__ if isinstance(error_type, type) else error_type


def _error_text(error: ErrorObject | None) -> str:
    if error is None:
        return "no error"
    text = f"{error.error_type}: {error.error_message}"
    if error.error_data:
        text += f" (error data {_show(error.error_data)})"
    return text


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
