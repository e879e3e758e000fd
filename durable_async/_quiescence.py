"""What a task is blocked on: the one place that reads asyncio's private task state.

CPython keeps the future a task is suspended on in `Task._fut_waiter` (C and Python tasks alike)
and exposes it nowhere else. `tests/test_quiescence.py` fails loudly on an interpreter without it.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["is_blocked", "waiter_of"]


def waiter_of(task: asyncio.Task[Any]) -> asyncio.Future[Any] | None:
    """The future `task` is suspended on, or `None` when it is runnable (or running)."""
    waiter: asyncio.Future[Any] | None = task._fut_waiter  # type: ignore[attr-defined]
    return waiter


def is_blocked(task: asyncio.Task[Any]) -> bool:
    """True when `task` waits on a future that is not done yet: it cannot run now.

    A task whose future is done but whose wake-up is still queued is runnable, not blocked.
    """
    if task.done():
        return False
    waiter = waiter_of(task)
    return waiter is not None and not waiter.done()
