"""Sharing between the frozen wire models of one invocation, to keep large histories small.

It reads and writes two pydantic v2 internals (`__pydantic_fields_set__` and the instance
`__dict__` of a frozen model), which is why the package bounds pydantic below 3.
"""

from __future__ import annotations

from typing import Any, get_args

from pydantic import BaseModel

__all__ = ["Compactor"]

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
