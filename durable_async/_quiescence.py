"""What a task is blocked on: the one place that reads asyncio's private task state.

CPython keeps the future a task is suspended on in `Task._fut_waiter` (C and Python tasks alike)
and exposes it nowhere else. `tests/test_quiescence.py` fails loudly on an interpreter without it.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["STABLE_HOPS", "Quiescence", "is_blocked", "waiter_of"]

STABLE_HOPS = 2
"""Loop hops the picture must stay unchanged before the tasks count as parked for good."""


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


class Quiescence:
    """The tasks that run an invocation's handler code, and whether they are all parked.

    `look()` is called once a loop hop while suspension is possible. The tasks are parked for good
    when every one is blocked on a future that is not done, and that picture (each task and the
    future it waits on) stays the same for `STABLE_HOPS` consecutive looks: a completion can
    take a few hops to reach its waiter through gather, TaskGroup or asyncio.wait.

    Attributes:
        tasks: the tasks that have touched the execution's durable API (ended ones are dropped
            as they are seen).
    """

    __slots__ = ("_picture", "_stable", "tasks")

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()
        self._picture: list[Any] | None = None
        self._stable = 0

    def forget(self) -> None:
        """Something changed: the picture starts over."""
        self._picture = None

    def blocked(self) -> list[Any] | None:
        """What every task waits on, as `[task, future, ...]`; `None` if a task can run."""
        picture: list[Any] = []
        ended: list[asyncio.Task[Any]] = []
        for task in self.tasks:
            if task.done():
                ended.append(task)
                continue
            waiter = waiter_of(task)
            if waiter is None or waiter.done():
                self.tasks.difference_update(ended)
                self._picture = None
                return None
            picture.append(task)
            picture.append(waiter)
        self.tasks.difference_update(ended)
        return picture

    def settled(self, picture: list[Any]) -> bool:
        """Whether `picture` (from `blocked`) has now held for `STABLE_HOPS` looks."""
        if picture == self._picture:
            self._stable += 1
            return self._stable >= STABLE_HOPS
        self._picture, self._stable = picture, 0
        return False
