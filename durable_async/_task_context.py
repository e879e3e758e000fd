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

__all__ = ["ContextState", "StepScope", "current_runtime", "current_step"]


@dataclass(frozen=True)
class StepScope:
    """Marks code running inside the body of step `operation_id` of `runtime`."""

    runtime: ExecutionRuntime
    operation_id: str
    name: str | None
    attempt: int


@dataclass(frozen=True)
class ContextState:
    """A durable context's standing, as `DurableContext.state` reports it.

    Attributes:
        execution_arn: the execution's ARN.
        parent_id: the id of the child context, `None` for the root context.
        replaying: whether the calling task re-runs an earlier invocation's code.
    """

    execution_arn: str
    parent_id: str | None
    replaying: bool


current_step: ContextVar[StepScope | None] = ContextVar("durable_async_step", default=None)

current_runtime: ContextVar[ExecutionRuntime | None] = ContextVar(
    "durable_async_runtime", default=None
)
"""The invocation whose handler code runs in this task (set in the handler's root task, copied
into every task it creates)."""
