"""What a run's operations say beyond their fields: the index of each map or parallel item,
the attempts of a step, the error an operation recorded. The command's report and the
testing assertions read them alike."""

from __future__ import annotations

from collections.abc import Iterable

from ._ids import operation_id
from ._models import ErrorObject, Operation, OperationStatus, OperationType

__all__ = ["attempts", "item_indexes", "operation_error"]

_ITEM_SUB_TYPES = frozenset({"MapIteration", "ParallelBranch"})


def item_indexes(operations: Iterable[Operation]) -> dict[str, int]:
    """The index of each map or parallel item, by operation id.

    An item's id derives from its 0-based index in its batch (see `_ids`), and an item starts
    only once the ones before it have, so its index is below the batch's count of children.
    """
    children: dict[str, list[Operation]] = {}
    for op in operations:
        if op.parent_id is not None:
            children.setdefault(op.parent_id, []).append(op)
    found: dict[str, int] = {}
    for parent, kids in children.items():
        items = [
            op for op in kids if op.type is OperationType.CONTEXT and op.sub_type in _ITEM_SUB_TYPES
        ]
        if items:
            ids = {operation_id(parent, i): i for i in range(len(kids))}
            found.update((op.id, ids[op.id]) for op in items if op.id in ids)
    return found


def attempts(op: Operation) -> int:
    """A step's attempts so far, counting from 1: those that ended in a retry (the service's
    `StepDetails.attempt`), plus the last one unless the step waits for its next attempt."""
    retried = (op.step_details.attempt if op.step_details else 0) or 0
    waiting = op.status in (OperationStatus.PENDING, OperationStatus.READY)
    return retried if waiting else retried + 1


def operation_error(op: Operation) -> ErrorObject | None:
    """The error the operation recorded, whatever its type."""
    for details in (
        op.step_details,
        op.context_details,
        op.callback_details,
        op.chained_invoke_details,
    ):
        if details is not None:
            return details.error
    return None
