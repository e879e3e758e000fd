"""What changed on the server: a version number the viewer's live updates wait on."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

__all__ = ["ChangeFeed"]


class ChangeFeed:
    """A counter bumped each time executions change, with the ARNs each bump touched.

    Waiters ask for anything newer than the version they have seen; a slow waiter that missed
    several bumps gets them all at once (the union of their ARNs), never a stale view.
    """

    def __init__(self, keep: int = 1024) -> None:
        self.version = 0
        self._keep = keep
        self._log: list[tuple[int, frozenset[str]]] = []
        self._cond = asyncio.Condition()

    def publish(self, arns: Iterable[str]) -> None:
        """Record a change of `arns` and wake every waiter."""
        touched = frozenset(arns)
        if not touched:
            return
        self.version += 1
        self._log.append((self.version, touched))
        del self._log[: -self._keep]
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    def since(self, version: int) -> set[str] | None:
        """The ARNs changed after `version`, or `None` when that is older than the log keeps
        (the caller should then reload everything)."""
        if version >= self.version:
            return set()
        if not self._log or self._log[0][0] > version + 1:
            return None
        out: set[str] = set()
        for v, arns in self._log:
            if v > version:
                out |= arns
        return out

    async def wait(self, version: int) -> int:
        """Return the current version once it is past `version` (bound it with
        `asyncio.timeout` to wait a while)."""
        async with self._cond:
            await self._cond.wait_for(lambda: self.version > version)
        return self.version
