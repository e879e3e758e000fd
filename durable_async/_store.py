"""The operation store of one invocation: the service's view of every operation, by id."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any, get_args

from pydantic import BaseModel

from ._models import Operation

__all__ = ["Compactor", "OperationStore"]

Condition = Callable[[Operation], bool]

_FIELD_SETS: dict[frozenset[str], set[str]] = {}
_SHAPES: dict[type[BaseModel], _Shape] = {}


class Compactor:
    """Makes the frozen wire models of one invocation share what equal models can share.

    pydantic gives every instance a set of the names it was built with, which for an operation is
    a larger object than the rest of it: models built with the same names share one set here
    (nothing adds to it, the models being frozen; `model_copy` copies it before changing it).
    And a nested model whose fields hold only `None`, booleans and integers (the empty
    `ContextDetails` of a started context, `StepDetails(attempt=0)`,
    `WaitOptions(wait_seconds=60)`) is replaced by an equal one seen before. The models are
    frozen, so the sharing shows only in object identity.
    """

    def __init__(self) -> None:
        self._equal: dict[tuple[Any, ...], BaseModel] = {}

    def __call__(self, model: BaseModel) -> None:
        cls = type(model)
        shape = _SHAPES.get(cls)
        if shape is None:
            shape = _SHAPES.setdefault(cls, _Shape(_submodel_fields(cls)))
        names = model.__pydantic_fields_set__
        key = frozenset(names)
        shared = _FIELD_SETS.get(key)
        if shared is None:
            shared = _FIELD_SETS.setdefault(key, set(names))
        if shared is not names:
            object.__setattr__(model, "__pydantic_fields_set__", shared)
        if shape.nested:
            values = model.__dict__
            for name in shape.nested:
                value = values[name]
                if value is not None:
                    values[name] = self._nested(value)

    def _nested(self, model: BaseModel) -> BaseModel:
        self(model)
        fields = tuple(model.__dict__.values())
        for value in fields:
            if value is not None and type(value) is not int and type(value) is not bool:
                return model
        return self._equal.setdefault((type(model), *fields), model)

    def clear(self) -> None:
        """Forget the models seen so far."""
        self._equal.clear()


class _Shape:
    """What the compactor knows of a model class: the fields that can hold a model."""

    __slots__ = ("nested",)

    def __init__(self, nested: tuple[str, ...]) -> None:
        self.nested = nested


def _submodel_fields(cls: type[BaseModel]) -> tuple[str, ...]:
    """The fields of `cls` that can hold a model (`X | None` with `X` a model)."""
    return tuple(
        name
        for name, info in cls.model_fields.items()
        if any(
            isinstance(arg, type) and issubclass(arg, BaseModel)
            for arg in (info.annotation, *get_args(info.annotation))
        )
    )


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
