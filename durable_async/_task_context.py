"""The per-task durable context, held in a `ContextVar` (the async form of a thread-local).

Tasks created while a durable context is current (by `asyncio.gather`, `TaskGroup`,
`create_task`) copy it, so every task knows which execution it belongs to and whether it is
running inside a step body.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._runtime import ExecutionRuntime

__all__ = ["StepScope", "current_step"]


@dataclass(frozen=True)
class StepScope:
    """Marks code running inside the body of step `operation_id` of `runtime`."""

    runtime: ExecutionRuntime
    operation_id: str
    name: str | None
    attempt: int


current_step: ContextVar[StepScope | None] = ContextVar("durable_async_step", default=None)
