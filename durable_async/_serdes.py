"""Serialisation of checkpoint payloads: plain JSON, with pydantic models first-class."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from ._errors import SerdesError

__all__ = ["JsonSerdes", "Serdes", "round_trip"]


@runtime_checkable
class Serdes(Protocol):
    """Turns values into checkpoint payloads and back."""

    def serialize(self, value: Any) -> str | None:
        """Return the payload for `value` (`None` means no payload)."""
        ...

    def deserialize(self, payload: str | None, result_type: Any = None) -> Any:
        """Return the value of `payload`, validated as `result_type` when one is given."""
        ...


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@lru_cache(maxsize=256)
def _adapter(result_type: Any) -> TypeAdapter[Any]:
    return TypeAdapter(result_type)


class JsonSerdes:
    """Plain JSON (`"x"` checkpoints as `"x"`); pydantic models dump as their JSON form.

    `None` is stored as no payload. With a `result_type`, the decoded JSON is validated by pydantic,
    so a step declaring `result_type=Order` gets an `Order` back on first run and on replay alike.
    """

    def serialize(self, value: Any) -> str | None:
        """Encode `value` as compact JSON."""
        if value is None:
            return None
        try:
            return json.dumps(value, separators=(",", ":"), default=_default)
        except (TypeError, ValueError) as exc:
            raise SerdesError(f"cannot serialise result: {exc}") from exc

    def deserialize(self, payload: str | None, result_type: Any = None) -> Any:
        """Decode `payload`; validate it as `result_type` if given."""
        if payload is None:
            value: Any = None
        else:
            try:
                value = json.loads(payload)
            except ValueError as exc:
                raise SerdesError(f"payload is not valid JSON: {exc}") from exc
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
