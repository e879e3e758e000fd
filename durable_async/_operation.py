"""`DurableOperation`: what `ctx.step(...)`, `ctx.wait(...)` return.

The operation's id is assigned when it is called (so identity never depends on scheduling order);
its work starts when it is first awaited, directly or through `asyncio.gather`, `TaskGroup` or
`create_task`. The awaiting task is counted among the execution's tasks at that moment.

An operation also notes the file and line of the user code that created it, and the runtime
keeps it until it is first awaited or handed to a task, so that one nobody awaits can be
reported (see `UnawaitedOperationWarning`).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine, Generator, Iterator
from types import CodeType, TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from ._runtime import ExecutionRuntime

__all__ = ["DurableOperation"]

T = TypeVar("T")

_NEW = 0  # not started
_BY_TASK = 1  # its body runs in the task that was given the operation (gather, create_task)
_BY_AWAIT = 2  # its body runs in the task that awaited it first
_DONE = 3
_DEFERRED = 4  # not started: its task let a full checkpoint request leave first

_PACKAGE_DIR = os.path.dirname(__file__) + os.sep
"""Frames whose code lives here are the library's: the creation site is the first one outside."""

_INSIDE: dict[str, bool] = {}
"""Whether each source file met while looking for creation sites is inside `_PACKAGE_DIR` (a
lookup costs less than comparing the path again for every frame of every operation)."""


