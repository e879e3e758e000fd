"""Deterministic operation ids, compatible with the official Python SDK's scheme.

The n-th operation (1-based) of the root context has raw id `str(n)`; in a child context it is
`f"{parent_id}-{n}"`, where `parent_id` is the child context's (hashed) id. Map and parallel items
use their 0-based index the same way. The id sent is the first 64 hex digits of blake2b(raw).

Operations called by other tasks than the context's own are counted per task lineage (see
`_lineage`): the n-th operation of the task with lineage label `L` has raw id `f"tL-{n}"` at the
root and `f"{parent_id}-tL-{n}"` in a child context. The `t` keeps them apart from the official
scheme's ids, which the context's own task keeps.
"""

from __future__ import annotations

from hashlib import blake2b

__all__ = ["lane_operation_id", "operation_id"]


def operation_id(parent_id: str | None, position: int) -> str:
    """Return the id of the operation at `position` inside the context `parent_id`."""
    raw = f"{parent_id}-{position}" if parent_id else str(position)
    return blake2b(raw.encode()).hexdigest()[:64]


def lane_operation_id(parent_id: str | None, label: str, position: int) -> str:
    """Return the id of the `position`-th operation that the task labelled `label` calls in the
    context `parent_id`."""
    raw = f"{parent_id}-t{label}-{position}" if parent_id else f"t{label}-{position}"
    return blake2b(raw.encode()).hexdigest()[:64]
