"""Context operations that coordinate with the world: callbacks, invokes, polling, combinators.

`DurableContext` inherits these; they live here to keep each module to one idea.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ._duration import DurationLike, to_seconds
from ._errors import (
    CallbackError,
    CallbackSubmitterError,
    CallbackTimeoutError,
    ChildContextError,
    OperationError,
    StepError,
)
from ._lifecycle import OperationHandle
from ._models import OperationType
from ._names import check_name
from ._operation import DurableOperation
from ._operations.callback import Callback, start_callback
from ._operations.combinators import Settled, run_all, run_all_settled, run_first
from ._operations.condition import WaitDecision, run_wait_for_condition
from ._operations.invoke import run_invoke
from ._retry import RetryLike, RetryPolicy
from ._serdes import Serdes

if TYPE_CHECKING:
    from ._context import DurableContext
    from ._runtime import ExecutionRuntime

__all__ = ["CoordinationOps"]

T = TypeVar("T")
S = TypeVar("S")


_CALLBACK_ERRORS: dict[str | None, type[OperationError]] = {
    cls.__name__: cls for cls in (CallbackError, CallbackTimeoutError, CallbackSubmitterError)
}


class _Host(Protocol):
    _runtime: ExecutionRuntime

    def _operation(
        self,
        kind: OperationType,
        sub_type: str,
        name: str | None,
        run: Callable[[OperationHandle], Coroutine[Any, Any, T]],
    ) -> DurableOperation[T]: ...

    def step(
        self,
        fn: Callable[..., Any],
        *args: Any,
        name: str | None = ...,
        retry: RetryLike | None = ...,
        result_type: Any = ...,
    ) -> DurableOperation[Any]: ...

    def _child_operation(
        self,
        sub_type: str,
        name: str | None,
        body: Callable[[DurableContext], Coroutine[Any, Any, Any]],
        *,
        result_type: Any,
        serdes: Serdes,
    ) -> DurableOperation[Any]: ...


async def _submit_and_wait(
    child: DurableContext,
    callback: Callback[Any],
    submitter: Callable[[str], Any],
    policy: RetryLike,
    name: str | None,
) -> Any:
    """Hand the callback's id to `submitter` in a step, then wait for the sender's result."""
    try:
        await child.step(submitter, callback.callback_id, name="submitter", retry=policy)
    except StepError as exc:
        raise CallbackSubmitterError(
            exc.error_type, exc.error_message, operation_id=exc.operation_id, operation_name=name
        ) from exc
    return await callback


def _callback_error(exc: ChildContextError, name: str | None) -> OperationError:
    """The callback's own error class for a failed wait_for_callback context, if it has one."""
    cls = _CALLBACK_ERRORS.get(exc.error_type)
    if cls is None:
        return exc
    return cls(
        exc.error_data or exc.error_type,
        exc.error_message,
        operation_id=exc.operation_id,
        operation_name=name,
    )


def _optional_seconds(value: DurationLike | None, what: str) -> int:
    return 0 if value is None else to_seconds(value, what=what)


