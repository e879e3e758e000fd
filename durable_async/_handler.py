"""`@durable_execution`: turns `async def handler(event, ctx)` into a Lambda durable handler."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, Generic, TypeVar, overload

from pydantic import ValidationError as PydanticValidationError

from ._backends.paging import read_pages
from ._backends.protocol import Backend
from ._clock import Clock, Deadline, run_until
from ._context import DurableContext
from ._errors import (
    RAW_TRANSIENT,
    CheckpointRejectedError,
    InvalidInvocationError,
    InvocationDeadlineError,
    StaleCheckpointTokenError,
    unavailable,
)
from ._gc import relaxed_gc
from ._models import (
    ErrorObject,
    InvocationInput,
    InvocationOutput,
    InvocationStatus,
    Operation,
    OperationType,
)
from ._plugins import DurablePlugin, InvocationEnd, InvocationStart, PluginSet
from ._runtime import DEFAULT_WINDOW, ExecutionRuntime
from ._serdes import Serdes
from ._unawaited import UnawaitedOperation, warn_unawaited

__all__ = ["DurableHandler", "durable_execution"]

E = TypeVar("E")
R = TypeVar("R")
UserHandler = Callable[[E, DurableContext], Coroutine[Any, Any, R]]
UnawaitedReport = Callable[[Sequence[UnawaitedOperation]], None]


class DurableHandler(Generic[E, R]):
    """A durable function: call it as a Lambda handler, or await `invoke_async` on your loop.

    As a Lambda handler, `handler(event, lambda_context)` runs the invocation on an event loop that
    lives as long as the process, so one AWS client serves every invocation of a warm function.

    Attributes:
        fn: the decorated `async def handler(event, ctx)`.
    """

    def __init__(
        self,
        fn: UserHandler[E, R],
        *,
        backend: Backend | None = None,
        serdes: Serdes | None = None,
        checkpoint_window: float = DEFAULT_WINDOW,
        plugins: Sequence[DurablePlugin] = (),
    ) -> None:
        self.fn = fn
        self._plugins = tuple(plugins)
        self._backend = backend
        self._serdes = serdes
        self._window = checkpoint_window
        self._runner: asyncio.Runner | None = None
        functools.update_wrapper(self, fn)

    def __call__(self, event: Mapping[str, Any], lambda_context: Any = None) -> dict[str, Any]:
        """The Lambda entry point: run one invocation to completion or suspension.

        Returns:
            `{"Status": "SUCCEEDED" | "FAILED" | "PENDING", "Result"?: str, "Error"?: {...}}`.
        """
        if self._runner is None:
            self._runner = asyncio.Runner()
        return self._runner.run(self.invoke_async(event, lambda_context))

    def close(self) -> None:
        """Close the event loop `__call__` keeps for the process (for tests and shutdown hooks)."""
        if self._runner is not None:
            self._runner.close()
            self._runner = None

    async def invoke_async(
        self,
        event: Mapping[str, Any] | InvocationInput,
        lambda_context: Any = None,
        *,
        backend: Backend | None = None,
    ) -> dict[str, Any]:
        """Run one invocation on the running event loop; the async twin of calling the handler.

        Args:
            event: the durable invocation event (or an already parsed `InvocationInput`).
            lambda_context: the Lambda context object, passed through as `ctx.lambda_context`.
            backend: the service to talk to (default: the decorator's, else AWS).

        Returns:
            The invocation output, as for `__call__`.

        Raises:
            BackendUnavailableError: the service kept failing; Lambda should retry the invocation.

        Warns:
            UnawaitedOperationWarning: the handler finished leaving an operation it created never
                awaited (so it never ran); one warning per operation, at the line that created it.
        """
        output = await self.invoke_output(event, lambda_context, backend=backend)
        return output.to_wire()

    async def invoke_output(
        self,
        event: Mapping[str, Any] | InvocationInput,
        lambda_context: Any = None,
        *,
        backend: Backend | None = None,
        _report_unawaited: UnawaitedReport | None = None,
    ) -> InvocationOutput:
        """Like `invoke_async`, returning the parsed `InvocationOutput`.

        Operations the handler created and never awaited are reported as
        `UnawaitedOperationWarning`s (`_report_unawaited` is the local runner's way to collect
        them instead).
        """
        with relaxed_gc():  # from the event's operations to the output
            return await self._invoke(
                event, lambda_context, backend, _report_unawaited or warn_unawaited
            )

    async def _invoke(
        self,
        event: Mapping[str, Any] | InvocationInput,
        lambda_context: Any,
        backend: Backend | None,
        report_unawaited: UnawaitedReport,
    ) -> InvocationOutput:
        try:
            invocation = _parse_event(event)
        except InvalidInvocationError as exc:
            return _failed(exc)
        backend = backend or self._default_backend()
        clock = backend.clock
        deadline = _deadline(lambda_context, clock)
        arn, token = invocation.durable_execution_arn, invocation.checkpoint_token
        operations = await _read_state(backend, invocation, deadline)
        if isinstance(operations, InvocationOutput):
            return operations
        try:
            execution, user_input = _execution_input(operations)
        except InvalidInvocationError as exc:
            return _failed(exc)
        plugins = PluginSet(self._plugins)
        hooks_until = deadline.stop if deadline else None
        if plugins:
            start = InvocationStart(
                arn, len(operations) == 1, tuple(invocation.updated_operation_ids)
            )
            await plugins.emit_and_wait("on_invocation_start", start, clock, hooks_until)
        runtime = ExecutionRuntime(
            backend,
            arn,
            token,
            operations,
            execution,
            serdes=self._serdes,
            window=self._window,
            plugins=plugins,
        )
        # The store has the operations now: an operation the service replaces during the
        # invocation is not kept alive by the parsed event.
        del invocation, operations, execution
        ctx = DurableContext(runtime, lambda_context=lambda_context)
        output = await runtime.run(lambda: self.fn(user_input, ctx), deadline=deadline)
        if runtime.unawaited:
            report_unawaited(runtime.unawaited)
        if plugins:
            hooks_until = deadline.return_by if deadline else None
            await plugins.drain()
            end = InvocationEnd(arn, output.status, output.error)
            await plugins.emit_and_wait("on_invocation_end", end, clock, hooks_until)
        return output

    def _default_backend(self) -> Backend:
        if self._backend is None:
            from ._backends.aws import AwsBackend

            self._backend = AwsBackend()
        return self._backend


def _deadline(lambda_context: Any, clock: Clock) -> Deadline | None:
    """When to stop: Lambda's remaining time less a safety margin (5 %, 0.5 s to 3 s)."""
    remaining = getattr(lambda_context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    seconds = float(remaining()) / 1000
    end = clock.now() + seconds
    return Deadline(stop=end - min(3.0, max(0.5, seconds * 0.05)), end=end)


async def _read_state(
    backend: Backend, invocation: InvocationInput, deadline: Deadline | None
) -> list[Operation] | InvocationOutput:
    """Every operation of the execution, read before the deadline, or the output that ends the
    invocation at once."""
    arn, token = invocation.durable_execution_arn, invocation.checkpoint_token
    try:
        return await run_until(
            read_pages(backend, arn, token, invocation.initial_execution_state),
            backend.clock,
            deadline.stop if deadline else None,
            lambda: InvocationDeadlineError(
                "the invocation reached its deadline while reading the execution's state; "
                "Lambda will retry it"
            ),
        )
    except StaleCheckpointTokenError:
        # A newer invocation owns the execution: this one has nothing to do (and retrying it
        # could never help, its token stays stale). See docs/errors.md.
        return InvocationOutput(status=InvocationStatus.PENDING)
    except CheckpointRejectedError as exc:
        return _failed(exc)
    except RAW_TRANSIENT as exc:
        raise unavailable(exc, "reading the execution's state") from exc


def _failed(exc: Exception) -> InvocationOutput:
    return InvocationOutput(status=InvocationStatus.FAILED, error=ErrorObject.from_exception(exc))


def _parse_event(event: Mapping[str, Any] | InvocationInput) -> InvocationInput:
    if isinstance(event, InvocationInput):
        return event
    if not isinstance(event, Mapping):
        raise InvalidInvocationError(
            f"expected a durable invocation event (a JSON object), got {type(event).__name__}"
        )
    missing = [k for k in ("DurableExecutionArn", "CheckpointToken") if k not in event]
    if missing:
        raise InvalidInvocationError(
            f"not a durable execution invocation: the event has no {', '.join(missing)} "
            "(is durable execution enabled on this function?)"
        )
    try:
        return InvocationInput.model_validate(
            {"InitialExecutionState": {"Operations": []}, **event}
        )
    except PydanticValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise InvalidInvocationError(f"malformed durable invocation event: {problems}") from None


def _execution_input(operations: list[Operation]) -> tuple[Operation, Any]:
    """The EXECUTION operation (first in creation order, but found wherever the pages put it)
    and the user's input it carries."""
    execution = next((op for op in operations if op.type is OperationType.EXECUTION), None)
    if execution is None:
        raise InvalidInvocationError(
            f"the execution state has no EXECUTION operation ({len(operations)} operations read)"
        )
    details = execution.execution_details
    payload = details.input_payload if details else None
    if not payload:
        return execution, None
    try:
        return execution, json.loads(payload)
    except ValueError as exc:
        raise InvalidInvocationError(f"the execution input is not valid JSON: {exc}") from None


@overload
def durable_execution(fn: UserHandler[E, R], /) -> DurableHandler[E, R]: ...


@overload
def durable_execution(
    *,
    backend: Backend | None = ...,
    serdes: Serdes | None = ...,
    checkpoint_window: float = ...,
    plugins: Sequence[DurablePlugin] = ...,
) -> Callable[[UserHandler[E, R]], DurableHandler[E, R]]: ...


def durable_execution(
    fn: UserHandler[E, R] | None = None,
    /,
    *,
    backend: Backend | None = None,
    serdes: Serdes | None = None,
    checkpoint_window: float = DEFAULT_WINDOW,
    plugins: Sequence[DurablePlugin] = (),
) -> DurableHandler[E, R] | Callable[[UserHandler[E, R]], DurableHandler[E, R]]:
    """Make `async def handler(event, ctx)` a durable Lambda handler.

    Args:
        fn: the handler; `event` is the execution's input, `ctx` a `DurableContext`.
        backend: the service (default: AWS through aiobotocore, created on first use).
        serdes: how results are serialised (default: JSON).
        checkpoint_window: seconds fire-and-forget checkpoints may wait to coalesce.
        plugins: `DurablePlugin`s observing invocations, operations and step attempts.

    Example:
        ```python
        @durable_execution
        async def handler(event: dict, ctx: DurableContext) -> dict:
            price = await ctx.step(fetch_price, event["sku"])
            await ctx.wait(5)
            return {"price": price}
        ```
    """

    def wrap(f: UserHandler[E, R]) -> DurableHandler[E, R]:
        # A decorator between (Powertools' `inject_lambda_context`, say) is a plain function
        # that returns the coroutine: what it wraps decides.
        if not inspect.iscoroutinefunction(inspect.unwrap(f)):
            raise TypeError(f"@durable_execution needs an async def handler, got {f!r}")
        return DurableHandler(
            f,
            backend=backend,
            serdes=serdes,
            checkpoint_window=checkpoint_window,
            plugins=plugins,
        )

    return wrap(fn) if fn is not None else wrap
