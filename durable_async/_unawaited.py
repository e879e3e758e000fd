"""Operations created and never awaited: how they are described and reported.

`DurableOperation` notes where user code created it (its code and offset, nothing that keeps a
frame); the runtime keeps every operation until it is first awaited or handed to a task, and,
when the handler finished, reports those left (see `UnawaitedOperationWarning` for the rule).
In production the report is a warning per operation; the local runner can make it an error.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from types import CodeType
from typing import TYPE_CHECKING, Any

from ._errors import UnawaitedOperationError, UnawaitedOperationWarning

if TYPE_CHECKING:
    from ._operation import DurableOperation

__all__ = ["CreatedOperations", "UnawaitedOperation", "unawaited_error", "warn_unawaited"]

SWEEP_MIN = 1024
"""The fewest operations `CreatedOperations` holds before it drops those that started."""

SUB_TYPES = {
    "step": "Step",
    "random": "Step",
    "uuid4": "Step",
    "now": "Step",
    "wait": "Wait",
    "run_in_child_context": "RunInChildContext",
    "map": "Map",
    "parallel": "Parallel",
    "create_callback": "Callback",
    "wait_for_callback": "WaitForCallback",
    "invoke": "ChainedInvoke",
    "wait_for_condition": "WaitForCondition",
    "any": "Any",
    "race": "Race",
}
"""The sub-type of the operation each `DurableContext` method creates, by method name.

The creation site is found by walking up from `DurableOperation.__init__` to the first frame
outside this package; the last frame inside it is the method the user called, which costs
nothing to note, whereas the sub-type itself is only a local of `DurableContext._operation`.
A test checks that every method returning an operation is listed.
"""


@dataclass(frozen=True, slots=True)
class UnawaitedOperation:
    """An operation that was created and never awaited.

    Attributes:
        api: the `DurableContext` method that created it (`"step"`, `"wait"`, ...).
        name: its name, if any.
        operation_id: its id.
        filename: the file of the user code that created it.
        lineno: the line in that file.
    """

    api: str
    name: str | None
    operation_id: str
    filename: str
    lineno: int

    @classmethod
    def of(cls, op: DurableOperation[Any]) -> UnawaitedOperation:
        """Describe `op` from what it noted when it was created."""
        code = op._site
        line = _line(code, op._site_offset)
        return cls(op._api.co_name, op.name, op.operation_id, code.co_filename, line)

    @property
    def sub_type(self) -> str:
        """The operation's sub-type (`Step`, `Wait`, ...), or `ctx.<method>` if unknown."""
        return SUB_TYPES.get(self.api) or f"ctx.{self.api}"

    @property
    def message(self) -> str:
        """What the warning and the error say about it."""
        named = f" {self.name!r}" if self.name else ""
        return (
            f"durable operation {self.sub_type}{named} (id {self.operation_id[:12]}…) was "
            f"created at {self.filename}:{self.lineno} but never awaited; it never ran"
        )


def warn_unawaited(operations: Sequence[UnawaitedOperation]) -> None:
    """Issue an `UnawaitedOperationWarning` for each operation, located where it was created."""
    for op in operations:
        module = _module_at(op.filename)
        registry: dict[Any, Any] | None = None
        if module is not None:
            registry = vars(module).setdefault("__warningregistry__", {})
        warnings.warn_explicit(
            UnawaitedOperationWarning(op.message),
            UnawaitedOperationWarning,
            op.filename,
            op.lineno,
            module=module.__name__ if module is not None else None,
            registry=registry,
        )


def unawaited_error(operations: Sequence[UnawaitedOperation]) -> UnawaitedOperationError:
    """One error naming every operation (the local runner's default report)."""
    if len(operations) == 1:
        return UnawaitedOperationError(operations[0].message)
    lines = "".join(f"\n  - {op.message}" for op in operations)
    return UnawaitedOperationError(
        f"{len(operations)} durable operations were never awaited:" + lines
    )


def _line(code: CodeType, offset: int) -> int:
    """The source line of the instruction at `offset` in `code` (as `frame.f_lineno` says)."""
    for start, end, line in code.co_lines():
        if start <= offset < end and line is not None:
            return line
    return code.co_firstlineno


def _module_at(filename: str) -> Any:
    """The imported module whose source is `filename`, if any (for warning filters by module)."""
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) == filename:
            return module
    return None


class CreatedOperations:
    """The operations of one invocation not yet awaited or handed to a task.

    Operations started or handed over since the last sweep are dropped once the list has
    doubled, so it holds few more than the operations still waiting to start.
    """

    __slots__ = ("_ops", "_sweep_at")

    def __init__(self) -> None:
        self._ops: list[DurableOperation[Any]] = []
        self._sweep_at = SWEEP_MIN

    def add(self, op: DurableOperation[Any]) -> None:
        """Note `op`, just created."""
        ops = self._ops
        if len(ops) >= self._sweep_at:
            ops[:] = [o for o in ops if o._creator is not None]
            self._sweep_at = max(SWEEP_MIN, 2 * len(ops))
        ops.append(op)

    def never_awaited(self) -> list[UnawaitedOperation]:
        """The operations never awaited by the tasks that created them and ended.

        Called once the handler finished and the other tasks were cancelled: an operation
        created by a task that was cancelled (or is still running) was cut off, not forgotten.
        """
        found: list[UnawaitedOperation] = []
        for op in self._ops:
            task = op._creator
            if task is not None and task.done() and not task.cancelled():
                found.append(UnawaitedOperation.of(op))
        return found

    def clear(self) -> None:
        """Forget every operation."""
        self._ops.clear()
