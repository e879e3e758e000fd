"""Durable combinators: all, all_settled, any, race — deterministic on replay.

`any` and `race` record the winner's index durably (a STEP operation), so a replay returns the
same winner even if, in the history, several operations have finished by now.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .._errors import AllOperationsFailedError
from .._lifecycle import OperationHandle
from .._lineage import spawn
from .._models import OperationAction, OperationStatus, OperationType
from .._names import check_name
from .._operation import DurableOperation
from .._scope import IdScope

__all__ = ["Settled", "first_operation", "run_all", "run_all_settled", "run_first"]

T = TypeVar("T")


@dataclass(frozen=True)
class Settled(Generic[T]):
    """The outcome of one operation under `all_settled`: a value or an error."""

    ok: bool
    value: T | None = None
    error: BaseException | None = None


async def run_all(ops: Sequence[DurableOperation[Any]]) -> list[Any]:
    """Every result in order; the first failure cancels the rest and is raised."""
    tasks = [spawn(op) for op in ops]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()


async def run_all_settled(ops: Sequence[DurableOperation[Any]]) -> list[Settled[Any]]:
    """Every outcome in order, failures included."""
    outcomes = await asyncio.gather(*(spawn(op) for op in ops), return_exceptions=True)
    settled: list[Settled[Any]] = []
    for outcome in outcomes:
        if isinstance(outcome, asyncio.CancelledError):
            raise outcome
        if isinstance(outcome, BaseException):
            settled.append(Settled(False, error=outcome))
        else:
            settled.append(Settled(True, value=outcome))
    return settled


def first_operation(
    scope: IdScope,
    ops: Sequence[DurableOperation[Any]],
    name: str | None,
    *,
    successes_only: bool,
) -> DurableOperation[Any]:
    """An `Any` (`successes_only`) or `Race` STEP of `scope` recording which of `ops` won."""
    sub_type = "Any" if successes_only else "Race"
    check_name(name, sub_type)  # before taking the operations over: a refused call drops none
    for op in ops:
        # The combinator owns them now: it awaits them, or, on replay, only the recorded
        # winner; if it is itself never awaited, it is the one reported.
        op._hand_over()
    return scope.operation(
        OperationType.STEP,
        sub_type,
        name,
        lambda op: run_first(op, ops, successes_only=successes_only),
    )


async def run_first(
    op: OperationHandle, ops: Sequence[DurableOperation[Any]], *, successes_only: bool
) -> Any:
    """The first operation to finish (`race`) or to succeed (`any`); the winner is recorded."""
    recorded = op.state()
    if recorded is not None and recorded.status is OperationStatus.SUCCEEDED:
        payload = recorded.step_details.result if recorded.step_details else None
        return await ops[int(payload or 0)]
    tasks = [spawn(op) for op in ops]
    errors: list[BaseException | None] = [None] * len(tasks)
    winner: int | None = None
    pending = set(tasks)
    try:
        while pending and winner is None:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for index in sorted(tasks.index(t) for t in done):
                task = tasks[index]
                if task.cancelled():
                    raise asyncio.CancelledError
                if task.exception() is None or not successes_only:
                    winner = index
                    break
                errors[index] = task.exception()
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
    if winner is None:
        raise AllOperationsFailedError([e for e in errors if e is not None])

    op.queue(OperationAction.START)
    await op.send(OperationAction.SUCCEED, payload=str(winner))
    return tasks[winner].result()
