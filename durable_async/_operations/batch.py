"""Map and parallel: each item a child context, run as asyncio tasks, with a completion policy."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from .._errors import (
    ChildContextError,
    NonDeterministicExecutionError,
    ValidationError,
    error_object,
    recorded_error,
)
from .._lineage import fresh_root, spawn
from .._models import ErrorObject, OperationType
from .._names import check_names
from .._operation import DurableOperation
from .._scope import ContextBody, IdScope
from .._serdes import JsonSerdes, Serdes, round_trip
from .child import child_operation, run_child

if TYPE_CHECKING:
    from .._runtime import ExecutionRuntime

__all__ = [
    "BatchItem",
    "BatchOptions",
    "BatchItemStatus",
    "BatchResult",
    "CompletionConfig",
    "CompletionReason",
    "Nesting",
    "batch_operation",
    "run_batch",
]

T = TypeVar("T")


class Nesting(StrEnum):
    """How map and parallel items are checkpointed (the plain strings work too).

    `NESTED`: each item is a child context of the batch, with its own result.
    `FLAT`: each item runs in a virtual context; its operations are the batch's children.
    """

    NESTED = "nested"
    FLAT = "flat"


@dataclass(frozen=True)
class BatchOptions:
    """The options `map` and `parallel` share."""

    name: str | None
    max_concurrency: int | None
    completion: CompletionConfig | None
    item_names: Sequence[str | None] | None
    item_serdes: Serdes | None
    serdes: Serdes | None
    nesting: Nesting | str


@dataclass(frozen=True)
class CompletionConfig:
    """When a map or parallel operation is complete.

    With every field `None` (the default), the batch completes at the first failure or when all
    items succeeded. `min_successful` completes it as soon as that many items succeeded; the
    tolerated failures complete it (as failed) once failures exceed them.
    """

    min_successful: int | None = None
    tolerated_failure_count: int | None = None
    tolerated_failure_percentage: float | None = None

    @classmethod
    def all_successful(cls) -> CompletionConfig:
        """Every item must succeed; the first failure ends the batch."""
        return cls(tolerated_failure_count=0, tolerated_failure_percentage=0)

    @classmethod
    def all_completed(cls) -> CompletionConfig:
        """Run every item, whatever fails."""
        return cls(tolerated_failure_percentage=100)

    @classmethod
    def first_successful(cls) -> CompletionConfig:
        """Complete at the first success."""
        return cls(min_successful=1)

    def validate(self, total: int) -> None:
        """Check the thresholds against the number of items."""
        if self.min_successful is not None and not 0 < self.min_successful <= max(total, 1):
            raise ValidationError(
                f"min_successful must be between 1 and the {total} items, got {self.min_successful}"
            )
        if self.tolerated_failure_count is not None and self.tolerated_failure_count < 0:
            raise ValidationError("tolerated_failure_count must be >= 0")
        pct = self.tolerated_failure_percentage
        if pct is not None and not 0 <= pct <= 100:
            raise ValidationError(f"tolerated_failure_percentage must be in 0..100, got {pct}")

    def failed_too_often(self, failures: int, total: int) -> bool:
        """Whether `failures` out of `total` exceed the tolerance."""
        if failures == 0:
            return False
        count, pct = self.tolerated_failure_count, self.tolerated_failure_percentage
        if count is None and pct is None:
            return self.min_successful is None  # the fail-fast default
        if count is not None and failures > count:
            return True
        return pct is not None and failures * 100 > pct * total


class BatchItemStatus(StrEnum):
    """Outcome of one item.

    `NOT_COMPLETED`: started, but the batch completed before it did (it was cancelled).
    `NOT_STARTED`: the batch completed before a concurrency slot freed up for it.
    """

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    NOT_COMPLETED = "NOT_COMPLETED"
    NOT_STARTED = "NOT_STARTED"


class CompletionReason(StrEnum):
    """Why a batch completed."""

    ALL_COMPLETED = "ALL_COMPLETED"
    MIN_SUCCESSFUL_REACHED = "MIN_SUCCESSFUL_REACHED"
    FAILURE_TOLERANCE_EXCEEDED = "FAILURE_TOLERANCE_EXCEEDED"


class BatchItem(BaseModel, Generic[T]):
    """One item of a batch: its index, status, and result or error."""

    index: int
    status: BatchItemStatus
    result: T | None = None
    error: ErrorObject | None = None


class BatchResult(BaseModel, Generic[T]):
    """The outcome of `map` or `parallel`, item by item in input order.

    `items` holds one entry per input, started or not; `total_count` counts the items that
    started, as the official SDKs' `totalCount` does.
    """

    items: list[BatchItem[T]]
    completion_reason: CompletionReason

    def results(self) -> list[T | None]:
        """Results of the items that succeeded, in input order."""
        return [i.result for i in self.items if i.status is BatchItemStatus.SUCCEEDED]

    def errors(self) -> list[ErrorObject]:
        """Errors of the items that failed, in input order."""
        return [i.error for i in self.items if i.error is not None]

    @property
    def success_count(self) -> int:
        """How many items succeeded."""
        return sum(i.status is BatchItemStatus.SUCCEEDED for i in self.items)

    @property
    def failure_count(self) -> int:
        """How many items failed."""
        return sum(i.status is BatchItemStatus.FAILED for i in self.items)

    @property
    def total_count(self) -> int:
        """How many items started (succeeded, failed, or cut short by early completion)."""
        return sum(i.status is not BatchItemStatus.NOT_STARTED for i in self.items)

    @property
    def has_failure(self) -> bool:
        """Whether any item failed."""
        return any(i.status is BatchItemStatus.FAILED for i in self.items)

    @property
    def status(self) -> BatchItemStatus:
        """`FAILED` if any item failed, else `SUCCEEDED`."""
        return BatchItemStatus.FAILED if self.has_failure else BatchItemStatus.SUCCEEDED

    def raise_if_failed(self) -> None:
        """Raise the first item's error if the batch exceeded its failure tolerance."""
        if self.completion_reason is CompletionReason.FAILURE_TOLERANCE_EXCEEDED:
            first = next(i for i in self.items if i.error is not None)
            err = first.error or ErrorObject()
            raise ChildContextError(
                err.error_type or "Error",
                err.error_message or "",
                operation_name=f"item {first.index}",
            )


