"""Task lineage: where a task sits in the program's structure, whatever the scheduling.

Operation ids are counted per (context, task lineage), so they never depend on the order in which
concurrent tasks reach their operations. A lineage is a path of creation indices:

- the handler's task is the root, `()`;
- a task created while a task of lineage `p` runs gets `p + (k,)`, where `k` counts the tasks
  `p` has created so far (1-based). A task factory installed on the loop for the duration of
  the invocation assigns it, in the creating task and in program order, so it is the same on
  every replay;
- the body of a child context (and each map or parallel item) starts a fresh root of its own,
  namespaced by the context's id: a completed child context does not run again on replay, so
  the tasks it created must not have taken indices of the task that awaited it;
- tasks created inside a step body, and the runtime's own tasks (the checkpoint flusher, timer
  pollers, combinators, plugin hooks), take no index and carry no lineage, because they run
  only live (or only sometimes), and must never shift the numbering of user tasks.

The current task's lineage lives in a `ContextVar`, which tasks copy when they are created.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager, suppress
from contextvars import Context, ContextVar, copy_context
from typing import Any, TypeVar

from ._task_context import current_step

__all__ = [
    "Lineage",
    "current_lineage",
    "fresh_root",
    "invocation_tasks",
    "spawn",
    "task_lineage",
]

T = TypeVar("T")


class Lineage:
    """The place of one task in the program's task tree (see the module docstring).

    Attributes:
        origin: the id of the context whose body started this tree (`None`: the handler).
        path: creation indices from that root down to this task.
        created: how many tasks this one has created so far.
    """

    __slots__ = ("created", "origin", "owner", "path")

    def __init__(self, origin: str | None, path: tuple[int, ...] = ()) -> None:
        self.origin = origin
        self.path = path
        self.created = 0
        self.owner = 0  # id() of the first task that called an operation with it

    def claim(self, task: object) -> bool:
        """Record `task` as the one running this lineage; False if another task did first.

        Two tasks share a lineage only when one was created without the lineage factory
        (`asyncio.Task(...)` called directly, or the loop's factory replaced meanwhile).
        """
        if self.owner == 0:
            self.owner = id(task)
            return True
        return self.owner == id(task)

    def child(self) -> Lineage:
        """Take the next creation index: the lineage of a task this one creates now."""
        self.created += 1
        return Lineage(self.origin, (*self.path, self.created))

    def label(self, scope: str | None) -> str:
        """How this lineage appears in the raw id of an operation of the context `scope`."""
        path = ".".join(map(str, self.path))
        return path if self.origin == scope else f"{self.origin or 'root'}/{path}"

    def describe(self) -> str:
        """A short human description, for error messages."""
        if not self.path:
            return "the root task" if self.origin is None else "the child context's own task"
        return f"task {'.'.join(map(str, self.path))}"


current_lineage: ContextVar[Lineage | None] = ContextVar("durable_async_lineage", default=None)
"""The lineage of the running task; `None` outside durable handler code."""

invocation_tasks: ContextVar[weakref.WeakSet[asyncio.Task[Any]] | None] = ContextVar(
    "durable_async_invocation_tasks", default=None
)
"""Every task user code created during the running invocation (the runtime cancels those still
running when the invocation ends); `None` outside durable handler code."""

_pinned: ContextVar[bool] = ContextVar("durable_async_pinned", default=False)
"""Set (in the creating task) while the runtime creates a task with a lineage it chose."""


class _LineageTaskFactory:
    """A loop task factory giving each task created by a durable task its lineage.

    It chains the factory that was installed before it (eager ones included) and passes the
    context explicitly, so the chained factory creates the task as it would have.
    """

    __slots__ = ("active", "previous", "users")

    def __init__(self, previous: Any) -> None:
        self.previous = previous
        self.users = 0
        self.active = True

    def __call__(
        self, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
    ) -> asyncio.Future[Any]:
        if not self.active or _pinned.get():
            return self._create(loop, coro, kwargs)
        given: Context | None = kwargs.get("context")
        if given is None:  # read the creating task's own context: no copy unless one is needed
            members, parent = invocation_tasks.get(), current_lineage.get()
        else:
            members, parent = given.get(invocation_tasks), given.get(current_lineage)
        if parent is None:
            task = self._create(loop, coro, kwargs)
        else:
            context = given.copy() if given is not None else copy_context()
            in_step = context.get(current_step) is not None
            context.run(current_lineage.set, None if in_step else parent.child())
            if given is not None or self.previous is None:
                # asyncio's own tasks take the context as given: a task created inside it
                # would copy it again, one more context kept by every task.
                kwargs["context"] = context
                task = self._create(loop, coro, kwargs)
            else:
                # The chained factory was called without a context (the legacy form):
                # create the task inside ours, which the task then copies.
                task = context.run(self._create, loop, coro, kwargs)
        if members is not None:
            members.add(task)  # type: ignore[arg-type]  # a factory makes tasks, typed Future
        return task

    def _create(
        self, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], kwargs: Any
    ) -> asyncio.Future[Any]:
        if self.previous is None:
            return asyncio.Task(coro, loop=loop, **kwargs)
        task: asyncio.Future[Any] = self.previous(loop, coro, **kwargs)
        return task


_factories: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LineageTaskFactory] = (
    weakref.WeakKeyDictionary()
)


@contextmanager
def task_lineage(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """Install the lineage task factory on `loop` while the block runs.

    Invocations sharing a loop share one factory; the last one to end puts the previous
    factory back, unless something replaced ours meanwhile (then ours stays in that chain,
    inert).
    """
    factory = _factories.get(loop)
    if factory is None or not _installed(loop, factory):
        factory = _LineageTaskFactory(loop.get_task_factory())
        _factories[loop] = factory
        loop.set_task_factory(factory)  # type: ignore[arg-type]
    factory.users += 1
    try:
        yield
    finally:
        factory.users -= 1
        if factory.users == 0:
            if _installed(loop, factory):
                loop.set_task_factory(factory.previous)
            else:
                factory.active = False
            if _factories.get(loop) is factory:
                del _factories[loop]


def _installed(loop: asyncio.AbstractEventLoop, factory: _LineageTaskFactory) -> bool:
    current: object = loop.get_task_factory()
    return current is factory


def spawn(
    coro: Coroutine[Any, Any, T],
    lineage: Lineage | None = None,
    *,
    name: str | None = None,
    detached: bool = False,
) -> asyncio.Task[T]:
    """Create a task with exactly `lineage` (default: none), taking no index of the creator.

    The runtime creates its own tasks with this, so they never shift user tasks' numbering.
    A task that runs user code (a map item, a combinator's operation) belongs to the invocation
    like the tasks user code creates; a `detached` one (the checkpoint flusher, a timer, a plugin
    hook) does not, nor do the tasks it creates (a backend's connection pool, say), so the end of
    the invocation does not cancel them.
    """
    context = copy_context()
    context.run(current_lineage.set, lineage)
    if detached:
        context.run(invocation_tasks.set, None)
    token = _pinned.set(True)
    try:
        task = asyncio.get_running_loop().create_task(coro, name=name, context=context)
    finally:
        _pinned.reset(token)
    members = context.get(invocation_tasks)
    if members is not None:
        members.add(task)
    return task


@contextmanager
def fresh_root(origin: str | None) -> Iterator[Lineage]:
    """Run the block (a child context's or item's body) as the root of its own task tree."""
    root = Lineage(origin)
    token = current_lineage.set(root)
    try:
        yield root
    finally:
        # A body closed outside its task (collected late) has nothing to undo.
        with suppress(ValueError):
            current_lineage.reset(token)
