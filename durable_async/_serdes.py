"""Serialisation of checkpoint payloads: plain JSON, with Python's richer values in an envelope.

Wire format of the default `JsonSerdes`:

- **Plain JSON stays plain.** A value made only of `dict`, `list`, `str`, `int`, `float`,
  `bool` and `None` is written exactly as `json.dumps(value, separators=(",", ":"))` writes it
  (`"x"` as `"x"`, `{"a": 1}` as `{"a":1}`). `None` is stored as no payload.
- **The envelope only where plain JSON cannot say what a value is.** A `datetime`, `date`,
  `Decimal`, `UUID`, `bytes` (or `bytearray`, `memoryview`) or `tuple` is written in the
  official Python SDK's envelope, `{"t": tag, "v": value}`, with its tags: `dt` (ISO 8601),
  `D` (ISO date), `d` (the decimal's string), `u` (the UUID's string), `B` (base64), `t` (a
  list of elements). Every list (`l`) and dictionary (`m`) on the way from the top down to such
  a value is tagged as well; the rest stays plain inside the envelope, except a JSON object
  holding both a `"t"` and a `"v"` key, which is wrapped as `m` so it is not read as a tag. A
  top-level dictionary that would read as an envelope (exactly the keys `"t"` and `"v"`, `"t"`
  a known tag) is wrapped the same way. These values decode back to themselves without a
  `result_type`, and the official SDK's decoder reads them to the same Python value; its
  encoder's payloads (every value tagged, `n s i f b` included) decode here too.
- **Everything else is its JSON form**, and comes back as that JSON unless a type is declared:
  a `time` as its ISO string, a `set` or `frozenset` as a list, an enum member as its value, a
  dataclass (or `TypedDict`) as an object of its fields (those fields follow the rules above),
  a pydantic model as `model.model_dump(mode="json")`.

A declared type turns the decoded value back into the Python one: the `result_type` of an
operation, or else the return annotation of a step's function (`return_type`). It is validated
by a pydantic `TypeAdapter`, on first run and on replay alike (`round_trip`).

A value no supported type covers raises `SerdesError` naming its type.
"""

from __future__ import annotations

import functools
import json
import typing
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from ._errors import SerdesError
from ._serdes_types import decode, encode

__all__ = ["JsonSerdes", "Serdes", "return_type", "round_trip"]


@runtime_checkable
class Serdes(Protocol):
    """Turns values into checkpoint payloads and back."""

    def serialize(self, value: Any) -> str | None:
        """Return the payload for `value` (`None` means no payload)."""
        ...

    def deserialize(self, payload: str | None, result_type: Any = None) -> Any:
        """Return the value of `payload`, validated as `result_type` when one is given."""
        ...


_loads = json.JSONDecoder().decode


@lru_cache(maxsize=256)
def _adapter(result_type: Any) -> TypeAdapter[Any]:
    return TypeAdapter(result_type)


class JsonSerdes:
    """JSON, plain for plain values (`"x"` checkpoints as `"x"`), an envelope for richer ones.

    `None` is stored as no payload. `datetime`, `date`, `Decimal`, `UUID`, `bytes` and tuples
    come back as themselves; a `time`, set, enum, dataclass, `TypedDict` or pydantic model comes
    back as its JSON form unless a `result_type` is given. With a `result_type`, the decoded
    value is validated by pydantic, so a step declaring `result_type=Order` gets an `Order` back
    on first run and on replay alike.
    """

    def serialize(self, value: Any) -> str | None:
        """Encode `value` as compact JSON."""
        if value is None:
            return None
        try:
            return encode(value)
        except (TypeError, ValueError, RecursionError) as exc:
            raise SerdesError(f"cannot serialise result: {exc}") from exc

    def deserialize(self, payload: str | None, result_type: Any = None) -> Any:
        """Decode `payload`; validate it as `result_type` if given."""
        if payload is None:
            value: Any = None
        else:
            try:
                value = _loads(payload)
            except ValueError as exc:
                raise SerdesError(f"payload is not valid JSON: {exc}") from exc
            if type(value) is dict and len(value) == 2:  # only then can it be an envelope
                value = decode(value)
        if result_type is None or result_type is Any:
            return value
        try:
            return _adapter(result_type).validate_python(value)
        except PydanticValidationError as exc:
            raise SerdesError(f"payload does not match {result_type!r}: {exc}") from exc


def round_trip(serdes: Serdes, value: Any, result_type: Any, what: str) -> tuple[str | None, Any]:
    """Serialise `value` for a checkpoint and decode it back as replay will see it.

    Raises:
        SerdesError: naming `what`, whatever the serdes raised. Re-running the code that produced
            the value would fail the same way, so callers record it as the operation's error.
    """
    try:
        payload = serdes.serialize(value)
        return payload, serdes.deserialize(payload, result_type)
    except Exception as exc:
        raise SerdesError(f"the result of {what} cannot be checkpointed: {exc}") from exc


# Annotations that say nothing a value needs to be validated into, or that pydantic would turn
# into a lazy iterator rather than the value itself.
_UNTYPED: frozenset[Any] = frozenset({Any, object})
_LAZY: frozenset[Any] = frozenset({Iterable, Iterator, AsyncIterable, AsyncIterator, Awaitable})


def return_type(fn: Callable[..., Any]) -> Any:
    """The return annotation of `fn` as a type its result can be validated into, else `None`.

    Looks through `functools.partial` and bound methods. `None` when there is no annotation
    (lambdas), when it cannot be resolved or pydantic cannot validate it, and for `Any`,
    `object` and iterator types.
    """
    while isinstance(fn, functools.partial):
        fn = fn.func
    fn = getattr(fn, "__func__", fn)
    annotations = getattr(fn, "__annotations__", None)
    if not isinstance(annotations, dict) or "return" not in annotations:
        return None
    try:
        return _resolved_return_type(fn)
    except TypeError:  # not hashable
        return None


@lru_cache(maxsize=512)
def _resolved_return_type(fn: Callable[..., Any]) -> Any:
    try:
        hint = typing.get_type_hints(fn)["return"]
    except Exception:  # unresolvable forward references and the like
        return None
    if hint in _UNTYPED or hint in _LAZY or typing.get_origin(hint) in _LAZY:
        return None
    try:
        _adapter(hint)
    except Exception:  # a type pydantic has no schema for
        return None
    return hint
