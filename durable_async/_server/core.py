"""The server's executions: starting them when a function is invoked, and driving each one with
the local runner (real time, or skipped) until it ends, across restarts."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .._backends.memory.service import MemoryBackend
from .._errors import (
    BackendUnavailableError,
    CheckpointRejectedError,
    InvocationDeadlineError,
)
from .._invocations import FunctionError, Invocation
from .._local import LocalRunner
from .._models import ErrorObject
from .._targets import DurableTarget, call_plain
from .functions import Function

__all__ = ["MAX_FAILED_INVOCATIONS", "InvokeAnswer", "ServerCore"]

MAX_FAILED_INVOCATIONS = 3
"""Failed invocations in a row after which an execution fails, as Lambda stops retrying."""

_log = logging.getLogger("durable_async.server")


def _conflict(message: str) -> CheckpointRejectedError:
    return CheckpointRejectedError(message, code="DurableExecutionAlreadyStartedException")


def _not_found(message: str) -> CheckpointRejectedError:
    return CheckpointRejectedError(message, code="ResourceNotFoundException")


@dataclass(frozen=True)
class InvokeAnswer:
    """What an Invoke call answers: the payload, a function error, and the execution's ARN."""

    payload: Any = None
    function_error: bool = False
    execution_arn: str | None = None


class ServerCore:
    """Starts executions of the server's functions and drives each to its end.

    Args:
        backend: the service (a `PersistentBackend` on the server).
        functions: the functions served.
        persist: awaited after every change made outside a checkpoint, before it is answered.
    """

    def __init__(
        self,
        backend: MemoryBackend,
        functions: Iterable[Function],
        *,
        persist: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.backend = backend
        self.functions = {function.name: function for function in functions}
        self._persist = persist
        self._drivers: dict[str, asyncio.Task[Any]] = {}
        self._runners: dict[str, LocalRunner] = {}
        root: LocalRunner | None = None
        for function in self.functions.values():
            target = function.target
            if not function.durable:
                continue
            assert isinstance(target, DurableTarget)
            if root is None:
                root = LocalRunner(
                    target,
                    backend=backend,
                    max_invocations=1_000_000,
                    unawaited="warn",
                    around=self._around,
                    max_failed_invocations=MAX_FAILED_INVOCATIONS,
                )
                runner = root
                runner._function = function.name
            else:
                runner = root._sibling(function.name, target)
            self._runners[function.name] = runner
        if root is not None:
            for function in self.functions.values():
                root.register(function.name, function.target)

    async def persist(self) -> None:
        """Make every change so far durable."""
        if self._persist is not None:
            await self._persist()

    # -- invoking -------------------------------------------------------------------------------

    async def invoke(
        self, function_name: str, payload: bytes, *, wait: bool, name: str | None = None
    ) -> InvokeAnswer:
        """What Lambda's Invoke does: start a durable execution (and, with `wait`, wait for its
        end), or call a plain function.

        Raises:
            CheckpointRejectedError: the function is unknown (`ResourceNotFoundException`), or
                an execution of that name was started with another input
                (`DurableExecutionAlreadyStartedException`).
        """
        function = self.functions.get(function_name.split(":", 1)[0])
        if function is None:
            raise _not_found(f"Function not found: {function_name}")
        raw = payload.decode() if payload else "{}"
        if not isinstance(function.target, DurableTarget):
            outcome = await call_plain(
                self._around, function.name, function.target, json.loads(raw)
            )
            if outcome.error is not None:
                return InvokeAnswer(_lambda_error(outcome.error), function_error=True)
            return InvokeAnswer(json.loads(outcome.result) if outcome.result else None)
        arn = self._existing(function.name, name, raw)
        if arn is None:
            event = self.backend.start_execution(
                input_payload=raw, name=name, function_name=function.name
            )
            arn = event.durable_execution_arn
            await self.persist()
            self.drive(arn)
        if not wait:
            return InvokeAnswer(execution_arn=arn)
        driver = self._drivers.get(arn)
        if driver is not None:
            await asyncio.wait([driver])
        summary = self.backend.get_execution(arn)
        if summary["Status"] == "SUCCEEDED":
            result = summary.get("Result")
            return InvokeAnswer(json.loads(result) if result else None, execution_arn=arn)
        error = ErrorObject.model_validate(summary.get("Error") or {})
        return InvokeAnswer(_lambda_error(error), function_error=True, execution_arn=arn)

    def _existing(self, function: str, name: str | None, raw: str) -> str | None:
        """The execution named `name` already started for `function` with input `raw`: starting
        it again is idempotent, with another input it is a conflict."""
        if name is None:
            return None
        for arn in self.backend.executions():
            summary = self.backend.get_execution(arn)
            if summary["DurableExecutionName"] != name or self.backend.function_of(arn) != function:
                continue
            details = self.backend.execution_op(arn).execution_details
            if (details.input_payload if details else None) != raw:
                raise _conflict(f"durable execution {name!r} was already started")
            return arn
        return None

    # -- driving --------------------------------------------------------------------------------

    def drive(self, arn: str) -> None:
        """Invoke execution `arn` until it ends (its function must be served)."""
        if arn in self._drivers:
            return
        function = self.backend.function_of(arn)
        runner = self._runners.get(function)
        if runner is None:
            _log.warning("%s belongs to %r, which is not served: left as it is", arn, function)
            return
        driver = asyncio.get_running_loop().create_task(runner.resume(arn).result())
        self._drivers[arn] = driver
        driver.add_done_callback(lambda task: self._ended(arn, task))

    def _ended(self, arn: str, task: asyncio.Task[Any]) -> None:
        self._drivers.pop(arn, None)
        if not task.cancelled() and task.exception() is not None:
            _log.error("driving %s failed", arn, exc_info=task.exception())

    def resume_all(self) -> int:
        """Drive every running execution (after a restart); return how many."""
        running = self.backend.running()
        for arn in running:
            self.drive(arn)
        return len(running)

    async def aclose(self) -> None:
        """Stop driving: cancel every execution's driver (their state stays as checkpointed)."""
        drivers = list(self._drivers.values())
        for driver in drivers:
            driver.cancel()
        if drivers:
            await asyncio.wait(drivers)

    async def _around(self, invocation: Invocation, call: Callable[[], Awaitable[Any]]) -> Any:
        """A function's exception is an invocation that failed, as Lambda reports it, not a
        crash of the server."""
        try:
            return await call()
        except (FunctionError, BackendUnavailableError, InvocationDeadlineError):
            raise  # what the runner already treats as a failed invocation
        except Exception as exc:
            _log.exception("invocation of %s raised", invocation.function)
            raise FunctionError(type(exc).__name__, str(exc)) from exc


def _lambda_error(error: ErrorObject) -> dict[str, Any]:
    """A function error as Lambda's Invoke answers it."""
    return {
        "errorType": error.error_type or "Error",
        "errorMessage": error.error_message or "",
        "stackTrace": list(error.stack_trace or []),
    }
