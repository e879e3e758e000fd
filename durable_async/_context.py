"""`DurableContext`: the public face of the durable operations a handler runs.

Each method hands its arguments, in its own order, to the builder of the operation's module under
`_operations/` (`step_operation`, `wait_operation`, ...), which checks them and takes the id
from the context's `IdScope`. Code given a context of its
own (a child context, a map item, a parallel branch) is handed one made here, around the
scope the operation gives it.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar, overload

from ._duration import DurationLike
from ._logging import DurableLogger
from ._names import default_name
from ._operation import DurableOperation
from ._operations.batch import BatchOptions, BatchResult, CompletionConfig, Nesting, batch_operation
from ._operations.callback import Callback, callback_operation
from ._operations.child import child_operation
from ._operations.combinators import Settled, first_operation, run_all, run_all_settled
from ._operations.condition import WaitDecision, condition_operation
from ._operations.invoke import invoke_operation
from ._operations.step import StepSemantics, step_operation
from ._operations.wait import wait_operation
from ._operations.wait_for_callback import wait_for_callback_operation
from ._retry import RetryLike
from ._runtime import ExecutionRuntime
from ._scope import ContextBody, IdScope
from ._serdes import Serdes
from ._task_context import ContextState

__all__ = ["DurableContext"]

T = TypeVar("T")
S = TypeVar("S")
ItemT = TypeVar("ItemT")


class DurableContext:
    """The durable API of one execution (or child context), passed to the handler.

    Every call (`step`, `wait`, ...) is assigned an id at the moment it is called: the next one
    of the calling task in this context. Tasks are told apart by their place in the program's
    task tree, not by when they run, so ids never depend on scheduling, under `asyncio.gather`,
    `TaskGroup` or `create_task` alike. On replay the recorded result is returned instead of
    running the operation again.

    Attributes:
        lambda_context: the Lambda context object of the invocation (may be `None` locally).
        logger: a logger that is silent while this context replays; its records carry
            `executionArn`, `replaying`, the child context's `parentId` and, inside a step
            body, `operationId`, `operationName` and `attempt` (see `set_logger`).
    """

    def __init__(
        self,
        runtime: ExecutionRuntime,
        *,
        lambda_context: Any = None,
        ids: IdScope | None = None,
    ) -> None:
        self._runtime = runtime
        self._ids = ids or IdScope(runtime, None)
        self.lambda_context = lambda_context
        self.logger = DurableLogger(self._log_fields, lambda: self.replaying)

    @property
    def execution_arn(self) -> str:
        """The ARN of the durable execution."""
        return self._runtime.arn

    @property
    def parent_id(self) -> str | None:
        """The id of the child context this is, or `None` for the root context."""
        return self._ids.parent_id

    @property
    def replaying(self) -> bool:
        """True while the calling task re-runs code that ran in an earlier invocation.

        Each task replays on its own: a task is replaying while the next operation it will call
        is recorded, and, past its last recorded one, if that one was completed by the handler
        itself (a step or child context), since the code after it ran too. An operation the
        service completed between invocations (a wait, a callback, an invoke) is where the task
        starts running new code.
        """
        return self._ids.replaying

    @property
    def state(self) -> ContextState:
        """Where this context stands: its execution, its place, and whether it replays.

        Tools that wrap handlers, such as Powertools for AWS Lambda, recognise a durable
        context by this attribute and `lambda_context`.
        """
        return ContextState(self._runtime.arn, self._ids.parent_id, self._ids.replaying)

    def _log_fields(self) -> dict[str, Any]:
        parent = self._ids.parent_id
        fields: dict[str, Any] = {"executionArn": self._runtime.arn}
        if parent is not None:
            fields["parentId"] = parent
        return fields

    def _within(self, ids: IdScope) -> DurableContext:
        """The context whose operations take their ids from `ids` (a child or an item)."""
        return DurableContext(self._runtime, lambda_context=self.lambda_context, ids=ids)

    def _entering(self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> ContextBody:
        """The body that runs `fn(ctx, *args)` with a context around the scope it is given."""
        return lambda ids: fn(self._within(ids), *args)

    # -- steps and waits ---------------------------------------------------------------------

    @overload
    def step(
        self,
        fn: Callable[..., Awaitable[T]],
        *args: Any,
        name: str | None = ...,
        retry: RetryLike | None = ...,
        semantics: StepSemantics = ...,
        result_type: Any = ...,
        serdes: Serdes | None = ...,
        timeout: DurationLike | None = ...,
    ) -> DurableOperation[T]: ...

    @overload
    def step(
        self,
        fn: Callable[..., T],
        *args: Any,
        name: str | None = ...,
        retry: RetryLike | None = ...,
        semantics: StepSemantics = ...,
        result_type: Any = ...,
        serdes: Serdes | None = ...,
        timeout: DurationLike | None = ...,
    ) -> DurableOperation[T]: ...

    def step(
        self,
        fn: Callable[..., Any],
        *args: Any,
        name: str | None = None,
        retry: RetryLike | None = None,
        semantics: StepSemantics = StepSemantics.AT_LEAST_ONCE_PER_RETRY,
        result_type: Any = None,
        serdes: Serdes | None = None,
        timeout: DurationLike | None = None,
    ) -> DurableOperation[Any]:
        """Run `fn(*args)` once (per retry policy) and checkpoint its result.

        Async functions run on the event loop; plain functions run in a worker thread so they
        never block it. The result is stored as JSON (pydantic models supported); with
        `result_type` it is validated into that type, on first run and on replay alike.

        Args:
            fn: the step body; it must not call durable operations.
            *args: positional arguments for `fn` (use `functools.partial` for keywords).
            name: the operation's name (default: `fn.__name__`, none for lambdas).
            retry: a `RetryPolicy` or a `(error, attempt) -> RetryDecision` function
                (default: `RetryPolicy.default()`).
            semantics: at-least-once (default) or at-most-once per retry.
            result_type: the type to validate the result into.
            serdes: a custom serialiser for the result.
            timeout: how long each attempt may run (whole seconds, a `timedelta` or a
                `Duration`; default: no limit). An attempt that overruns is cancelled (async
                `fn`) or abandoned (plain `fn`, left running in its thread) and fails with
                `StepTimeoutError`, which the retry policy sees like any error.

        Returns:
            An awaitable of `fn`'s result.

        Raises:
            StepError: when the step failed for good (on first run and on replay).
            DurableCallInStepError: when called from inside another step's body.
            ValidationError: `timeout` is not 1 to 31,622,400 whole seconds (at the call).
        """
        return step_operation(
            self._ids, fn, args, name, retry, semantics, result_type, serdes, timeout=timeout
        )

    def wait(self, duration: DurationLike, *, name: str | None = None) -> DurableOperation[None]:
        """Pause the workflow for `duration` (whole seconds, a `timedelta` or a `Duration`).

        A wait that cannot end while other work runs suspends the invocation; the service
        re-invokes the function when the time is up. While other work is still running, a wait
        that comes due is completed in process.

        Raises:
            ValidationError: the duration is fractional, below 1 s or above the service limit.
        """
        return wait_operation(self._ids, duration, name)

    def wait_for_condition(
        self,
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
            ValidationError: `max_attempts` is not an int of at least 1 (at the call).
            WaitForConditionError: the check raised, or attempts ran out.
        """
        return condition_operation(
            self._ids, check, initial_state, wait_strategy, name, max_attempts, result_type, serdes
        )

    # -- child contexts, map and parallel ------------------------------------------------------

    def run_in_child_context(
        self,
        fn: Callable[..., Coroutine[Any, Any, T]],
        *args: Any,
        name: str | None = None,
        result_type: Any = None,
        serdes: Serdes | None = None,
    ) -> DurableOperation[T]:
        """Run `fn(child_ctx, *args)` as one checkpointed unit with its own operation ids.

        The child's operations are checkpointed with the child context as their parent. When the
        context has succeeded, replay returns its recorded result without running `fn`.

        Args:
            fn: `async def fn(child_ctx, *args)`; it may call any durable operation.
            *args: extra positional arguments for `fn`.
            name: the context's name (default: `fn.__name__`).
            result_type: the type to validate the result into.
            serdes: a custom serialiser for the result.

        Raises:
            ChildContextError: `fn` raised (the original type and message are kept).
        """
        return child_operation(
            self._ids,
            "RunInChildContext",
            name if name is not None else default_name(fn),
            self._entering(fn, *args),
            result_type=result_type,
            serdes=serdes or self._runtime.serdes,
        )

    def map(
        self,
        items: Sequence[ItemT],
        fn: Callable[[DurableContext, ItemT, int], Coroutine[Any, Any, T]],
        *,
        name: str | None = None,
        max_concurrency: int | None = None,
        completion: CompletionConfig | None = None,
        item_namer: Callable[[ItemT, int], str] | None = None,
        item_serdes: Serdes | None = None,
        serdes: Serdes | None = None,
        nesting: Nesting | str = Nesting.NESTED,
    ) -> DurableOperation[BatchResult[T]]:
        """Run `fn(item_ctx, item, index)` for every item, each in its own child context.

        Items run as asyncio tasks (never a thread per item), at most `max_concurrency` at once.
        The batch completes by `completion` (default: at the first failure or when all
        succeeded); items still running then are cancelled and their later checkpoints dropped.

        Args:
            items: the inputs, one child context each.
            fn: `async def fn(item_ctx, item, index)`.
            name: the name of the map operation.
            max_concurrency: how many items run at once (default: all).
            completion: when the batch is complete (default: first failure, or all succeeded).
            item_namer: `item_namer(item, index)` names each item's context.
            item_serdes: serialiser of each item's result (default: the execution's).
            serdes: serialiser of the whole `BatchResult`, as the map context checkpoints it
                (default: JSON). It is given a `BatchResult` and must give one back.
            nesting: `"nested"` checkpoints each item as a child context (sub-type
                `MapIteration`); `"flat"` runs items in virtual contexts whose operations are
                checkpointed directly under the map context, which halves the checkpoints
                of small items. Flat items keep no result of their own: until the map
                completes, replay runs them again (their operations replay from history).

        Returns:
            An awaitable `BatchResult` with each item's status, result or error, in input order.
        """
        values = list(items)
        names = [item_namer(item, i) for i, item in enumerate(values)] if item_namer else None
        return batch_operation(
            self._ids,
            "Map",
            "MapIteration",
            [self._entering(fn, item, i) for i, item in enumerate(values)],
            BatchOptions(name, max_concurrency, completion, names, item_serdes, serdes, nesting),
        )

    def parallel(
        self,
        branches: Sequence[Callable[[DurableContext], Coroutine[Any, Any, T]]],
        *,
        name: str | None = None,
        max_concurrency: int | None = None,
        completion: CompletionConfig | None = None,
        item_serdes: Serdes | None = None,
        serdes: Serdes | None = None,
        nesting: Nesting | str = Nesting.NESTED,
    ) -> DurableOperation[BatchResult[T]]:
        """Run each `branch(branch_ctx)` concurrently, each in its own child context.

        Same options, completion and concurrency rules as `map`; each branch's context is
        named after the branch function (`fn.__name__`; lambdas stay unnamed).
        """
        names = [default_name(branch) for branch in branches]
        return batch_operation(
            self._ids,
            "Parallel",
            "ParallelBranch",
            [self._entering(branch) for branch in branches],
            BatchOptions(name, max_concurrency, completion, names, item_serdes, serdes, nesting),
        )

    # -- callbacks and chained invokes ---------------------------------------------------------

    def create_callback(
        self,
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
        return callback_operation(self._ids, name, timeout, heartbeat_timeout, result_type, serdes)

    def wait_for_callback(
        self,
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
        return wait_for_callback_operation(
            self._ids, submitter, name, timeout, heartbeat_timeout, retry, result_type, serdes
        )

    def invoke(
        self,
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
        return invoke_operation(
            self._ids,
            function_name,
            payload,
            name,
            tenant_id,
            result_type,
            payload_serdes,
            result_serdes,
        )

    # -- combinators -------------------------------------------------------------------------

    async def all(self, *ops: DurableOperation[Any]) -> list[Any]:
        """Await every operation; results in order. The first failure cancels the rest."""
        return await run_all(ops)

    async def all_settled(self, *ops: DurableOperation[Any]) -> list[Settled[Any]]:
        """Await every operation; each outcome (value or error) in order."""
        return await run_all_settled(ops)

    def any(self, *ops: DurableOperation[Any], name: str | None = None) -> DurableOperation[Any]:
        """The result of the first operation to succeed; the winner is recorded durably.

        Raises:
            AllOperationsFailedError: every operation failed.
        """
        return first_operation(self._ids, ops, name, successes_only=True)

    def race(self, *ops: DurableOperation[Any], name: str | None = None) -> DurableOperation[Any]:
        """The outcome of the first operation to finish, success or failure, recorded durably."""
        return first_operation(self._ids, ops, name, successes_only=False)

    # -- replay-safe values ------------------------------------------------------------------

    def random(self, *, name: str = "random") -> DurableOperation[float]:
        """A random float in [0, 1), recorded so replay sees the same value."""
        return self.step(random.random, name=name)

    def uuid4(self, *, name: str = "uuid4") -> DurableOperation[uuid.UUID]:
        """A random UUID, recorded so replay sees the same value."""
        return self._value(lambda: str(uuid.uuid4()), name, uuid.UUID)

    def now(self, *, name: str = "now") -> DurableOperation[dt.datetime]:
        """The current time (UTC), recorded so replay sees the same value."""
        clock = self._runtime.clock

        def now() -> str:
            return dt.datetime.fromtimestamp(clock.now(), tz=dt.UTC).isoformat()

        return self._value(now, name, dt.datetime)

    def _value(self, fn: Callable[[], Any], name: str, kind: Any) -> DurableOperation[Any]:
        """A step recording `fn()`, read back as `kind`."""
        return step_operation(
            self._ids, fn, (), name, None, StepSemantics.AT_LEAST_ONCE_PER_RETRY, kind, None
        )
