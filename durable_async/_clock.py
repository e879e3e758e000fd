"""Clocks: the wall clock, and a manual clock whose time tests and the local runner skip."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Time as a durable backend sees it, in seconds since the epoch."""

    def now(self) -> float:
        """Current time, seconds since the epoch."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Return once `now() >= deadline`."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        """Current wall-clock time."""
        return time.time()

    async def sleep_until(self, deadline: float) -> None:
        """Sleep on the event loop until the wall clock reaches `deadline`."""
        delay = deadline - time.time()
        if delay > 0:
            await asyncio.sleep(delay)


class ManualClock:
    """A clock that only moves when told to: `advance()` or `advance_to()`.

    Sleepers wake when the clock passes their deadline. The local runner uses it to skip the time a
    suspended execution would wait, so a workflow with hour-long waits runs in milliseconds.

    Example:
        ```python
        clock = ManualClock(start=0.0)
        clock.advance(30)  # wakes every sleeper whose deadline is <= 30
        ```
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        """Current time of this clock."""
        return self._now

    async def sleep_until(self, deadline: float) -> None:
        """Wait until the clock is advanced to `deadline` or past it."""
        if deadline <= self._now:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._seq), fut))
        await fut

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds` and wake the sleepers that are due."""
        self.advance_to(self._now + seconds)

    def advance_to(self, when: float) -> None:
        """Move time forward to `when` (never backwards) and wake the sleepers that are due."""
        self._now = max(self._now, when)
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.set_result(None)
