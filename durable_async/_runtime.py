"""The execution runtime: one invocation of one durable execution.

It owns the operation store, the checkpoint batcher, the set of tasks that run handler code, and
the decision to suspend. Nothing here is global: many invocations can share one event loop.

The suspension rule (see docs/concepts/replay.md):
    the invocation suspends when no step body is executing, no checkpoint is queued or in flight,
    at least one operation waits on the service (a timer, a retry delay, ...), and every task that
    has touched this execution's durable API is blocked on a future that is not done — and that
    picture stays unchanged across consecutive loop iterations (completions can take a few loop
    hops to reach their waiters through gather, TaskGroup or asyncio.wait).
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import weakref
from collections.abc import Callable, Coroutine
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from ._backends.protocol import Backend
from ._batcher import DEFAULT_WINDOW, CheckpointBatcher
from ._clock import Deadline, run_until
from ._errors import InvocationDeadlineError, SuspendExecution, UnexpectedCancellationError
from ._lineage import Lineage, invocation_tasks, spawn, task_lineage
from ._models import InvocationOutput, InvocationStatus, Operation, OperationType, OperationUpdate
from ._outcome import deadline_output, finished_output, interrupted_output
from ._plugins import OperationEnd, OperationStart, PluginSet
from ._quiescence import Quiescence
from ._serdes import JsonSerdes, Serdes
from ._store import Condition, OperationStore
from ._task_context import current_runtime
from ._unawaited import CreatedOperations, UnawaitedOperation

if TYPE_CHECKING:
    from ._operation import DurableOperation

__all__ = ["DEFAULT_WINDOW", "ExecutionRuntime"]


CLEANUP_SECONDS = 2.0


def _unstarted(task: asyncio.Task[Any]) -> bool:
    """Whether `task` has not taken its first step yet."""
    coro = task.get_coro()
    return inspect.iscoroutine(coro) and inspect.getcoroutinestate(coro) == inspect.CORO_CREATED


class ExecutionRuntime:
    """Coordinates one invocation: replay state, checkpoints, tasks and suspension."""

    def __init__(
        self,
        backend: Backend,
        execution_arn: str,
        checkpoint_token: str,
        operations: list[Operation],
        execution: Operation | None = None,
        *,
        serdes: Serdes | None = None,
        window: float = DEFAULT_WINDOW,
        plugins: PluginSet | None = None,
    ) -> None:
        self.backend = backend
        self.clock = backend.clock
        self.arn = execution_arn
        self.serdes: Serdes = serdes or JsonSerdes()
        self.plugins = plugins or PluginSet(())
        self.store = OperationStore(operations, observer=self._observe if self.plugins else None)
        self.execution_op = execution or operations[0]
        self.batcher = CheckpointBatcher(
            backend,
            execution_arn,
            checkpoint_token,
            apply_state=self.store.apply,
            on_idle=self.poke,
            window=window,
            lookup=self.store.get,
        )
        self._loop = asyncio.get_running_loop()
        self._quiet = Quiescence()
        self._tasks = self._quiet.tasks
        # Every task user code created during the invocation, durable or not.
        self._members: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
        self._last_task: asyncio.Task[Any] | None = None
        self._busy = 0
        self._timers: list[tuple[float, str]] = []
        self._poller: asyncio.Task[None] | None = None
        self._check_scheduled = False
        self._ending: asyncio.Future[None] = self._loop.create_future()
        self.fatal: BaseException | None = None
        self._created = CreatedOperations()
        self.unawaited: list[UnawaitedOperation] = []
        """Once `run` returned: the operations the handler never awaited (see `track`)."""
        self.ending_cancellation: asyncio.CancelledError | None = None
        """The cancellation the tasks cancelled by the invocation's end raise, one for all of
        them (see `DurableOperation.throw`)."""

    @property
    def ending(self) -> bool:
        """True once the invocation has stopped running handler code (it is suspending or
        finishing)."""
        return self._ending.done()

    # -- bookkeeping used by operations ------------------------------------------------------

    def register(self) -> None:
        """Count the current task among the tasks that run this execution's handler code."""
        if self._ending.done():
            raise SuspendExecution("the invocation is ending")
        task = asyncio.current_task(self._loop)
        if task is self._last_task or task is None:
            return
        self._last_task = task
        # Tasks that have ended are dropped by the suspension check; nothing needs to hear
        # about them sooner (a task that ends does not make suspension possible on its own:
        # the check is polling while any task can run).
        self._tasks.add(task)

    def track(self, op: DurableOperation[Any]) -> asyncio.Task[Any] | None:
        """Note `op`, just created, to report it if it is never awaited; return its creator:
        the task that registered last, the one whose call took the operation's id."""
        self._created.add(op)
        return self._last_task

    def enter_busy(self) -> None:
        """A step body starts executing: no suspension until `exit_busy`."""
        self._busy += 1

    def exit_busy(self) -> None:
        """A step body stopped executing."""
        self._busy -= 1
        self.poke()

    def park(
        self, op_id: str, cond: Condition, *, due: float | None = None
    ) -> asyncio.Future[Operation]:
        """Wait until the service reports operation `op_id` satisfying `cond` (await the result).

        While parked, the task counts as waiting on the service. `due` is when the service is
        expected to change the operation (a timer); if the invocation is still running then, the
        runtime polls for the new state instead of suspending.
        """
        fut = self.store.watch(op_id, cond)
        if fut.done():
            return fut
        if due is not None:
            heapq.heappush(self._timers, (due, op_id))
            if self._poller is None or self._poller.done():
                self._poller = spawn(self._poll_timers(), detached=True)
        self.poke()
        return fut

    def fail(self, exc: BaseException) -> None:
        """End the invocation as FAILED with `exc`, whatever user code does with it."""
        if self.fatal is None:
            self.fatal = exc
        if not self._ending.done():
            self._ending.set_result(None)

    def send(self, update: OperationUpdate) -> asyncio.Future[Operation]:
        """Checkpoint `update`; await the result for the operation's acknowledged state.

        Raises `SuspendExecution` (when awaited) if the service did not return the operation.
        """
        return self.batcher.submit(update)

    def queue(self, update: OperationUpdate) -> None:
        """Checkpoint `update` without waiting: it rides in the next request."""
        self.batcher.queue(update)

    def _observe(self, old: Operation | None, new: Operation) -> None:
        """Tell plugins about operations starting and ending, once each."""
        if new.type is OperationType.EXECUTION:
            return
        ident = (self.arn, new.id, new.type, new.sub_type, new.name, new.parent_id)
        if old is None:
            self.plugins.emit("on_operation_start", OperationStart(*ident))
        if new.status.is_terminal and (old is None or not old.status.is_terminal):
            self.plugins.emit("on_operation_end", OperationEnd(*ident, new.status))

    # -- suspension --------------------------------------------------------------------------

    def poke(self) -> None:
        """Something changed that may let the invocation suspend: look on the next loop hop."""
        if not self._check_scheduled and not self._ending.done():
            self._check_scheduled = True
            self._loop.call_soon(self._check)

    def _check(self) -> None:
        self._check_scheduled = False
        if self._ending.done():
            return
        if self.batcher.failure is not None:
            self._ending.set_result(None)
            return
        quiet = self._quiet
        if self._busy or not self.store.may_wait or not self.batcher.idle:
            quiet.forget()
            return  # the end of the step, checkpoint or park will poke again
        picture = quiet.blocked()
        if picture is None:
            self.poke()  # a task can still run: look again after it does
            return
        if not self.store.waiting():
            quiet.forget()
            return  # parked tasks were cancelled: the next park will poke again
        if quiet.settled(picture):
            self._ending.set_result(None)
            return
        self.poke()

    async def _poll_timers(self) -> None:
        while self._timers:
            due, _ = self._timers[0]
            await self.clock.sleep_until(due)
            now = self.clock.now()
            waiting = False
            while self._timers and self._timers[0][0] <= now:
                _, op_id = heapq.heappop(self._timers)
                waiting = waiting or self.store.is_watched(op_id)
            if waiting:
                await self.batcher.poll()

    # -- running the handler -----------------------------------------------------------------

    async def run(
        self, main: Callable[[], Coroutine[Any, Any, Any]], *, deadline: Deadline | None = None
    ) -> InvocationOutput:
        """Run the handler coroutine until it finishes or the invocation must suspend.

        With a `deadline` (on `self.clock`), handler code stops at `deadline.stop`: checkpoints
        are flushed, and the output is PENDING if the service has something pending, else
        `InvocationDeadlineError` is raised so Lambda retries. Whatever hangs (a checkpoint
        request, a task ignoring cancellation), the method returns by `deadline.return_by`,
        raising `InvocationDeadlineError` if checkpoints were still unanswered at
        `deadline.flush_by`.
        """
        with task_lineage(self._loop):
            return await self._run(main, deadline)

    async def _run(
        self, main: Callable[[], Coroutine[Any, Any, Any]], deadline: Deadline | None
    ) -> InvocationOutput:
        root = spawn(self._root(main), Lineage(None))
        waiters: set[asyncio.Future[Any]] = {root, self._ending}
        timer = None
        if deadline is not None:
            timer = spawn(self.clock.sleep_until(deadline.stop), detached=True)
            waiters.add(timer)
        output: InvocationOutput | None = None
        try:
            # Cancelled here (the caller gave up on the invocation), the `finally` still stops
            # every task of it.
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            out_of_time = timer is not None and timer.done() and not timer.cancelled()
            if not self._ending.done():
                self._ending.cancel()
            output = await run_until(
                self._conclude(root, out_of_time),
                self.clock,
                deadline.flush_by if deadline else None,
                lambda: InvocationDeadlineError(
                    "the invocation reached its deadline before the service acknowledged its "
                    "checkpoints; Lambda will retry it"
                ),
            )
            return output
        finally:
            if timer is not None:
                timer.cancel()
            await self._cleanup(root, output, deadline)

    async def _conclude(self, root: asyncio.Task[Any], out_of_time: bool) -> InvocationOutput:
        if out_of_time and not root.done():
            return await deadline_output(self)
        if root.done() and not root.cancelled() and self.batcher.failure is None:
            output = await finished_output(self, root)
            if self.fatal is not None or self.batcher.failure is not None:
                output = interrupted_output(self)
            return output
        return interrupted_output(self)

    async def _root(self, main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        invocation_tasks.set(self._members)  # the tasks the handler creates join the set
        current_runtime.set(self)
        self.register()
        try:
            return await main()
        except asyncio.CancelledError as exc:
            self.check_cancellation(exc, "the handler")
            raise

    def check_cancellation(self, exc: asyncio.CancelledError, who: str) -> None:
        """Raise `UnexpectedCancellationError` if `who` let `exc` escape on its own: the current
        task is not being cancelled and the invocation is not ending."""
        task = asyncio.current_task()
        if (
            isinstance(exc, SuspendExecution)
            or self._ending.done()
            or task is None
            or task.cancelling()
        ):
            return
        raise UnexpectedCancellationError(
            f"{who} raised CancelledError ({exc!r}) though its task was not cancelled; it "
            "probably awaited a task or future that was cancelled"
        ) from exc

    async def _cleanup(
        self, root: asyncio.Task[Any], output: InvocationOutput | None, deadline: Deadline | None
    ) -> None:
        if not self._ending.done():
            self._ending.cancel()
        # A task can be registered and a member both: each is cancelled once.
        candidates = dict.fromkeys((root, *self._tasks, *self._members, self._poller))
        leftovers = [t for t in candidates if t is not None and not t.done()]
        fresh = {t for t in leftovers if _unstarted(t)}
        for task in leftovers:
            if task not in fresh:
                task.cancel("durable execution suspended")
        self.batcher.close()
        self.store.fail_watchers(SuspendExecution("the invocation is ending"))
        if fresh:
            # A task that has not taken its first step yet runs up to its first await, then is
            # cancelled, as anyio does: cancelled before it starts, a wrapper coroutine (anyio's
            # task groups make one per task) would never await the coroutine it was given.
            # Durable calls made meanwhile raise SuspendExecution: the invocation is ending.
            await asyncio.sleep(0)
            for task in fresh:
                task.cancel("durable execution suspended")
        if leftovers:
            # Tasks get a moment to run their cleanup; one that ignores cancellation (or a body
            # in a worker thread) is left behind rather than holding up the invocation's end.
            ending = asyncio.wait(leftovers, timeout=CLEANUP_SECONDS)
            with suppress(TimeoutError):
                await run_until(
                    ending, self.clock, deadline.return_by if deadline else None, TimeoutError
                )
        pending = [t for t in leftovers if not t.done()]
        if self.fatal is not None:
            for task in self._tasks:
                if task.done() and not task.cancelled():
                    # A task brought down by the error that fails the invocation has been
                    # reported (as the invocation's error), whether or not anyone awaits it.
                    task.exception()
        if (
            output is not None
            and output.status is not InvocationStatus.PENDING
            and root.done()
            and not root.cancelled()
        ):
            self.unawaited = self._created.never_awaited()
        self._created.clear()
        if not pending:
            self._release()

    def _release(self) -> None:
        """Let go of the invocation's operations and tasks once every task has ended.

        Contexts and operations refer to the runtime, and user code can keep them in reference
        cycles that only the garbage collector frees; what the runtime held is freed now.
        """
        self.store.clear()
        self.batcher.release()
        self.ending_cancellation = None
        self._tasks.clear()
        self._members.clear()
        self._last_task = None
        self._quiet.forget()
        self._timers.clear()
        self._poller = None
