"""`DurableContext`: the handle a durable handler uses to run operations."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar, overload

from ._coordination import CoordinationOps
from ._duration import DurationLike, to_seconds
from ._errors import (
    ValidationError,
)
from ._lifecycle import OperationHandle
from ._logger import ReplayAwareLogger
from ._models import OperationType
from ._names import check_names
from ._operation import DurableOperation
from ._operations.batch import BatchOptions as _BatchOptions
from ._operations.batch import BatchResult, CompletionConfig, Nesting, run_batch
from ._operations.child import run_child
from ._operations.step import StepSemantics, run_step
from ._operations.wait import run_wait
from ._retry import RetryLike
from ._runtime import ExecutionRuntime
from ._scope import IdScope
from ._serdes import JsonSerdes, Serdes

__all__ = ["DurableContext"]

T = TypeVar("T")
ItemT = TypeVar("ItemT")

_log = logging.getLogger("durable_async")


class DurableContext(CoordinationOps):
    """The durable API of one execution (or child context), passed to the handler.

    Every call (`step`, `wait`, ...) is assigned an id at the moment it is called: the next one
    of the calling task in this context. Tasks are told apart by their place in the program's
    task tree, not by when they run, so ids never depend on scheduling, under `asyncio.gather`,
    `TaskGroup` or `create_task` alike. On replay the recorded result is returned instead of
    running the operation again.

    Attributes:
        lambda_context: the Lambda context object of the invocation (may be `None` locally).
        logger: a logger that is silent while this context replays.
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
        self.logger = ReplayAwareLogger(_log, runtime.arn, lambda: self.replaying)

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

    def _within(self, ids: IdScope) -> DurableContext:
        """The context whose operations take their ids from `ids` (a child or an item)."""
        return DurableContext(self._runtime, lambda_context=self.lambda_context, ids=ids)

    def _operation(
        self,
        kind: OperationType,
        sub_type: str,
        name: str | None,
        run: Callable[[OperationHandle], Coroutine[Any, Any, T]],
    ) -> DurableOperation[T]:
        """Take the next id now; `run(op)` does the work when the operation is awaited."""
        op = self._ids.begin(kind, sub_type, name)
        return DurableOperation(self._runtime, op.id, name, lambda: run(op))

    # -- operations --------------------------------------------------------------------------

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

        Returns:
            An awaitable of `fn`'s result.

        Raises:
            StepError: when the step failed for good (on first run and on replay).
            DurableCallInStepError: when called from inside another step's body.
        """
        name = name if name is not None else _default_name(fn)
        runtime = self._runtime
        return self._operation(
            OperationType.STEP,
            "Step",
            name,
            lambda op: run_step(
                op,
                fn,
                args,
                retry=retry,
                semantics=semantics,
                result_type=result_type,
                serdes=serdes or runtime.serdes,
            ),
        )

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
        name = name if name is not None else _default_name(fn)
        return self._child_operation(
            "RunInChildContext",
            name,
            lambda child: fn(child, *args),
            result_type=result_type,
            serdes=serdes or self._runtime.serdes,
        )

    def _child_operation(
        self,
        sub_type: str,
        name: str | None,
        body: Callable[[DurableContext], Coroutine[Any, Any, Any]],
        *,
        result_type: Any,
        serdes: Serdes,
    ) -> DurableOperation[Any]:
        """Take the next id for a CONTEXT operation running `body` in a child context."""
        return self._operation(
            OperationType.CONTEXT,
            sub_type,
            name,
            lambda op: run_child(op, self, body, result_type=result_type, serdes=serdes),
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
        return self._batch(
            "Map",
            "MapIteration",
            [_bind(fn, item, i) for i, item in enumerate(values)],
            _BatchOptions(name, max_concurrency, completion, names, item_serdes, serdes, nesting),
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
        names = [_default_name(branch) for branch in branches]
        return self._batch(
            "Parallel",
            "ParallelBranch",
            list(branches),
            _BatchOptions(name, max_concurrency, completion, names, item_serdes, serdes, nesting),
        )

    def _batch(
        self,
        sub_type: str,
        item_sub_type: str,
        bodies: list[Callable[[DurableContext], Coroutine[Any, Any, Any]]],
        options: _BatchOptions,
    ) -> DurableOperation[BatchResult[Any]]:
        policy = options.completion or CompletionConfig()
        policy.validate(len(bodies))
        if options.max_concurrency is not None and options.max_concurrency < 1:
            raise ValidationError(f"max_concurrency must be >= 1, got {options.max_concurrency}")
        if options.nesting not in tuple(Nesting):
            raise ValidationError(f"nesting must be 'nested' or 'flat', got {options.nesting!r}")
        check_names(options.item_names, item_sub_type)
        runtime = self._runtime
        item_serdes = options.item_serdes or runtime.serdes

        def body(batch: DurableContext) -> Coroutine[Any, Any, BatchResult[Any]]:
            return run_batch(
                runtime,
                batch,
                bodies,
                item_sub_type=item_sub_type,
                item_names=options.item_names,
                max_concurrency=options.max_concurrency,
                completion=policy,
                serdes=item_serdes,
                flat=options.nesting == Nesting.FLAT,
            )

        return self._child_operation(
            sub_type,
            options.name,
            body,
            result_type=BatchResult[Any],
            serdes=options.serdes or JsonSerdes(),
        )

    def wait(self, duration: DurationLike, *, name: str | None = None) -> DurableOperation[None]:
        """Pause the workflow for `duration` (whole seconds, a `timedelta` or a `Duration`).

        A wait that cannot end while other work runs suspends the invocation; the service
        re-invokes the function when the time is up. While other work is still running, a wait
        that comes due is completed in process.

        Raises:
            ValidationError: the duration is fractional, below 1 s or above the service limit.
        """
        seconds = to_seconds(duration, what="wait duration")
        return self._operation(
            OperationType.WAIT,
            "Wait",
            name,
            lambda op: run_wait(op, seconds),
        )


def _bind(
    fn: Callable[[DurableContext, ItemT, int], Coroutine[Any, Any, T]], item: ItemT, index: int
) -> Callable[[DurableContext], Coroutine[Any, Any, T]]:
    return lambda child: fn(child, item, index)


def _default_name(fn: Callable[..., Any]) -> str | None:
    name = getattr(fn, "__name__", None)
    if name is None or name == "<lambda>":
        inner = getattr(fn, "func", None)  # functools.partial
        return _default_name(inner) if inner is not None else None
    return str(name)
