"""Clocks: the wall clock, and a manual clock whose time tests and the local runner skip."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

from ._lineage import spawn

__all__ = ["Clock", "Deadline", "ManualClock", "SkippingClock", "SystemClock", "run_until"]

T = TypeVar("T")


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


class SkippingClock:
    """The wall clock, moved forward whenever a waiting execution has nothing to wait for but
    time: the local server's `--skip-time` clock.

    Time runs as on the wall clock; `advance_to()` jumps it forward (never back) and wakes the
    sleepers that are then due, so the history's timestamps stay in order and durations stay
    real, minus the time skipped.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._moved: set[asyncio.Future[None]] = set()

    def now(self) -> float:
        """The wall clock plus the time skipped so far."""
        return time.time() + self._offset

    async def sleep_until(self, deadline: float) -> None:
        """Return once `now() >= deadline`, by the wall clock or by a skip."""
        loop = asyncio.get_running_loop()
        while (delay := deadline - self.now()) > 0:
            moved: asyncio.Future[None] = loop.create_future()
            self._moved.add(moved)
            try:
                await asyncio.wait([moved], timeout=delay)
            finally:
                self._moved.discard(moved)

    def advance_to(self, when: float) -> None:
        """Jump forward to `when` (if it is ahead) and wake the sleepers."""
        self._offset = max(self._offset, when - time.time())
        for moved in list(self._moved):
            if not moved.done():
                moved.set_result(None)


@dataclass(frozen=True)
class Deadline:
    """The time limits of one Lambda invocation, on a `Clock`.

    Attributes:
        stop: when handler code stops (Lambda's remaining time less a safety margin).
        end: when Lambda itself stops the invocation.
    """

    stop: float
    end: float

    @property
    def flush_by(self) -> float:
        """The last moment to wait for checkpoints in flight: half-way through the margin."""
        return self.stop + (self.end - self.stop) / 2

    @property
    def return_by(self) -> float:
        """The last moment to wait for anything (cleanup, plugin hooks) before returning."""
        return self.end - (self.end - self.stop) / 4


async def run_until(
    aw: Coroutine[Any, Any, T], clock: Clock, until: float | None, overtime: Callable[[], Exception]
) -> T:
    """Await `aw`; if `clock` reaches `until` first, cancel it and raise `overtime()`.

    With `until=None`, simply await `aw`. The abandoned work is cancelled but not waited for:
    whatever hangs (a request, a hook that ignores cancellation) cannot hold the caller.
    """
    if until is None:
        return await aw
    work = spawn(aw, detached=True)
    timer = spawn(clock.sleep_until(until), detached=True)
    try:
        await asyncio.wait((work, timer), return_when=asyncio.FIRST_COMPLETED)
    finally:
        timer.cancel()
        if not work.done():
            work.cancel()
    if not work.done() or work.cancelled():
        raise overtime()
    return work.result()
