"""Where a failure happened, as the `StackTrace` entries of an `ErrorObject`.

The service stores `StackTrace` as a list of strings and publishes no bound on it, nor on
`ErrorType`, `ErrorMessage` or `ErrorData` (botocore's `lambda` model, 2015-03-31, gives the
shapes no `max`). What does bound an error is where it travels: inside a checkpoint request
(at most 750 KiB and 250 updates, so about 3 KiB an update when a batch is full), in the
operation's state read back on every replay, and in the Lambda response (6 MB). So we keep it
small ourselves: the limits below are ours, chosen so one error costs a few KiB at most.

`stack_trace` runs on every failed step attempt: it walks the traceback (cheap), classifies each
file once (cached), and reads source lines only for the frames it keeps.
"""

from __future__ import annotations

import functools
import linecache
import os
from collections.abc import Iterator
from types import TracebackType

__all__ = [
    "is_plumbing",
    "MAX_CHAINED",
    "MAX_ENTRY_BYTES",
    "MAX_MESSAGE_BYTES",
    "MAX_STACK_BYTES",
    "MAX_STACK_ENTRIES",
    "MAX_TYPE_BYTES",
    "clip",
    "clip_stack",
    "stack_trace",
]

MAX_STACK_ENTRIES = 20
"""At most this many `StackTrace` entries (the last may say how many frames were left out)."""
MAX_ENTRY_BYTES = 512
"""At most this many UTF-8 bytes in one entry (a frame's location and its source line)."""
MAX_STACK_BYTES = 4096
"""At most this many UTF-8 bytes in all entries together."""
MAX_MESSAGE_BYTES = 32 * 1024
"""At most this many UTF-8 bytes of `ErrorMessage`."""
MAX_TYPE_BYTES = 256
"""At most this many UTF-8 bytes of `ErrorType` and of `ErrorData` (which holds a type name)."""
MAX_CHAINED = 3
"""At most this many chained exceptions (`__cause__`, else `__context__`) after the first."""

_CUT = " [truncated]"
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def clip(text: str, limit: int) -> str:
    """`text`, cut to at most `limit` UTF-8 bytes; a cut text ends with `" [truncated]"`."""
    if len(text) <= limit // 4 or _utf8_len(text) <= limit:
        return text
    head = text[:limit].encode("utf-8", "surrogatepass")[: max(limit - len(_CUT), 0)]
    return head.decode("utf-8", "ignore") + _CUT


def clip_stack(entries: list[str] | None) -> list[str]:
    """Recorded entries (possibly from another SDK), cut to the limits: each entry, their
    number and their total size."""
    out: list[str] = []
    total = 0
    for entry in entries or ():
        entry = clip(entry, MAX_ENTRY_BYTES)
        size = _utf8_len(entry)
        if len(out) == MAX_STACK_ENTRIES or total + size > MAX_STACK_BYTES:
            break
        out.append(entry)
        total += size
    return out


@functools.lru_cache(maxsize=1024)
def is_plumbing(filename: str) -> bool:
    """Whether frames of `filename` are plumbing: this package, anyio, the standard library
    (asyncio, threading, concurrent.futures, ...) or a frozen bootstrap module."""
    if filename.startswith(("<frozen ", _PACKAGE)):
        return True
    stdlib, anyio = _plumbing_dirs()
    if anyio and filename.startswith(anyio):
        return True
    return filename.startswith(stdlib) and "-packages" + os.sep not in filename


@functools.cache
def _plumbing_dirs() -> tuple[str, str | None]:
    import anyio

    stdlib = os.path.dirname(os.path.abspath(os.__file__)) + os.sep
    anyio_file = getattr(anyio, "__file__", None)
    anyio_dir = os.path.dirname(os.path.abspath(anyio_file)) + os.sep if anyio_file else None
    return stdlib, anyio_dir


_Frame = tuple[str, int | None, str]  # (filename, line number, function name)