class DurableOperation(Coroutine[Any, Any, T]):
    """An awaitable durable operation with a deterministic id.

    It is a coroutine, so it can be awaited, gathered, or handed to `asyncio.create_task` and
    `TaskGroup.create_task`.

    Attributes:
        operation_id: the id checkpointed for this operation.
        name: the operation's name, if any.

    Awaiting it more than once returns the same result (or raises the same error) without running
    the operation again. One that is never awaited never runs: when the handler finishes, an
    `UnawaitedOperationWarning` names it and the line that created it.
    """

    # The body's coroutine is driven directly (by `send`/`throw` when a task runs the operation,
    # by a `_Driver` when it is awaited): no coroutine in between, so an operation parked for
    # hours costs no frame of its own.
    __slots__ = (
        "_api",
        "_body",
        "_creator",
        "_error",
        "_factory",
        "_follower",
        "_result",
        "_runtime",
        "_site",
        "_site_offset",
        "_state",
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
        self._state = _NEW
        self._body: Coroutine[Any, Any, T] | None = None
        self._result: Any = None
        self._error: BaseException | None = None
        self._waiters: list[asyncio.Future[None]] | None = None
        self._follower: Generator[Any, None, T] | None = None
        # Where user code created it: the first frame outside this package, kept as its code
        # and instruction offset only (a frame would keep every local of the caller alive; the
        # line number is worked out from the offset if it is ever reported). The method the
        # user called (`DurableContext.step`, ...) is the last frame inside. Frame 1 is the
        # package's `DurableContext._operation`; the walk starts above it, so that it makes
        # only the frame objects it reads (one of this package's, and the user's). Nothing
        # else allocates: an operation costs four slots more, and the collector no more.
        frame = sys._getframe(2)
        api: CodeType | None = None
        while True:
            code = frame.f_code
            filename = code.co_filename
            try:
                inside = _INSIDE[filename]
            except KeyError:
                inside = _INSIDE[filename] = filename.startswith(_PACKAGE_DIR)
            if not inside:
                break
            back = frame.f_back
            if back is None:
                break
            api = code
            frame = back
        if api is None:  # created by the method the user called itself
            api = sys._getframe(1).f_code
        self._site = code
        self._site_offset = frame.f_lasti
        self._api = api
        # The task that created it, until it is started or handed over (then `None`): one
        # still set when the handler finished was never awaited.
        self._creator: asyncio.Task[Any] | None = runtime.track(self)

    def __repr__(self) -> str:
        return f"<DurableOperation id={self.operation_id[:12]} name={self.name!r}>"

    def __await__(self) -> Generator[Any, None, T]:
        if self._state in (_NEW, _DEFERRED):
            self._start()
            self._state = _BY_AWAIT
            assert self._body is not None
            return cast(Generator[Any, None, T], _Driver(self, self._body))
        return self._outcome()

    def _start(self) -> None:
        self._creator = None
        self._runtime.register()
        factory, self._factory = self._factory, None
        assert factory is not None
        self._body = factory()

    # -- the coroutine protocol, used when a task drives the operation ----------------------

    def send(self, value: Any) -> Any:
        """Coroutine protocol: advance the operation (used when a task drives it)."""
        state = self._state
        if state == _BY_TASK:
            return self._step(value)
        if state == _NEW and self._runtime.batcher.backlogged:
            # Group commit: a full request is waiting for the flusher, whose turn comes
            # before this task's next one. Starting more operations first would only delay
            # the request (the rest of the fan-out then runs while it is in flight).
            self._state = _DEFERRED
            self._hand_over()  # a task has it: it is not forgotten
            return None
        if state in (_NEW, _DEFERRED):
            self._start()
            self._state = _BY_TASK
            return self._step(value)
        # Another task runs (or ran) the body: this one waits for its outcome.
        follower = self._follower
        if follower is None:
            follower = self._follower = self._outcome()
        try:
            return follower.send(value)
        except BaseException:
            self._follower = None  # done: a task given the operation later starts afresh
            raise

    def throw(
        self,
        typ: type[BaseException] | BaseException,
        val: object = None,
        tb: TracebackType | None = None,
    ) -> Any:
        """Coroutine protocol: raise an exception inside the operation."""
        exc = _exception(typ, val)
        del typ, val, tb  # the traceback keeps this frame: it must not keep the exception
        try:
            if self._state == _NEW:
                self._hand_over()  # its task was cancelled before its first step
            elif self._state == _BY_TASK:
                body = self._body
                assert body is not None
                try:
                    return body.throw(exc)
                except StopIteration as stop:
                    self._finish(stop.value, None)
                    raise
                except BaseException as error:
                    self._finish(None, error)
                    raise _shortened(error, self._runtime) from None
            follower = self._follower
            if follower is not None:
                try:
                    return follower.throw(exc)
                except BaseException:
                    self._follower = None
                    raise
            raise exc
        finally:
            del exc

    def close(self) -> None:
        """Coroutine protocol: close the operation if it was started by a task.

        Closing an operation that never started does not run it; as for a coroutine, it is then
        not reported as never awaited (awaiting it later still runs it).
        """
        if self._state == _NEW:
            self._hand_over()
        elif self._state == _BY_TASK and self._body is not None:
            self._body.close()
            self._finish(None, GeneratorExit())
        if self._follower is not None:
            self._follower.close()

    def _hand_over(self) -> None:
        """A task or another operation owns this one now (it awaits it, or decides not to):
        never report it as unawaited."""
        self._creator = None

    # -- running the body and recording its outcome -----------------------------------------

    def _step(self, value: Any) -> Any:
        body = self._body
        assert body is not None
        try:
            return body.send(value)
        except StopIteration as stop:
            self._finish(stop.value, None)
            raise
        except BaseException as error:
            self._finish(None, error)
            raise

    def _finish(self, result: Any, error: BaseException | None) -> None:
        self._state = _DONE
        self._body = None
        if isinstance(error, asyncio.CancelledError):
            # Kept without its traceback: the traceback's frames refer back to this operation,
            # a cycle that only the garbage collector could free, for every operation that a
            # suspension cancels. Never raised itself (see `_outcome`), so the operations a
            # suspension cancels can all keep the same one.
            error = _kept_cancellation(error)
        self._result = result
        self._error = error
        for fut in self._waiters or ():
            if not fut.done():
                fut.set_result(None)
        self._waiters = None

    def _outcome(self) -> Generator[Any, None, T]:
        """The outcome of a body some other task runs: wait for it, then return or raise it."""
        self._runtime.register()
        if self._state != _DONE:
            fut = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(fut)
            yield from fut
        error = self._error
        if isinstance(error, asyncio.CancelledError):
            raise _untraced(error)  # a copy each time, as in `_finish`
        if error is not None:
            raise error
        return self._result  # type: ignore[no-any-return]


class _Driver(Iterator[Any]):
    """Runs an operation's body inside the task that awaited the operation first."""

    __slots__ = ("_body", "_fresh", "_op")

    def __init__(self, op: DurableOperation[Any], body: Coroutine[Any, Any, Any]) -> None:
        self._op = op
        self._body = body
        self._fresh = True

    def __iter__(self) -> _Driver:
        return self

    def __next__(self) -> Any:
        return self.send(None)

    def send(self, value: Any) -> Any:
        if self._fresh:
            self._fresh = False
            if self._op._runtime.batcher.backlogged:
                return None  # as in `DurableOperation.send`: let the full request leave first
        try:
            return self._body.send(value)
        except StopIteration as stop:
            self._op._finish(stop.value, None)
            raise
        except BaseException as error:
            self._op._finish(None, error)
            raise

    def throw(
        self,
        typ: type[BaseException] | BaseException,
        val: object = None,
        tb: TracebackType | None = None,
    ) -> Any:
        exc = _exception(typ, val)
        del typ, val, tb  # the traceback keeps this frame: it must not keep the exception
        try:
            return self._body.throw(exc)
        except StopIteration as stop:
            self._op._finish(stop.value, None)
            raise
        except BaseException as error:
            self._op._finish(None, error)
            raise _shortened(error, self._op._runtime) from None
        finally:
            del exc

    def close(self) -> None:
        if self._op._state == _BY_AWAIT:
            self._body.close()
            self._op._finish(None, GeneratorExit())


def _exception(typ: type[BaseException] | BaseException, val: object) -> BaseException:
    """The exception of a `throw(typ, val)` call, in either of its forms."""
    if isinstance(typ, BaseException):
        return typ
    return val if isinstance(val, BaseException) else typ()


def _shortened(error: BaseException, runtime: ExecutionRuntime) -> BaseException:
    """`error`, without the frames below this operation if it is the invocation ending.

    Suspension cancels every task at once; the frames each cancellation's traceback would keep
    until the invocation's end add up to kilobytes per parked operation.
    """
    if runtime.ending and isinstance(error, asyncio.CancelledError):
        # One cancellation per invocation, raised by every task the ending cancels: a task
        # keeps the error that ended it (and, through its traceback, the frame that raised
        # it) until the invocation lets it go. Each raise starts it without a traceback, so
        # it keeps the frames of the last task only.
        kept = runtime.ending_cancellation
        if kept is None or type(kept) is not type(error) or kept.args != error.args:
            kept = runtime.ending_cancellation = _untraced(error)
        return kept.with_traceback(None)
    return error


_last_kept: asyncio.CancelledError | None = None


def _kept_cancellation(error: asyncio.CancelledError) -> asyncio.CancelledError:
    """An untraced cancellation like `error`, the same object as last time if it is alike."""
    global _last_kept
    kept = _last_kept
    if kept is None or type(kept) is not type(error) or kept.args != error.args:
        kept = _last_kept = _untraced(error)
    return kept


def _untraced(error: asyncio.CancelledError) -> asyncio.CancelledError:
    """A copy of a cancellation without its traceback (same type and arguments)."""
    try:
        return type(error)(*error.args)
    except TypeError:
        return asyncio.CancelledError(*error.args)
