"""Where a context takes its operations' ids, and checks them against the history.

Each context (the root, a child context, a map or parallel item) has one `IdScope`. Operations are
counted per (context, task lineage): the context's own task has the "home" lane, whose ids are the
official ones (`str(n)`, `f"{parent}-{n}"`); every other task has a lane of its own (see `_ids`
and `_lineage`). An id is validated against the recorded operation when there is one, and a task
is replaying while its next operation is recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from ._errors import DurableCallInStepError, DurableError, NonDeterministicExecutionError
from ._ids import lane_operation_id, operation_id
from ._lifecycle import OperationHandle
from ._lineage import Lineage, current_lineage
from ._models import Operation, OperationType
from ._names import check_name
from ._operation import DurableOperation
from ._task_context import current_step

if TYPE_CHECKING:
    from ._runtime import ExecutionRuntime

__all__ = ["ContextBody", "IdScope"]

T = TypeVar("T")


_COMPLETED_BY_HANDLER = frozenset({OperationType.STEP, OperationType.CONTEXT})


class _Lane:
    """The operations one task has called in one context.

    Attributes:
        label: the task's lineage label in ids (see `_lineage`).
        count: how many operations it has called.
        live: it has called an operation that the history does not hold finished.
        tail_replays: its last operation was recorded finished by the handler itself.
    """

    __slots__ = ("count", "label", "live", "tail_replays")

    def __init__(self, label: str) -> None:
        self.label = label
        self.count = 0
        self.live = False
        self.tail_replays = False


class IdScope:
    """The ids of one context's operations.

    Attributes:
        runtime: the invocation.
        parent_id: the id of the context's CONTEXT operation (`None` for the root), the parent
            of every operation it runs.
    """

    __slots__ = ("_home", "_lanes", "_scope", "parent_id", "runtime")

    def __init__(
        self, runtime: ExecutionRuntime, parent_id: str | None, scope: str | None = None
    ) -> None:
        self.runtime = runtime
        self.parent_id = parent_id
        # Ids derive from the scope: the parent's id, or a virtual context's own id.
        self._scope = parent_id if scope is None else scope
        self._home = _Lane("")  # the operations called by the context's own task
        self._lanes: dict[Lineage, _Lane] | None = None  # those of every other task

    def child(self, context_id: str) -> IdScope:
        """The scope of the child context that is operation `context_id`."""
        return IdScope(self.runtime, context_id)

    def virtual(self, scope_id: str) -> IdScope:
        """A scope checkpointed as part of this one, with ids of its own (flat map items)."""
        return IdScope(self.runtime, self.parent_id, scope_id)

    @property
    def replaying(self) -> bool:
        """True while the calling task re-runs code that ran in an earlier invocation (see
        `DurableContext.replaying`).

        Each task replays on its own: a task is replaying while the next operation it will call
        is recorded, and, past its last recorded one, if that one was completed by the handler
        itself (a step or child context), since the code after it ran too. An operation the
        service completed between invocations (a wait, a callback, an invoke) is where the task
        starts running new code.
        """
        node = current_lineage.get()
        if node is None:
            return False
        lane = self._lane_of(node)
        if lane.live:
            return False
        if self.runtime.store.get(self._lane_id(lane, lane.count + 1)) is not None:
            return True
        return lane.tail_replays

    def _lane_of(self, node: Lineage) -> _Lane:
        """The operation counter of the task running `node` in this context."""
        if not node.path and node.origin == self._scope:
            return self._home
        lanes = self._lanes
        if lanes is None:
            lanes = self._lanes = {}
        lane = lanes.get(node)
        if lane is None:
            lane = lanes[node] = _Lane(node.label(self._scope))
        return lane

    def _lane_id(self, lane: _Lane, position: int) -> str:
        if lane is self._home:
            return operation_id(self._scope, position)
        return lane_operation_id(self._scope, lane.label, position)

    def begin(self, kind: OperationType, sub_type: str, name: str | None) -> OperationHandle:
        """Assign the calling task's next id in this context and check it against the history."""
        scope = current_step.get()
        if scope is not None:
            raise DurableCallInStepError(
                f"durable operation {sub_type} {name!r} called inside the body of step "
                f"{scope.name or scope.operation_id!r}; step bodies cannot hold durable "
                "operations (use a child context to nest them)"
            )
        if name is not None:
            check_name(name, sub_type)  # before any side effect: the service would refuse it
        runtime = self.runtime
        runtime.register()
        node = current_lineage.get()
        if node is None or not node.claim(asyncio.current_task()):
            raise DurableError(
                f"durable operation {sub_type} {name!r} called from a task the runtime cannot "
                "place in the handler's task tree: it was created outside the handler, or "
                "without the loop's task factory (asyncio.Task() called directly, or the "
                "factory replaced while the handler runs); create tasks with "
                "asyncio.create_task, TaskGroup or gather from handler code"
            )
        lane = self._lane_of(node)
        lane.count += 1
        op_id = self._lane_id(lane, lane.count)
        existing = runtime.store.get(op_id)
        if existing is None or not existing.status.is_terminal:
            lane.live = True
        else:
            lane.tail_replays = existing.type in _COMPLETED_BY_HANDLER
        if existing is not None:
            self._validate(op_id, existing, kind, sub_type, name, node, lane.count)
        return OperationHandle(runtime, op_id, kind, sub_type, name, self.parent_id)

    def operation(
        self,
        kind: OperationType,
        sub_type: str,
        name: str | None,
        run: Callable[[OperationHandle], Coroutine[Any, Any, T]],
    ) -> DurableOperation[T]:
        """Take the next id now; `run(op)` does the work when the operation is awaited."""
        op = self.begin(kind, sub_type, name)
        return DurableOperation(self.runtime, op.id, name, lambda: run(op))

    def id_at(self, position: int) -> str:
        """The id of this context's operation at `position`, without taking it."""
        return operation_id(self._scope, position)

    def begin_at(
        self, position: int, kind: OperationType, sub_type: str, name: str | None
    ) -> OperationHandle:
        """Like `begin`, at an explicit position (map and parallel items use their index)."""
        self.runtime.register()
        op_id = self.id_at(position)
        existing = self.runtime.store.get(op_id)
        if existing is not None:
            self._validate(op_id, existing, kind, sub_type, name)
        return OperationHandle(self.runtime, op_id, kind, sub_type, name, self.parent_id)

    def _validate(
        self,
        op_id: str,
        seen: Operation,
        kind: OperationType,
        sub_type: str,
        name: str | None,
        node: Lineage | None = None,
        position: int | None = None,
    ) -> None:
        expected = (seen.type, seen.sub_type, seen.name, seen.parent_id)
        actual = (kind, sub_type, name, self.parent_id)
        if expected == actual:
            return
        fields = ("type", "sub-type", "name", "parent")
        diffs = ", ".join(
            f"{f}: history has {_show(e)}, code has {_show(a)}"
            for f, e, a in zip(fields, expected, actual, strict=False)
            if e != a
        )
        if node is None:
            where = f"item operation (id {op_id})"
        else:
            task = asyncio.current_task()
            task_name = f" ({task.get_name()})" if task is not None else ""
            where = f"operation #{position} of {node.describe()}{task_name} (id {op_id})"
        exc = NonDeterministicExecutionError(
            f"{where} does not match the history ({diffs}); each task must call durable "
            "operations in the same order on every replay. If the next call depends on which "
            "operation finished first (asyncio.wait with FIRST_COMPLETED, as_completed), use "
            "ctx.any or ctx.race, which record the winner"
        )
        self.runtime.fail(exc)
        raise exc


ContextBody = Callable[[IdScope], Coroutine[Any, Any, Any]]
"""The body of a child context (or map/parallel item), given the scope its operations use."""


def _show(value: Any) -> str:
    return repr(value.value) if isinstance(value, OperationType) else repr(value)