def _frames(tb: TracebackType | None, *, fallback: bool) -> list[_Frame]:
    """The frames of `tb`, innermost first, plumbing left out (all of them are kept when
    `fallback` is set and none is left)."""
    frames: list[_Frame] = []
    while tb is not None:
        code = tb.tb_frame.f_code
        frames.append((code.co_filename, tb.tb_lineno, code.co_name))
        tb = tb.tb_next
    frames.reverse()
    user = [frame for frame in frames if not is_plumbing(frame[0])]
    return user if user or not fallback else frames


def _chain(exc: BaseException) -> Iterator[tuple[str | None, list[_Frame]]]:
    """(header, frames) of `exc` and of up to `MAX_CHAINED` exceptions chained to it."""
    yield None, _frames(exc.__traceback__, fallback=True)
    seen = {id(exc)}
    for _ in range(MAX_CHAINED):
        if exc.__cause__ is not None:
            nxt, how = exc.__cause__, "caused by"
        elif exc.__context__ is not None and not exc.__suppress_context__:
            nxt, how = exc.__context__, "raised while handling"
        else:
            return
        if id(nxt) in seen:
            return
        seen.add(id(nxt))
        exc = nxt
        try:
            text = str(exc)
        except Exception:  # a broken __str__ must not hide the error being recorded
            text = "<unprintable>"
        header = f"{how} {type(exc).__name__}: {text}" if text else f"{how} {type(exc).__name__}"
        yield header, _frames(exc.__traceback__, fallback=False)


def _entry(frame: _Frame, cwd: str) -> str:
    filename, lineno, name = frame
    shown = filename[len(cwd) :] if cwd and filename.startswith(cwd) else filename
    entry = f'File "{shown}", line {lineno if lineno is not None else "?"}, in {name}'
    source = linecache.getline(filename, lineno).strip() if lineno else ""
    return f"{entry}\n    {source}" if source else entry


def stack_trace(exc: BaseException) -> list[str]:
    """The `StackTrace` entries recording where `exc` was raised.

    One entry per frame, as Python's traceback prints it (`File "app.py", line 12, in charge`,
    then the source line on a second line), **innermost first**: the first entry is where the
    error was raised, so cutting the list to its limits keeps what matters most. Paths under
    the working directory (the task root on Lambda) are shown relative to it.

    Frames of durable_async itself, of anyio and of the standard library (asyncio, threads)
    are left out, unless the exception has no other frame (an error raised by the runtime on
    its own). A run of identical frames (deep recursion) becomes one entry and a count.
    Chained exceptions (`raise ... from`, else an exception raised while handling another)
    follow, up to `MAX_CHAINED` of them, each under a header such as
    `caused by KeyError: 'sku'`, with their own frames (plumbing left out, no fallback).

    The result holds at most `MAX_STACK_ENTRIES` entries of at most `MAX_ENTRY_BYTES` each and
    `MAX_STACK_BYTES` in all; when frames are left out the last entry says how many.
    """
    try:
        cwd = os.getcwd() + os.sep
    except OSError:
        cwd = ""
    # (header or frame, how many frames it stands for): cheap tuples, formatted only if kept
    items: list[tuple[str | _Frame, int]] = []
    for header, frames in _chain(exc):
        if header is not None:
            items.append((header, 0))
        i = 0
        while i < len(frames):
            j = i + 1
            while j < len(frames) and frames[j] == frames[i]:
                j += 1
            items.append((frames[i], 1))
            if j > i + 1:
                items.append((f"[the frame above repeated {j - i - 1} more times]", j - i - 1))
            i = j
    out: list[str] = []
    total = 0
    for k, (item, _) in enumerate(items):
        entry = clip(item if isinstance(item, str) else _entry(item, cwd), MAX_ENTRY_BYTES)
        size = _utf8_len(entry)
        last = k == len(items) - 1  # no closing marker needed after it
        room = 0 if last else 1
        if len(out) + 1 + room > MAX_STACK_ENTRIES or total + size + room * 64 > MAX_STACK_BYTES:
            omitted = sum(n for _, n in items[k:])
            out.append(f"... cut here: {omitted} more frame(s)" if omitted else "... cut here")
            break
        out.append(entry)
        total += size
    return out
