"""Fewer young-generation collections while invocations run (see `relaxed_gc`)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["GC_YOUNG_THRESHOLD", "relaxed_gc"]

GC_YOUNG_THRESHOLD = 10_000
"""The collector's first threshold while an invocation runs (CPython's default is 700)."""

_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] | None = None


@contextmanager
def relaxed_gc() -> Iterator[None]:
    """Collect young objects less often while invocations run; restore the thresholds after.

    An invocation's tasks, frames and operations live until it ends, so the collector finds
    nothing to free among them, yet with the default threshold it walks them after every 700
    allocations. Nested and concurrent invocations share one change; the thresholds are put
    back when the last one ends, unless something else changed them meanwhile.
    """
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            current = gc.get_threshold()
            if 0 < current[0] < GC_YOUNG_THRESHOLD:  # 0: automatic collection is off
                _gc_saved = current
                gc.set_threshold(GC_YOUNG_THRESHOLD, *current[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0 and _gc_saved is not None:
                if gc.get_threshold() == (GC_YOUNG_THRESHOLD, *_gc_saved[1:]):
                    gc.set_threshold(*_gc_saved)
                _gc_saved = None
