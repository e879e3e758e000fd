"""Conformance handlers for the plugin suite (requirements 10-1 to 10-7).

A plugin observes an execution through hooks (invocation start and end, operation start and
end, step attempt start and end) without taking part in it. The handlers here are ordinary
one-step (or one-wait) workflows; what the suite checks is what their plugins log.

The plugins write one JSON object per line to plain stdout with `print`, as the requirements
ask, so each line reaches the log as a top-level JSON record of its own rather than as the
`message` of a log record. Every line carries `durableExecutionArn`, which is how an
execution's records are found in the log: the requirements take it from the invocation-start
hook's info, and this SDK puts the same ARN on every hook's event, so each record is stamped
with the ARN of the event that produced it. A plugin instance is shared by every execution of
its handler; taking the ARN from the event keeps it free of per-execution state.

Operation and attempt hooks report only step operations (`OperationType.STEP`): the requirements
filter them that way, and an execution also checkpoints other operations.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from durable_async import (
    AttemptEnd,
    AttemptStart,
    DurableContext,
    DurableHandler,
    DurablePlugin,
    Duration,
    InvocationEnd,
    InvocationStart,
    OperationEnd,
    OperationStart,
    OperationType,
    RetryPolicy,
    durable_execution,
    logger,
)

from .step import ATTEMPTS

__all__ = [
    "HANDLERS",
    "TARGETS",
    "AttemptLog",
    "FaultyPlugin",
    "InvocationLog",
    "OperationLog",
    "PluginFault",
]


def log_line(plugin: str, hook: str, execution_arn: str, **fields: Any) -> None:
    """Print one plugin record: a JSON object on a line of its own."""
    record = {"plugin": plugin, "hook": hook, **fields, "durableExecutionArn": execution_arn}
    print(json.dumps(record), flush=True)


# -- the plugins ---------------------------------------------------------------------------------


class InvocationLog(DurablePlugin):
    """Logs invocation-start (with the first-invocation flag, unless `first` is off) and
    invocation-end (with the invocation's status: `SUCCEEDED`, `FAILED` or `PENDING`)."""

    def __init__(self, name: str = "CONFPLUGIN", *, first: bool = True) -> None:
        self.name = name
        self.first = first

    def on_invocation_start(self, event: InvocationStart) -> None:
        """`{"plugin": ..., "hook": "invocation-start", "first": true}`."""
        fields = {"first": event.first_invocation} if self.first else {}
        log_line(self.name, "invocation-start", event.execution_arn, **fields)

    def on_invocation_end(self, event: InvocationEnd) -> None:
        """`{"plugin": ..., "hook": "invocation-end", "status": "SUCCEEDED"}`."""
        log_line(self.name, "invocation-end", event.execution_arn, status=event.status.value)


class OperationLog(DurablePlugin):
    """Logs operation-start and operation-end (with the terminal status) of step operations."""

    name = "CONFPLUGIN"

    def on_operation_start(self, event: OperationStart) -> None:
        """`{"plugin": ..., "hook": "operation-start", "op": <operation id>}`."""
        if event.operation_type is OperationType.STEP:
            log_line(self.name, "operation-start", event.execution_arn, op=event.operation_id)

    def on_operation_end(self, event: OperationEnd) -> None:
        """`{"plugin": ..., "hook": "operation-end", "op": <operation id>, "status": ...}`."""
        if event.operation_type is OperationType.STEP:
            log_line(
                self.name,
                "operation-end",
                event.execution_arn,
                op=event.operation_id,
                status=event.status.value,
            )


class AttemptLog(DurablePlugin):
    """Logs attempt-start and attempt-end (attempt number, outcome) of step operations."""

    name = "CONFPLUGIN"

    def on_attempt_start(self, event: AttemptStart) -> None:
        """`{"plugin": ..., "hook": "attempt-start", "n": 1, "op": <operation id>}`."""
        if event.operation_type is OperationType.STEP:
            log_line(
                self.name,
                "attempt-start",
                event.execution_arn,
                n=event.attempt,
                op=event.operation_id,
            )

    def on_attempt_end(self, event: AttemptEnd) -> None:
        """`{"plugin": ..., "hook": "attempt-end", "n": 1, "outcome": "FAILED", "op": ...}`."""
        if event.operation_type is OperationType.STEP:
            log_line(
                self.name,
                "attempt-end",
                event.execution_arn,
                n=event.attempt,
                outcome=event.outcome,
                op=event.operation_id,
            )


class PluginFault(Exception):
    """What the faulty plugin raises from every hook."""


class FaultyPlugin(DurablePlugin):
    """Every hook logs `{"plugin": "CONFPLUGIN-FAULTY", "hook": ...}`, then raises."""

    name = "CONFPLUGIN-FAULTY"

    def _fail(self, hook: str, execution_arn: str) -> None:
        log_line(self.name, hook, execution_arn)
        raise PluginFault(f"{self.name} fails in {hook}")

    def on_invocation_start(self, event: InvocationStart) -> None:
        """Logs invocation-start, then raises."""
        self._fail("invocation-start", event.execution_arn)

    def on_invocation_end(self, event: InvocationEnd) -> None:
        """Logs invocation-end, then raises."""
        self._fail("invocation-end", event.execution_arn)

    def on_operation_start(self, event: OperationStart) -> None:
        """Logs operation-start of a step, then raises."""
        if event.operation_type is OperationType.STEP:
            self._fail("operation-start", event.execution_arn)

    def on_operation_end(self, event: OperationEnd) -> None:
        """Logs operation-end of a step, then raises."""
        if event.operation_type is OperationType.STEP:
            self._fail("operation-end", event.execution_arn)

    def on_attempt_start(self, event: AttemptStart) -> None:
        """Logs attempt-start of a step, then raises."""
        if event.operation_type is OperationType.STEP:
            self._fail("attempt-start", event.execution_arn)

    def on_attempt_end(self, event: AttemptEnd) -> None:
        """Logs attempt-end of a step, then raises."""
        if event.operation_type is OperationType.STEP:
            self._fail("attempt-end", event.execution_arn)


# -- step bodies ---------------------------------------------------------------------------------


def greet(name: str) -> str:
    """Step body: a greeting, saying when it runs."""
    logger.info("Greeting step running for: %s", name)
    return f"Hello, {name}!"


def unreliable(execution_arn: str) -> str:
    """Step body: fails on its first run in an execution, succeeds on the second."""
    attempt = ATTEMPTS.next(execution_arn, "plugin_unreliable")
    if attempt < 2:
        raise RuntimeError(f"attempt {attempt} failed")
    return "Operation succeeded"


def failing_func() -> str:
    """Step body that always raises."""
    raise ValueError("something went wrong")


# -- the handlers --------------------------------------------------------------------------------


@durable_execution(plugins=[InvocationLog()])
async def plugin_invocation_hooks(event: str, ctx: DurableContext) -> str:
    """10-1: invocation-start (first) before the step body runs, invocation-end SUCCEEDED after."""
    return await ctx.step(greet, event)


@durable_execution(plugins=[OperationLog()])
async def plugin_operation_hooks(event: str, ctx: DurableContext) -> str:
    """10-2: operation-start and operation-end SUCCEEDED of the step, with its operation id."""
    return await ctx.step(greet, event)


@durable_execution(plugins=[AttemptLog()])
async def plugin_attempt_hooks(event: None, ctx: DurableContext) -> str:
    """10-3: attempt 1 fails, attempt 2 (1 s later, in the next invocation) succeeds; the plugin
    logs the start and end of each."""
    return await ctx.step(
        unreliable, ctx.execution_arn, name="unreliable", retry=RetryPolicy.fixed(3, 1)
    )


@durable_execution(plugins=[FaultyPlugin()])
async def plugin_error_isolation(event: str, ctx: DurableContext) -> str:
    """10-4: every hook raises; the execution's result and history are as without the plugin."""
    return await ctx.step(greet, event)


@durable_execution(
    plugins=[InvocationLog("CONFPLUGIN-A", first=False), InvocationLog("CONFPLUGIN-B", first=False)]
)
async def plugin_multiple(event: str, ctx: DurableContext) -> str:
    """10-5: two plugins, registered in order A, B, both see the invocation hooks."""
    return await ctx.step(greet, event)


@durable_execution(plugins=[InvocationLog()])
async def plugin_first_invocation(event: None, ctx: DurableContext) -> None:
    """10-6: a 2 s wait: the first invocation starts with first=true and suspends (PENDING); the
    replay starts with first=false and ends SUCCEEDED."""
    await ctx.wait(Duration(2))


@durable_execution(plugins=[InvocationLog()])
async def plugin_terminal_failure(event: None, ctx: DurableContext) -> str:
    """10-7: the step fails with no retry, so does the execution; invocation-end says FAILED."""
    return await ctx.step(failing_func, retry=RetryPolicy.none())


HANDLERS: dict[str, DurableHandler[Any, Any]] = {
    "10-1": plugin_invocation_hooks,
    "10-2": plugin_operation_hooks,
    "10-3": plugin_attempt_hooks,
    "10-4": plugin_error_isolation,
    "10-5": plugin_multiple,
    "10-6": plugin_first_invocation,
    "10-7": plugin_terminal_failure,
}

TARGETS: dict[str, DurableHandler[Any, Any] | Callable[[Any], Any]] = {}
