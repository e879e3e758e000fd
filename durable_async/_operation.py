"""`DurableOperation`: what `ctx.step(...)`, `ctx.wait(...)` return.

The operation's id is assigned when it is called (so identity never depends on scheduling order);
its work starts when it is first awaited, directly or through `asyncio.gather`, `TaskGroup` or
`create_task`. The awaiting task is counted among the execution's tasks at that moment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ._runtime import ExecutionRuntime

__all__ = ["DurableOperation"]

T = TypeVar("T")


class DurableOperation(Coroutine[Any, Any, T]):
    """An awaitable durable operation with a deterministic id.

    It is a coroutine, so it can be awaited, gathered, or handed to `asyncio.create_task` and
    `TaskGroup.create_task`.

    Attributes:
        operation_id: the id checkpointed for this operation.
        name: the operation's name, if any.

    Awaiting it more than once returns the same result (or raises the same error) without running
    the operation again.
    """

    __slots__ = (
        "_coro",
        "_done",
        "_error",
        "_factory",
        "_result",
        "_runtime",
        "_waiters",
        "name",
        "operation_id",
    )

    def __init__(
        self,
        runtime: ExecutionRuntime,
        operation_id: str,
        name: str | None,
        factory: Callable[[], Coroutine[Any, Any, T]],
    ) -> None:
        self._runtime = runtime
        self.operation_id = operation_id
        self.name = name
        self._factory: Callable[[], Coroutine[Any, Any, T]] | None = factory
        self._done = False
        self._result: Any = None
        self._error: BaseException | None = None
        self._waiters: list[asyncio.Future[None]] | None = None
        self._coro: Coroutine[Any, Any, T] | None = None

    def __repr__(self) -> str:
        return f"<DurableOperation id={self.operation_id[:12]} name={self.name!r}>"

    def __await__(self) -> Generator[Any, None, T]:
        return self._outcome().__await__()

    def _driver(self) -> Coroutine[Any, Any, T]:
        if self._coro is None:
            self._coro = self._outcome()
        return self._coro

    def send(self, value: Any) -> Any:
        """Coroutine protocol: advance the operation (used when a task drives it)."""
        return self._driver().send(value)

    def throw(
        self,
        typ: type[BaseException] | BaseException,
        val: object = None,
        tb: TracebackType | None = None,
    ) -> Any:
        """Coroutine protocol: raise an exception inside the operation."""
        if isinstance(typ, BaseException):
            return self._driver().throw(typ)
        exc = val if isinstance(val, BaseException) else typ()
        return self._driver().throw(exc)

    def close(self) -> None:
        """Coroutine protocol: close the operation if it was started by a task."""
        if self._coro is not None:
            self._coro.close()

    async def _outcome(self) -> T:
        self._runtime.register()
        factory, self._factory = self._factory, None
        if factory is not None:
            try:
                self._result = await factory()
            except BaseException as exc:
                self._error = exc
                raise
            finally:
                self._done = True
                for fut in self._waiters or ():
                    if not fut.done():
                        fut.set_result(None)
            return self._result  # type: ignore[no-any-return]
        if not self._done:
            fut = asyncio.get_running_loop().create_future()
            self._waiters = [*(self._waiters or ()), fut]
            await fut
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[no-any-return]
