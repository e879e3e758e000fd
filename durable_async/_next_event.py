"""When the local runner invokes a suspended execution again: its next-event policies."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from ._backends.memory.service import MemoryBackend
from ._clock import ManualClock, SkippingClock

__all__ = ["NextEvent", "SkipToNextEvent"]

NextEvent = Callable[[MemoryBackend, str], Awaitable[None]]
"""`await next_event(backend, arn)`: returns when execution `arn`, suspended with nothing new
since its last invocation, should be invoked again."""


class SkipToNextEvent:
    """The local runner's default next-event policy: skip the clock to the next timer, or wait
    for something outside to happen.

    When the execution has a timer (a wait, a retry delay) and the backend's clock is a
    `ManualClock` (or the local server's `SkippingClock`), the clock moves to the timer at
    once, so hours of waiting take no time.
    Otherwise it waits for a change (a callback answered, a chained invoke's result) or for the
    next callback timeout to come due on the clock.

    Args:
        callback_grace: how many seconds of real time to wait for a change before skipping the
            clock to the next callback timeout (default `None`: wait for the change, or for a
            test to advance the clock).
    """

    def __init__(self, callback_grace: float | None = None) -> None:
        self.callback_grace = callback_grace

    async def __call__(self, backend: MemoryBackend, arn: str) -> None:
        """Return once execution `arn` should be invoked again."""
        clock = backend.clock
        wake = backend.next_wake_time(arn, callbacks=False)
        if wake is not None and isinstance(clock, ManualClock | SkippingClock):
            clock.advance_to(wake)
            return
        waiters: list[asyncio.Future[Any]] = [backend.changed(arn)]
        deadline = backend.next_wake_time(arn)
        if deadline is not None:
            waiters.append(asyncio.ensure_future(clock.sleep_until(deadline)))
        try:
            done, _ = await asyncio.wait(
                waiters, timeout=self.callback_grace, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
        if not done and deadline is not None and isinstance(clock, ManualClock):
            clock.advance_to(deadline)  # nobody answered in time: let the timeout happen
