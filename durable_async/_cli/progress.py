"""A one-line live progress display for runs longer than about a second, on a terminal only.

Plain ANSI on stderr: the line is redrawn in place (`\\r`, erase line) a few times a second and
erased at the end. No rich: importing `rich.live` took 60 to 75 ms here (bytecode cached), a
cost every run would pay for one line of output.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TextIO

from .._backends.memory.service import MemoryBackend

__all__ = ["Progress"]

_FRAMES = "|/-\\"


class Progress:
    """Draws `invocations · operations done/pending · simulated clock` while a run goes on."""

    def __init__(
        self,
        backend: MemoryBackend,
        out: TextIO,
        *,
        delay: float = 1.0,
        interval: float = 0.2,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._backend = backend
        self._out = out
        self._delay = delay
        self._interval = interval
        self._monotonic = monotonic
        self._shown = False
        self._paused = False
        self.arn: str | None = None
        self._started = backend.clock.now()

    def line(self, frame: int = 0) -> str:
        """The progress line as it stands."""
        backend = self._backend
        arn = self.arn
        if arn is None:
            return ""
        ops = backend.operations(arn)[1:]
        done = sum(op.status.is_terminal for op in ops)
        invocations = sum(e["EventType"] == "InvocationCompleted" for e in backend.history(arn))
        clock = _clock(backend.clock.now() - self._started)
        return (
            f"{_FRAMES[frame % len(_FRAMES)]} invocations {invocations + 1} · operations "
            f"{done} done, {len(ops) - done} pending · simulated clock +{clock}"
        )

    def pause(self) -> None:
        """Erase the line and stop drawing (before a prompt)."""
        self._paused = True
        self.clear()

    def clear(self) -> None:
        """Erase the line if it is shown."""
        if self._shown:
            self._out.write("\r\x1b[2K")
            self._out.flush()
            self._shown = False

    async def run(self) -> None:
        """Draw until cancelled, starting after `delay` seconds."""
        try:
            await asyncio.sleep(self._delay)
            frame = 0
            while True:
                if not self._paused:
                    self._out.write("\r\x1b[2K" + self.line(frame))
                    self._out.flush()
                    self._shown = True
                frame += 1
                await asyncio.sleep(self._interval)
        finally:
            with contextlib.suppress(OSError, ValueError):
                self.clear()


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
