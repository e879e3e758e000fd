"""The batch summary the map and parallel requirements return."""

from __future__ import annotations

from typing import Any

from durable_async import BatchResult

__all__ = ["ALL_FIELDS", "COUNT_FIELDS", "outcome"]

ALL_FIELDS = ("completionReason", "status", "successCount", "failureCount", "totalCount")
COUNT_FIELDS = ("completionReason", "successCount", "failureCount", "totalCount")


def outcome(batch: BatchResult[Any], *fields: str) -> dict[str, Any]:
    """How the batch completed: `fields` of completionReason, status, success/failure/total count.

    `status` is FAILED when any item failed, whatever the completion reason.
    """
    summary: dict[str, Any] = {
        "completionReason": batch.completion_reason.value,
        "status": "FAILED" if batch.failure_count else "SUCCEEDED",
        "successCount": batch.success_count,
        "failureCount": batch.failure_count,
        "totalCount": batch.total_count,
    }
    return {field: summary[field] for field in fields}
