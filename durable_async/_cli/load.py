"""Finding the handler a `FILE.py:HANDLER` or `MODULE:HANDLER` target names, with errors that
point at the user's own file and line rather than at the import machinery."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

from .._handler import DurableHandler, durable_execution
from .._traceback import is_plumbing

__all__ = ["CliError", "UserCodeError", "load_handler", "load_object", "user_frames", "where"]

_PACKAGE = str(Path(__file__).resolve().parent.parent) + os.sep


class CliError(Exception):
    """A mistake in how the command was called: printed as one message, exit status 2."""


class UserCodeError(CliError):
    """The user's module failed while being imported: the message and their frames."""


def where(obj: Any) -> str:
    """`file:line` of a function's definition (relative to the current directory if inside)."""
    fn = inspect.unwrap(obj)
    try:
        file = inspect.getsourcefile(fn) or "?"
        line = inspect.getsourcelines(fn)[1]
    except (OSError, TypeError):
        return "?"
    return f"{_relative(file)}:{line}"


def _relative(file: str) -> str:
    try:
        return os.path.relpath(file)
    except ValueError:  # another drive
        return file


def user_frames(tb: TracebackType | None) -> list[str]:
    """The frames of a traceback that are the user's, outermost first: what recorded stack
    traces leave out (the import machinery, the standard library, ours) is left out here too."""
    frames = [frame for frame in traceback.extract_tb(tb) if not is_plumbing(frame.filename)]
    for frame in frames:
        frame.filename = _relative(frame.filename)
    return traceback.format_list(frames)


def load_handler(target: str) -> DurableHandler[Any, Any]:
    """The durable handler `target` names; an `async def` is made durable on the fly.

    Raises:
        CliError: the target is malformed, missing, or not a handler.
        UserCodeError: importing the user's module raised.
    """
    handler = load_object(target)
    if isinstance(handler, DurableHandler):
        return handler
    if inspect.iscoroutinefunction(inspect.unwrap(handler)):
        return durable_execution(handler)
    kind = "a plain (non-async) function" if callable(handler) else type(handler).__name__
    path = target.rpartition(":")[0]
    raise CliError(
        f"{target} is {kind} ({where(handler) if callable(handler) else path}): a handler is "
        "an `async def handler(event, ctx)` decorated with @durable_execution"
    )


def load_object(target: str) -> Any:
    """Whatever `target` (`FILE.py:NAME` or `MODULE:NAME`) names.

    Raises:
        CliError: the target is malformed or missing.
        UserCodeError: importing the user's module raised.
    """
    path, sep, attr = target.rpartition(":")
    if not sep or not path or not attr:
        raise CliError(
            f"expected FILE.py:HANDLER or MODULE:HANDLER, got {target!r} "
            "(for example examples/order.py:handler)"
        )
    module = _import_file(path) if path.endswith(".py") or "/" in path else _import(path)
    handler = getattr(module, attr, None)
    if handler is None:
        found = [name for name, value in vars(module).items() if isinstance(value, DurableHandler)]
        hint = f"; durable handlers there: {', '.join(found)}" if found else ""
        raise CliError(f"{path} has no attribute {attr!r}{hint}")
    return handler


def _import_file(path: str) -> ModuleType:
    file = Path(path)
    if not file.is_file():
        raise CliError(f"no such file: {path}")
    spec = importlib.util.spec_from_file_location(file.stem, file)
    if spec is None or spec.loader is None:
        raise CliError(f"cannot import {path}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[file.stem] = module
    sys.path.insert(0, str(file.parent.resolve()))
    loader = spec.loader
    _run_user_code(lambda: loader.exec_module(module), path)
    return module


def _import(name: str) -> ModuleType:
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)  # `module:handler` is found in the current directory, as `-m`
    try:
        module: ModuleType = _run_user_code(lambda: importlib.import_module(name), name)
        return module
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise CliError(
                f"no module named {name!r} in the current directory or on sys.path "
                f"(for a file, write {name.replace('.', '/')}.py:HANDLER)"
            ) from None
        raise


def _run_user_code(load: Any, path: str) -> Any:
    try:
        return load()
    except SyntaxError as exc:
        line = (exc.text or "").rstrip("\n")
        caret = " " * max((exc.offset or 1) - 1 - (len(line) - len(line.lstrip())), 0) + "^"
        shown = f"\n    {line.strip()}\n    {caret}" if line.strip() else ""
        raise CliError(
            f"{_relative(exc.filename or path)}:{exc.lineno}: SyntaxError: {exc.msg}{shown}"
        ) from None
    except ModuleNotFoundError as exc:
        if exc.name is not None and not user_frames(exc.__traceback__):
            raise  # the target module itself is missing: the caller words it
        raise _user_error(exc, path) from None
    except Exception as exc:
        raise _user_error(exc, path) from None


def _user_error(exc: BaseException, path: str) -> UserCodeError:
    frames = "".join(user_frames(exc.__traceback__)).rstrip()
    return UserCodeError(
        f"importing {path} raised {type(exc).__name__}: {exc}\n"
        f"Traceback (your code, most recent call last):\n{frames}"
    )
