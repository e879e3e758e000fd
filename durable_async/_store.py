"""The operation store of one invocation: the service's view of every operation, by id."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from ._models import Operation, OperationType

__all__ = ["OperationStore"]

Condition = Callable[[Operation], bool]


class OperationStore:
    """Operations keyed by id, with futures that resolve when an operation reaches a condition.

    Applying a checkpoint response updates the store first, then resolves the watchers, so a
    waiter always resumes with the new state in place.
    """

    def __init__(
        self,
        operations: Iterable[Operation] = (),
        *,
        observer: Callable[[Operation | None, Operation], None] | None = None,
    ) -> None:
        self._ops: dict[str, Operation] = {op.id: op for op in operations}
        self._observer = observer
        self._recorded: dict[str | None, int] = {}
        for op in self._ops.values():
            if op.type is not OperationType.EXECUTION:
                self._recorded[op.parent_id] = self._recorded.get(op.parent_id, 0) + 1
        self._watchers: dict[str, list[tuple[Condition, asyncio.Future[Operation]]]] = {}

    def get(self, op_id: str) -> Operation | None:
        """The operation `op_id`, or `None` if the service has never seen it."""
        return self._ops.get(op_id)

    def __len__(self) -> int:
        return len(self._ops)

    def recorded_children(self, parent_id: str | None) -> int:
        """How many operations of context `parent_id` the invocation started with."""
        return self._recorded.get(parent_id, 0)

    def values(self) -> list[Operation]:
        """Every operation, in the order first seen."""
        return list(self._ops.values())

    def apply(self, operations: Iterable[Operation]) -> None:
        """Take in operations from a response, then resolve the watchers they satisfy."""
        woken: list[Operation] = []
        for op in operations:
            if self._observer is not None:
                self._observer(self._ops.get(op.id), op)
            self._ops[op.id] = op
            if op.id in self._watchers:
                woken.append(op)
        for op in woken:
            watchers = self._watchers.pop(op.id, [])
            keep = []
            for cond, fut in watchers:
                if fut.done():
                    continue
                if cond(op):
                    fut.set_result(op)
                else:
                    keep.append((cond, fut))
            if keep:
                self._watchers[op.id] = keep

    def watch(self, op_id: str, cond: Condition) -> asyncio.Future[Operation]:
        """A future resolved with the operation once `cond` holds for it (maybe already)."""
        fut: asyncio.Future[Operation] = asyncio.get_running_loop().create_future()
        op = self._ops.get(op_id)
        if op is not None and cond(op):
            fut.set_result(op)
        else:
            self._watchers.setdefault(op_id, []).append((cond, fut))
        return fut

    def clear(self) -> None:
        """Forget every operation and watcher (the invocation has ended)."""
        self._ops.clear()
        self._recorded.clear()
        self._watchers.clear()

    def is_watched(self, op_id: str) -> bool:
        """Whether a watcher of operation `op_id` is still waiting."""
        return any(not fut.done() for _, fut in self._watchers.get(op_id, ()))

    def fail_watchers(self, exc: BaseException) -> None:
        """Resolve every watcher with `exc` (the invocation is ending)."""
        for watchers in self._watchers.values():
            for _, fut in watchers:
                if not fut.done():
                    fut.set_exception(exc)
        self._watchers.clear()
