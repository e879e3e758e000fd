"""Deterministic operation ids, compatible with the official Python SDK's scheme.

The n-th operation (1-based) of the root context has raw id `str(n)`; in a child context it is
`f"{parent_id}-{n}"`, where `parent_id` is the child context's (hashed) id. Map and parallel items
use their 0-based index the same way. The id sent is the first 64 hex digits of blake2b(raw).
"""

from __future__ import annotations

from hashlib import blake2b

__all__ = ["operation_id"]


def operation_id(parent_id: str | None, position: int) -> str:
    """Return the id of the operation at `position` inside the context `parent_id`."""
    raw = f"{parent_id}-{position}" if parent_id else str(position)
    return blake2b(raw.encode()).hexdigest()[:64]
