"""Operation names, checked when an operation is called rather than when the service sees them.

The service takes names of 1 to 256 printable ASCII characters, `" "` to `"~"` (`OperationName`
in the Lambda API model: pattern `[\\x20-\\x7E]+`, length 1-256), and refuses a checkpoint that
carries any other. By then a step body has run and the execution fails in a way the handler
cannot catch; checking at the call raises `ValidationError` before any side effect instead.

The check runs for every named operation, so it costs almost nothing: a name seen valid before
is found in a small set (a hash the string has cached), and a new one takes C-speed string tests
(`str.isascii` reads a flag; for ASCII text `str.isprintable` is exactly `[\\x20-\\x7E]*`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ._errors import ValidationError
from ._limits import OPERATION_NAME

__all__ = ["MAX_NAME_LENGTH", "check_name", "check_names", "default_name", "is_valid_name"]

MAX_NAME_LENGTH = OPERATION_NAME.max
_SHOWN = 40  # characters of an over-long name quoted in the error
_ACCEPTED: set[str] = set()  # names already found valid: a pure function's cache
_ACCEPTED_LIMIT = 4096  # cleared when full, so unique per-item names cannot grow it for ever


def is_valid_name(name: object) -> bool:
    """Whether the service accepts `name` as an operation name."""
    return (
        isinstance(name, str)
        and 0 < len(name) <= MAX_NAME_LENGTH
        and name.isascii()
        and name.isprintable()
    )


def check_name(name: str | None, operation: str) -> None:
    """Raise `ValidationError` unless `name` is `None` or a name the service accepts.

    Args:
        name: the operation's name (`None`: unnamed, always fine).
        operation: what is being called, for the message (its sub-type, e.g. `"Step"`).
    """
    if name is None:
        return
    try:
        if name in _ACCEPTED:
            return
    except TypeError:  # unhashable, so not a str: refused below
        pass
    if not is_valid_name(name):
        raise ValidationError(_explain(name, operation))
    if len(_ACCEPTED) >= _ACCEPTED_LIMIT:
        _ACCEPTED.clear()
    _ACCEPTED.add(name)


def check_names(names: Iterable[str | None] | None, operation: str) -> None:
    """`check_name` for each of `names` (map and parallel items), or nothing for `None`."""
    if names is not None:
        for name in names:
            check_name(name, operation)


def _explain(name: object, operation: str) -> str:
    rule = (
        f"operation names are 1 to {MAX_NAME_LENGTH} printable ASCII characters "
        "(' ' to '~'); pass another name="
    )
    if not isinstance(name, str):
        return f"{operation} name {name!r} is a {type(name).__name__}, not a str: {rule}"
    shown = repr(name) if len(name) <= _SHOWN else f"{name[:_SHOWN]!r}... ({len(name)} characters)"
    if not name:
        problem = "is empty"
    elif len(name) > MAX_NAME_LENGTH:
        problem = f"is {len(name)} characters long"
    else:
        index, char = next((i, c) for i, c in enumerate(name) if not " " <= c <= "~")
        problem = f"has {char!r} (U+{ord(char):04X}) at index {index}"
    return f"{operation} name {shown} {problem}: {rule}"


def default_name(fn: Callable[..., Any]) -> str | None:
    """The name an operation running `fn` gets by default: `fn.__name__` (that of the wrapped
    function for a `functools.partial`), none for a lambda."""
    name = getattr(fn, "__name__", None)
    if name is None or name == "<lambda>":
        inner = getattr(fn, "func", None)  # functools.partial
        return default_name(inner) if inner is not None else None
    return str(name)
