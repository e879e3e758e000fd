"""The JSON form of the default serdes: plain JSON as is, richer values in a typed envelope.

See `durable_async._serdes` for the wire format and when the envelope is used. `encode` turns a
Python value into JSON text; `decode` turns the parsed JSON back into Python values.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from ._errors import SerdesError

__all__ = ["decode", "encode"]

# The same settings as `json.dumps(value, separators=(",", ":"))`, built once.
_ENCODER = json.JSONEncoder(separators=(",", ":"))
_dumps = _ENCODER.encode
_SCALARS = frozenset({str, int, float, bool, type(None)})

_T = "t"
_V = "v"


def _tag(tag: str, value: Any) -> dict[str, Any]:
    return {_T: tag, _V: value}


def _is_plain(value: Any) -> bool:
    """Whether `value` is JSON made of the built-in types only (no subclasses, no tuples)."""
    kind = type(value)
    if kind is dict:
        items = value.values()
    elif kind is list:
        items = value
    else:
        return kind in _SCALARS
    scalars = _SCALARS
    for item in items:
        if type(item) in scalars or _is_plain(item):
            continue
        return False
    return True


def _looks_tagged(node: Any) -> bool:
    """Whether a JSON object inside an envelope would be read as a tagged value."""
    return type(node) is dict and _T in node and _V in node


def _looks_like_envelope(node: Any) -> bool:
    """Whether a top-level JSON object would be read as an envelope."""
    if type(node) is not dict or len(node) != 2 or _T not in node or _V not in node:
        return False
    tag = node[_T]
    return type(tag) is str and tag in _DECODERS


def _escape(node: Any) -> Any:
    """Untagged JSON placed inside an envelope, wrapped where it would read as a tag."""
    if not _looks_tagged(node):
        return node
    return _tag("m", {key: _escape(item) for key, item in node.items()})


class _TaggedDict(dict[str, Any]):
    """An envelope built by the encoder (so it is told apart from user data)."""


def _envelope(tag: str, value: Any) -> _TaggedDict:
    node = _TaggedDict()
    node[_T] = tag
    node[_V] = value
    return node


def _wrap(node: Any) -> Any:
    """A child node as it sits inside an envelope: envelopes as they are, data escaped."""
    return node if type(node) is _TaggedDict else _escape(node)


def _encode_items(items: Any) -> tuple[list[Any], bool]:
    nodes = [_encode(item) for item in items]
    return nodes, any(type(node) is _TaggedDict for node in nodes)


def _encode(value: Any) -> Any:
    """The JSON form of `value`; a `_TaggedDict` when it needs the envelope."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if isinstance(value, Enum):
        return _encode(value.value)
    if isinstance(value, (str, int, float)):
        return value  # a subclass: written as the built-in value, as json does
    if isinstance(value, dict):
        nodes = {key: _encode(item) for key, item in value.items()}
        if any(type(node) is _TaggedDict for node in nodes.values()):
            return _envelope("m", {key: _wrap(node) for key, node in nodes.items()})
        return nodes
    if isinstance(value, list | set | frozenset):
        items, tagged = _encode_items(value)
        return _envelope("l", [_wrap(node) for node in items]) if tagged else items
    if isinstance(value, tuple):
        items, _ = _encode_items(value)
        return _envelope("t", [_wrap(node) for node in items])
    encoder = _LEAVES.get(kind) or next(
        (enc for base, enc in _LEAVES.items() if isinstance(value, base)), None
    )
    if encoder is not None:
        return encoder(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if hasattr(kind, "__pydantic_serializer__"):  # a pydantic dataclass
        return to_jsonable_python(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _encode({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    raise TypeError(f"{kind.__name__} is not JSON serialisable")


def _bytes(value: bytes | bytearray | memoryview) -> _TaggedDict:
    return _envelope("B", base64.b64encode(bytes(value)).decode("ascii"))


# Leaf types, most specific first (datetime is a date).
_LEAVES: dict[type, Callable[[Any], Any]] = {
    dt.datetime: lambda value: _envelope("dt", value.isoformat()),
    dt.date: lambda value: _envelope("D", value.isoformat()),
    dt.time: lambda value: value.isoformat(),
    Decimal: lambda value: _envelope("d", str(value)),
    uuid.UUID: lambda value: _envelope("u", str(value)),
    bytes: _bytes,
    bytearray: _bytes,
    memoryview: _bytes,
}


def encode(value: Any) -> str:
    """JSON text for `value`: plain JSON as `json.dumps` writes it, the envelope where needed.

    Raises:
        TypeError: naming the type of a value no supported type covers.
        ValueError: for a circular reference.
    """
    kind = type(value)
    if kind in _SCALARS or (
        (kind is dict or kind is list) and _is_plain(value) and not _looks_like_envelope(value)
    ):
        return _dumps(value)
    node = _encode(value)
    if type(node) is not _TaggedDict and _looks_like_envelope(node):
        node = _tag("m", {key: _escape(item) for key, item in node.items()})
    return _dumps(node)


# -- decoding -------------------------------------------------------------------------------


def _unwrap(node: Any) -> Any:
    """A node inside an envelope: a tagged value decoded, anything else as it is."""
    if type(node) is dict and _T in node and _V in node:
        tag = node[_T]
        decoder = _DECODERS.get(tag) if type(tag) is str else None
        if decoder is None:
            raise ValueError(f"unknown type tag {tag!r}")
        return decoder(node[_V])
    return node


def _list(value: Any) -> list[Any]:
    if type(value) is not list:
        raise ValueError(f"expected a JSON array, got {type(value).__name__}")
    return [_unwrap(item) for item in value]


def _dict(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return {key: _unwrap(item) for key, item in value.items()}


def _datetime(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)


def _from_base64(value: str) -> bytes:
    return base64.b64decode(value.encode("ascii"), validate=True)


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "n": lambda value: None,
    "s": str,
    "i": int,
    "f": float,
    "b": bool,
    "B": _from_base64,
    "u": uuid.UUID,
    "d": Decimal,
    "dt": _datetime,
    "D": dt.date.fromisoformat,
    "t": lambda value: tuple(_list(value)),
    "l": _list,
    "m": _dict,
    "br": _dict,  # the official SDK's batch result: read as its dictionary form
}


def decode(node: Any) -> Any:
    """The Python value of parsed JSON: an envelope decoded, plain JSON as it is.

    Raises:
        SerdesError: for a malformed envelope.
    """
    if not _looks_like_envelope(node):
        return node
    try:
        return _DECODERS[node[_T]](node[_V])
    except (ValueError, TypeError, AttributeError, ArithmeticError) as exc:
        raise SerdesError(f"malformed {node[_T]!r} envelope: {exc}") from exc