class CoordinationOps:
    """Callbacks, chained invokes, condition polling, combinators and replay-safe values."""

    def create_callback(
        self: _Host,
        *,
        name: str | None = None,
        timeout: DurationLike | None = None,
        heartbeat_timeout: DurationLike | None = None,
        result_type: Any = None,
        serdes: Serdes | None = None,
    ) -> DurableOperation[Callback[Any]]:
        """Start a callback; awaiting gives a `Callback` with its service-generated id.

        Args:
            name: the operation's name.
            timeout: how long to wait for the result (default: no limit).
            heartbeat_timeout: the longest silence between heartbeats (default: no limit).
            result_type: the type to validate the sender's result into.
            serdes: how to read the sender's result payload (default: the execution's).

        Example:
            ```python
            callback = await ctx.create_callback(name="approval", timeout=3600)
            await ctx.step(send_approval_email, callback.callback_id)
            decision = await callback
            ```
        """
        timeout_s = _optional_seconds(timeout, "callback timeout")
        heartbeat_s = _optional_seconds(heartbeat_timeout, "callback heartbeat timeout")
        runtime = self._runtime
        return self._operation(
            OperationType.CALLBACK,
            "Callback",
            name,
            lambda op: start_callback(
                op,
                timeout_seconds=timeout_s,
                heartbeat_seconds=heartbeat_s,
                result_type=result_type,
                serdes=serdes or runtime.serdes,
            ),
        )

    def wait_for_callback(
        self: _Host,
        submitter: Callable[[str], Any],
        *,
        name: str | None = None,
        timeout: DurationLike | None = None,
        heartbeat_timeout: DurationLike | None = None,
        retry: RetryLike | None = None,
        result_type: Any = None,
        serdes: Serdes | None = None,
    ) -> DurableOperation[Any]:
        """Create a callback, hand its id to `submitter` in a step, and wait for the result.

        Runs in a child context (sub-type `WaitForCallback`) holding the callback and the
        submitter step. `submitter(callback_id)` may be sync or async; `retry` is its policy
        (default: no retry). `serdes` reads the sender's result payload and writes the
        context's result (default: the execution's).

        Raises:
            CallbackSubmitterError: the submitter failed for good.
            CallbackError: the sender reported a failure.
            CallbackTimeoutError: no result or heartbeat in time.
        """
        policy = retry or RetryPolicy.none()
        serdes = serdes or self._runtime.serdes

        async def body(child: DurableContext) -> Any:
            callback = await child.create_callback(
                name=name,
                timeout=timeout,
                heartbeat_timeout=heartbeat_timeout,
                result_type=result_type,
                serdes=serdes,
            )
            return await _submit_and_wait(child, callback, submitter, policy, name)

        inner = self._child_operation(
            "WaitForCallback", name, body, result_type=result_type, serdes=serdes
        )
        inner._hand_over()  # `typed` awaits it: only the operation returned can be forgotten

        async def typed() -> Any:
            try:
                return await inner
            except ChildContextError as exc:  # surface the callback's own error class
                surfaced = _callback_error(exc, name)
                if surfaced is exc:
                    raise
                raise surfaced from None

        return DurableOperation(self._runtime, inner.operation_id, name, typed)

    def invoke(
        self: _Host,
        function_name: str,
        payload: Any = None,
        *,
        name: str | None = None,
        tenant_id: str | None = None,
        result_type: Any = None,
        payload_serdes: Serdes | None = None,
        result_serdes: Serdes | None = None,
    ) -> DurableOperation[Any]:
        """Invoke another Lambda function durably and return its result.

        Args:
            function_name: the function's name or ARN (a qualifier picks a version or alias).
            payload: the target's event.
            name: the operation's name.
            tenant_id: the tenant to run the target for (tenant-isolated functions).
            result_type: the type to validate the target's result into.
            payload_serdes: how to write the payload (default: the execution's serdes).
            result_serdes: how to read the target's result (default: the execution's serdes).

        Raises:
            InvokeError: the invoked function FAILED, TIMED_OUT or was STOPPED.
        """
        runtime = self._runtime
        return self._operation(
            OperationType.CHAINED_INVOKE,
            "ChainedInvoke",
            name,
            lambda op: run_invoke(
                op,
                function_name,
                payload,
                tenant_id=tenant_id,
                result_type=result_type,
                payload_serdes=payload_serdes or runtime.serdes,
                result_serdes=result_serdes or runtime.serdes,
            ),
        )

    def wait_for_condition(
        self: _Host,
        check: Callable[[S], S | Awaitable[S]],
        *,
        initial_state: S,
        wait_strategy: Callable[[S, int], WaitDecision],
        name: str | None = None,
        max_attempts: int | None = None,
        result_type: Any = None,
        serdes: Serdes | None = None,
    ) -> DurableOperation[S]:
        """Poll `check(state) -> new_state` until `wait_strategy` says done.

        The state is checkpointed between checks (a STEP with sub-type `WaitForCondition`
        retried with the strategy's delays), so polling survives suspension without re-running
        completed checks. `WaitStrategy` gives backoff with jitter and a bound on attempts.
        `serdes` writes and reads the checkpointed state (default: the execution's).

        Raises:
            WaitForConditionError: the check raised, or attempts ran out.
        """
        runtime = self._runtime
        return self._operation(
            OperationType.STEP,
            "WaitForCondition",
            name,
            lambda op: run_wait_for_condition(
                op,
                check,
                initial_state=initial_state,
                strategy=wait_strategy,
                max_attempts=max_attempts,
                result_type=result_type,
                serdes=serdes or runtime.serdes,
            ),
        )

    # -- combinators -------------------------------------------------------------------------

    async def all(self, *ops: DurableOperation[Any]) -> list[Any]:
        """Await every operation; results in order. The first failure cancels the rest."""
        return await run_all(ops)

    async def all_settled(self, *ops: DurableOperation[Any]) -> list[Settled[Any]]:
        """Await every operation; each outcome (value or error) in order."""
        return await run_all_settled(ops)

    def any(
        self: _Host, *ops: DurableOperation[Any], name: str | None = None
    ) -> DurableOperation[Any]:
        """The result of the first operation to succeed; the winner is recorded durably.

        Raises:
            AllOperationsFailedError: every operation failed.
        """
        return _first(self, ops, name, successes_only=True, sub_type="Any")

    def race(
        self: _Host, *ops: DurableOperation[Any], name: str | None = None
    ) -> DurableOperation[Any]:
        """The outcome of the first operation to finish, success or failure, recorded durably."""
        return _first(self, ops, name, successes_only=False, sub_type="Race")

    # -- replay-safe values ------------------------------------------------------------------

    def random(self: _Host, *, name: str = "random") -> DurableOperation[float]:
        """A random float in [0, 1), recorded so replay sees the same value."""
        return self.step(random.random, name=name)

    def uuid4(self: _Host, *, name: str = "uuid4") -> DurableOperation[uuid.UUID]:
        """A random UUID, recorded so replay sees the same value."""
        return self.step(lambda: str(uuid.uuid4()), name=name, result_type=uuid.UUID)

    def now(self: _Host, *, name: str = "now") -> DurableOperation[dt.datetime]:
        """The current time (UTC), recorded so replay sees the same value."""
        clock = self._runtime.clock
        return self.step(
            lambda: dt.datetime.fromtimestamp(clock.now(), tz=dt.UTC).isoformat(),
            name=name,
            result_type=dt.datetime,
        )


def _first(
    host: _Host,
    ops: tuple[DurableOperation[Any], ...],
    name: str | None,
    *,
    successes_only: bool,
    sub_type: str,
) -> DurableOperation[Any]:
    check_name(name, sub_type)  # before taking the operations over: a refused call drops none
    for op in ops:
        # The combinator owns them now: it awaits them, or, on replay, only the recorded
        # winner; if it is itself never awaited, it is the one reported.
        op._hand_over()
    return host._operation(
        OperationType.STEP,
        sub_type,
        name,
        lambda op: run_first(op, ops, successes_only=successes_only),
    )
