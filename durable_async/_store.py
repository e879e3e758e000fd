"""The operation store of one invocation: the service's view of every operation, by id."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from ._compact import Compactor
from ._models import Operation

__all__ = ["OperationStore"]

Condition = Callable[[Operation], bool]

_Watcher = tuple[Condition, asyncio.Future[Operation]]


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
        self._compact = Compactor()
        self._ops: dict[str, Operation] = {}
        for op in operations:
            self._compact(op)
            self._ops[op.id] = op
        self._observer = observer
        # One watcher per operation is the rule (a list only when there are more), and
        # `_waiting` counts the watchers not resolved here: a watcher cancelled by its task
        # still counts until `waiting()` looks.
        self._watchers: dict[str, _Watcher | list[_Watcher]] = {}
        self._waiting = 0

    def get(self, op_id: str) -> Operation | None:
        """The operation `op_id`, or `None` if the service has never seen it."""
        return self._ops.get(op_id)

    def apply(self, operations: Iterable[Operation]) -> None:
        """Take in operations from a response, then resolve the watchers they satisfy."""
        woken: list[Operation] = []
        watchers = self._watchers
        compact = self._compact
        for op in operations:
            compact(op)
            if self._observer is not None:
                self._observer(self._ops.get(op.id), op)
            self._ops[op.id] = op
            if op.id in watchers:
                woken.append(op)
        for op in woken:
            entry = watchers.pop(op.id)
            keep = [w for w in _entries(entry) if not self._resolve(w, op)]
            if keep:
                watchers[op.id] = keep[0] if len(keep) == 1 else keep

    def _resolve(self, watcher: _Watcher, op: Operation) -> bool:
        """Resolve `watcher` if `op` satisfies it; whether it is done with."""
        cond, fut = watcher
        if fut.done():
            self._waiting -= 1
            return True
        if cond(op):
            fut.set_result(op)
            self._waiting -= 1
            return True
        return False

    def watch(self, op_id: str, cond: Condition) -> asyncio.Future[Operation]:
        """A future resolved with the operation once `cond` holds for it (maybe already)."""
        fut: asyncio.Future[Operation] = asyncio.get_running_loop().create_future()
        op = self._ops.get(op_id)
        if op is not None and cond(op):
            fut.set_result(op)
            return fut
        entry = self._watchers.get(op_id)
        if entry is None:
            self._watchers[op_id] = (cond, fut)
        elif isinstance(entry, list):
            entry.append((cond, fut))
        else:
            self._watchers[op_id] = [entry, (cond, fut)]
        self._waiting += 1
        return fut

    @property
    def may_wait(self) -> bool:
        """False when no watcher can be waiting; when true, `waiting()` tells for sure."""
        return self._waiting > 0

    def waiting(self) -> bool:
        """Whether any watcher is still waiting (those cancelled by their task are dropped)."""
        if not self._waiting:
            return False
        alive = 0
        for op_id, entry in list(self._watchers.items()):
            keep = [w for w in _entries(entry) if not w[1].done()]
            alive += len(keep)
            if not keep:
                del self._watchers[op_id]
            elif isinstance(entry, list) and len(keep) != len(entry):
                self._watchers[op_id] = keep[0] if len(keep) == 1 else keep
        self._waiting = alive
        return alive > 0

    def clear(self) -> None:
        """Forget every operation and watcher (the invocation has ended)."""
        self._ops.clear()
        self._watchers.clear()
        self._waiting = 0
        self._compact.clear()

    def is_watched(self, op_id: str) -> bool:
        """Whether a watcher of operation `op_id` is still waiting."""
        entry = self._watchers.get(op_id)
        return entry is not None and any(not fut.done() for _, fut in _entries(entry))

    def fail_watchers(self, exc: BaseException) -> None:
        """Resolve every watcher with `exc` (the invocation is ending)."""
        for entry in self._watchers.values():
            for _, fut in _entries(entry):
                if not fut.done():
                    fut.set_exception(exc)
        self._watchers.clear()
        self._waiting = 0


def _entries(entry: _Watcher | list[_Watcher]) -> list[_Watcher]:
    return entry if isinstance(entry, list) else [entry]
