"""Plugins: observe invocations, operations and step attempts without touching the workflow.

A plugin subclasses `DurablePlugin` and overrides the hooks it needs; each hook takes one frozen
event and may be a plain or an `async` method. A plugin that raises is logged and ignored: the
execution's result and history are the same with or without it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ._clock import Clock, run_until
from ._lineage import spawn
from ._models import ErrorObject, InvocationStatus, OperationStatus, OperationType

__all__ = [
    "AttemptEnd",
    "AttemptStart",
    "DurablePlugin",
    "InvocationEnd",
    "InvocationStart",
    "OperationEnd",
    "OperationStart",
    "PluginSet",
]

_log = logging.getLogger("durable_async.plugins")
DRAIN_SECONDS = 1.0


@dataclass(frozen=True)
class InvocationStart:
    """An invocation begins, before any handler code runs."""

    execution_arn: str
    first_invocation: bool
    updated_operation_ids: tuple[str, ...] = ()
    """The operations the service changed since the last invocation, as its event says (empty
    when it does not say)."""


@dataclass(frozen=True)
class InvocationEnd:
    """An invocation ended with `status` (PENDING when it suspended)."""

    execution_arn: str
    status: InvocationStatus
    error: ErrorObject | None = None


@dataclass(frozen=True)
class OperationStart:
    """The service reported an operation started (observed once per execution)."""

    execution_arn: str
    operation_id: str
    operation_type: OperationType
    sub_type: str | None
    name: str | None
    parent_id: str | None


@dataclass(frozen=True)
class OperationEnd:
    """The service reported an operation reached a terminal status."""

    execution_arn: str
    operation_id: str
    operation_type: OperationType
    sub_type: str | None
    name: str | None
    parent_id: str | None
    status: OperationStatus


@dataclass(frozen=True)
class AttemptStart:
    """A step body (or a wait_for_condition check) is about to run attempt `attempt`."""

    execution_arn: str
    operation_id: str
    operation_type: OperationType
    sub_type: str
    name: str | None
    attempt: int


@dataclass(frozen=True)
class AttemptEnd:
    """A step body finished attempt `attempt`."""

    execution_arn: str
    operation_id: str
    operation_type: OperationType
    sub_type: str
    name: str | None
    attempt: int
    outcome: Literal["SUCCEEDED", "FAILED"]
    error: BaseException | None = None


class DurablePlugin:
    """Base class of plugins; every hook does nothing unless overridden.

    Hooks may be `def` or `async def`. Invocation hooks are awaited in order; operation hooks
    run when a checkpoint response of this invocation shows an operation starting or ending
    (async ones as tasks) — an operation that changed between invocations, such as a wait whose
    timer fired while the function was suspended, is not reported; attempt hooks run in the
    task of the step, right before and after its body, so their order is deterministic. The two
    kinds are not ordered against each other: a body running in a worker thread may end before
    or after the response that reports its step started.

    Example:
        ```python
        class Timing(DurablePlugin):
            def on_attempt_end(self, event: AttemptEnd) -> None:
                print(event.name, event.attempt, event.outcome)

        @durable_execution(plugins=[Timing()])
        async def handler(event: dict, ctx: DurableContext) -> None: ...
        ```
    """

    def on_invocation_start(self, event: InvocationStart) -> Any:
        """An invocation begins."""

    def on_invocation_end(self, event: InvocationEnd) -> Any:
        """An invocation ends."""

    def on_operation_start(self, event: OperationStart) -> Any:
        """An operation was started."""

    def on_operation_end(self, event: OperationEnd) -> Any:
        """An operation finished."""

    def on_attempt_start(self, event: AttemptStart) -> Any:
        """A step attempt begins."""

    def on_attempt_end(self, event: AttemptEnd) -> Any:
        """A step attempt ended."""

    def trace_header(self, execution_arn: str) -> str | None:
        """The X-Ray trace header (`XAmznTraceId`) a chained invoke of `execution_arn` should
        carry, or `None` to leave it to others (by default, Lambda's `_X_AMZN_TRACE_ID`). A
        tracing plugin returns its current span's context here. Must not block."""
        return None


class PluginSet:
    """Calls hooks on every plugin, isolating their failures."""

    def __init__(self, plugins: Sequence[DurablePlugin]) -> None:
        self.plugins = tuple(plugins)
        self._tasks: set[asyncio.Task[Any]] = set()

    def __bool__(self) -> bool:
        return bool(self.plugins)

    def emit(self, hook: str, event: object) -> None:
        """Call `hook` now; async hooks continue as tasks awaited by `drain`."""
        for plugin in self.plugins:
            result = self._call(plugin, hook, event)
            if inspect.isawaitable(result):
                task = spawn(self._guard(plugin, hook, result), detached=True)
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def emit_and_wait(
        self, hook: str, event: object, clock: Clock | None = None, until: float | None = None
    ) -> None:
        """Call `hook` on each plugin in order, awaiting async hooks; with `until`, a hook still
        running when `clock` reaches it is cancelled, logged and skipped, with those after it."""
        for plugin in self.plugins:
            result = self._call(plugin, hook, event)
            if not inspect.isawaitable(result):
                continue
            if clock is None or until is None:
                await self._guard(plugin, hook, result)
                continue
            try:
                await run_until(self._guard(plugin, hook, result), clock, until, TimeoutError)
            except TimeoutError:
                _log.warning(
                    "plugin %r did not finish %s before the deadline; cut off", plugin, hook
                )
                return

    async def drain(self) -> None:
        """Wait, at most `DRAIN_SECONDS`, for async hooks still running."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=DRAIN_SECONDS)

    def trace_header(self, execution_arn: str) -> str | None:
        """The first trace header a plugin gives for a chained invoke (failures ignored)."""
        for plugin in self.plugins:
            header = self._call(plugin, "trace_header", execution_arn)
            if isinstance(header, str) and header:
                return header
        return None

    @staticmethod
    def _call(plugin: DurablePlugin, hook: str, event: object) -> Any:
        try:
            return getattr(plugin, hook)(event)
        except Exception:
            _log.warning("plugin %r failed in %s; ignored", plugin, hook, exc_info=True)
            return None

    @staticmethod
    async def _guard(plugin: DurablePlugin, hook: str, awaitable: Any) -> None:
        try:
            await awaitable
        except Exception:
            _log.warning("plugin %r failed in %s; ignored", plugin, hook, exc_info=True)
