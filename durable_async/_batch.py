"""Map and parallel: each item a child context, run as asyncio tasks, with a completion policy."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from ._errors import ChildContextError, ValidationError
from ._models import ErrorObject, OperationType
from ._serdes import Serdes

if TYPE_CHECKING:
    from ._context import DurableContext
    from ._runtime import ExecutionRuntime

__all__ = [
    "BatchItem",
    "BatchItemStatus",
    "BatchResult",
    "CompletionConfig",
    "CompletionReason",
    "run_batch",
]

T = TypeVar("T")
ItemBody = Callable[["DurableContext"], Coroutine[Any, Any, Any]]


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
    """Outcome of one item."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    NOT_COMPLETED = "NOT_COMPLETED"


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
    """The outcome of `map` or `parallel`, item by item in input order."""

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


async def run_batch(
    runtime: ExecutionRuntime,
    batch: DurableContext,
    bodies: Sequence[ItemBody],
    *,
    item_sub_type: str,
    max_concurrency: int | None,
    completion: CompletionConfig,
    serdes: Serdes,
) -> BatchResult[Any]:
    """Run every body in its own child context of `batch`; stop early by `completion`."""
    from ._child import run_child

    total = len(bodies)
    items = [BatchItem[Any](index=i, status=BatchItemStatus.NOT_COMPLETED) for i in range(total)]
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

    async def run_item(index: int, body: ItemBody) -> None:
        async with limit:
            if reason:
                return
            op_id = batch.begin_at(index, OperationType.CONTEXT, item_sub_type, None)
            try:
                value = await run_child(
                    runtime,
                    batch,
                    op_id,
                    None,
                    item_sub_type,
                    body,
                    result_type=None,
                    serdes=serdes,
                )
            except ChildContextError as exc:
                items[index] = BatchItem[Any](
                    index=index,
                    status=BatchItemStatus.FAILED,
                    error=ErrorObject(error_type=exc.error_type, error_message=exc.error_message),
                )
                counts["failed"] += 1
            else:
                items[index] = BatchItem[Any](
                    index=index, status=BatchItemStatus.SUCCEEDED, result=value
                )
                counts["ok"] += 1
        if completion.min_successful is not None and counts["ok"] >= completion.min_successful:
            finish(CompletionReason.MIN_SUCCESSFUL_REACHED)
        elif completion.failed_too_often(counts["failed"], total):
            finish(CompletionReason.FAILURE_TOLERANCE_EXCEEDED)
        elif counts["ok"] + counts["failed"] == total:
            finish(CompletionReason.ALL_COMPLETED)

    tasks = [asyncio.ensure_future(run_item(i, body)) for i, body in enumerate(bodies)]
    try:
        await done.wait()
    finally:
        for task in tasks:  # early completion: the rest are orphaned and cancelled
            if not task.done():
                task.cancel()
    return BatchResult[Any](items=items, completion_reason=reason[0])
