"""The lifecycle every operation shares: one handle holding who the operation is.

An operation is written as `run_<name>(op, ...)` on an `OperationHandle`: it reads the state the
history holds (`op.state()`), starts the operation (`await op.send(START, ...)` when its code must
wait for the acknowledgement, `op.queue(START)` when it need not), parks until the service
reports what it waits for (`await op.park(ended)`), and records its outcome (`op.send(SUCCEED)`,
`op.fail(ErrorClass, exc)`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from ._errors import OperationError, error_object, operation_error
from ._models import (
    ErrorObject,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)

if TYPE_CHECKING:
    from ._runtime import ExecutionRuntime
    from ._store import Condition

__all__ = ["OperationHandle", "ended", "settled_or_ready"]

E = TypeVar("E", bound=OperationError)


def ended(op: Operation) -> bool:
    """The operation reached a terminal status."""
    return op.status.is_terminal


def settled_or_ready(op: Operation) -> bool:
    """The operation is no longer waiting for a retry delay to pass."""
    return op.status is not OperationStatus.PENDING


@dataclass(frozen=True, slots=True)
class OperationHandle:
    """One operation of one invocation: its identity, and the runtime it checkpoints through."""

    runtime: ExecutionRuntime
    id: str
    kind: OperationType
    sub_type: str
    name: str | None
    parent_id: str | None

    @property
    def label(self) -> str:
        """How messages name the operation: its name, else its id, quoted."""
        return repr(self.name or self.id)

    def state(self) -> Operation | None:
        """What the service last reported of the operation (`None`: never seen)."""
        return self.runtime.store.get(self.id)

    def update(self, action: OperationAction, **fields: Any) -> OperationUpdate:
        """An update of this operation."""
        return OperationUpdate(
            id=self.id,
            type=self.kind,
            action=action,
            parent_id=self.parent_id,
            name=self.name,
            sub_type=self.sub_type,
            **fields,
        )

    def send(self, action: OperationAction, **fields: Any) -> asyncio.Future[Operation]:
        """Checkpoint an update; await the result for the operation's acknowledged state.

        A plain method returning the runtime's future, not a coroutine: an operation waiting
        for its checkpoint (or, with `park`, for the service) keeps no frame of its own.
        """
        return self.runtime.send(self.update(action, **fields))

    def queue(self, action: OperationAction, **fields: Any) -> None:
        """Checkpoint an update without waiting (it rides in the next request)."""
        self.runtime.queue(self.update(action, **fields))

    def park(
        self, condition: Condition = ended, *, due: float | None = None
    ) -> asyncio.Future[Operation]:
        """Wait until the service reports the operation satisfying `condition`: await the
        result (see `ExecutionRuntime.park`)."""
        return self.runtime.park(self.id, condition, due=due)

    def error(self, cls: type[E], err: ErrorObject | None) -> E:
        """The `cls` error this operation's recorded `err` stands for."""
        return operation_error(cls, err, self.id, self.name)

    async def fail(self, cls: type[E], exc: BaseException) -> NoReturn:
        """Record `exc` as the operation's failure, then raise it as a `cls` error."""
        error = error_object(exc)
        await self.send(OperationAction.FAIL, error=error)
        raise self.error(cls, error) from exc