def batch_operation(
    scope: IdScope,
    sub_type: str,
    item_sub_type: str,
    bodies: list[ContextBody],
    options: BatchOptions,
) -> DurableOperation[BatchResult[Any]]:
    """A `Map` or `Parallel` CONTEXT of `scope` running `bodies` as its items; every option is
    checked now, at the call."""
    policy = options.completion or CompletionConfig()
    policy.validate(len(bodies))
    if options.max_concurrency is not None and options.max_concurrency < 1:
        raise ValidationError(f"max_concurrency must be >= 1, got {options.max_concurrency}")
    if options.nesting not in tuple(Nesting):
        raise ValidationError(f"nesting must be 'nested' or 'flat', got {options.nesting!r}")
    check_names(options.item_names, item_sub_type)
    runtime = scope.runtime
    item_serdes = options.item_serdes or runtime.serdes

    def body(batch: IdScope) -> Coroutine[Any, Any, BatchResult[Any]]:
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

    return child_operation(
        scope,
        sub_type,
        options.name,
        body,
        result_type=BatchResult[Any],
        serdes=options.serdes or JsonSerdes(),
    )


async def run_batch(
    runtime: ExecutionRuntime,
    batch: IdScope,
    bodies: Sequence[ContextBody],
    *,
    item_sub_type: str,
    item_names: Sequence[str | None] | None,
    max_concurrency: int | None,
    completion: CompletionConfig,
    serdes: Serdes,
    flat: bool,
) -> BatchResult[Any]:
    """Run every body in its own (child or virtual) context of `batch`; stop early by
    `completion`."""
    total = len(bodies)
    items = [BatchItem[Any](index=i, status=BatchItemStatus.NOT_STARTED) for i in range(total)]
    if total == 0:
        return BatchResult[Any](items=items, completion_reason=CompletionReason.ALL_COMPLETED)
    limit = asyncio.Semaphore(max_concurrency or total)
    done = asyncio.Event()
    counts = {"ok": 0, "failed": 0}
    reason: list[CompletionReason] = []

    def finish(why: CompletionReason) -> None:
        if not reason:
            reason.append(why)
            done.set()

    async def run_item(index: int, body: ContextBody) -> None:
        async with limit:
            if reason:
                return
            items[index] = BatchItem[Any](index=index, status=BatchItemStatus.NOT_COMPLETED)
            name = item_names[index] if item_names is not None else None
            run = _run_flat if flat else _run_nested
            items[index] = await run(runtime, batch, index, name, item_sub_type, body, serdes)
            counts["ok" if items[index].status is BatchItemStatus.SUCCEEDED else "failed"] += 1
        if completion.min_successful is not None and counts["ok"] >= completion.min_successful:
            finish(CompletionReason.MIN_SUCCESSFUL_REACHED)
        elif completion.failed_too_often(counts["failed"], total):
            finish(CompletionReason.FAILURE_TOLERANCE_EXCEEDED)
        elif counts["ok"] + counts["failed"] == total:
            finish(CompletionReason.ALL_COMPLETED)

    tasks = [spawn(run_item(i, body)) for i, body in enumerate(bodies)]
    try:
        await done.wait()
    finally:
        for task in tasks:  # early completion: the rest are orphaned and cancelled
            if not task.done():
                task.cancel()
    return BatchResult[Any](items=items, completion_reason=reason[0])


async def _run_nested(
    runtime: ExecutionRuntime,
    batch: IdScope,
    index: int,
    name: str | None,
    sub_type: str,
    body: ContextBody,
    serdes: Serdes,
) -> BatchItem[Any]:
    """One item as a child context of the batch, checkpointed with its own result."""
    op = batch.begin_at(index, OperationType.CONTEXT, sub_type, name)
    try:
        value = await run_child(
            op,
            batch,
            body,
            result_type=None,
            serdes=serdes,
            await_success=False,
        )
    except ChildContextError as exc:
        error = recorded_error(exc)
        return BatchItem[Any](index=index, status=BatchItemStatus.FAILED, error=error)
    return BatchItem[Any](index=index, status=BatchItemStatus.SUCCEEDED, result=value)


async def _run_flat(
    runtime: ExecutionRuntime,
    batch: IdScope,
    index: int,
    name: str | None,
    sub_type: str,
    body: ContextBody,
    serdes: Serdes,
) -> BatchItem[Any]:
    """One item in a virtual context: its operations are the batch's own children."""
    scope = batch.id_at(index)
    try:
        with fresh_root(scope):
            value = await body(batch.virtual(scope))
        # As a nested item returns it; a value that cannot be checkpointed fails the item.
        _, result = round_trip(serdes, value, None, f"item {index}")
    except Exception as exc:
        if isinstance(exc, NonDeterministicExecutionError) or runtime.fatal is not None:
            raise  # the invocation is failing as a whole
        error = error_object(exc)
        return BatchItem[Any](index=index, status=BatchItemStatus.FAILED, error=error)
    return BatchItem[Any](index=index, status=BatchItemStatus.SUCCEEDED, result=result)
