"""Chained invokes on the embedded service: what the backend hands its invoker and gets back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..._models import ErrorObject, OperationStatus

__all__ = ["InvokeOutcome", "InvokeRequest", "Invoker"]


@dataclass(frozen=True)
class InvokeOutcome:
    """What a chained invoke ended with: a JSON result payload, or an error."""

    result: str | None = None
    error: ErrorObject | None = None
    status: OperationStatus | None = None


@dataclass(frozen=True)
class InvokeRequest:
    """A chained invoke the backend hands to its invoker.

    A durable target runs as a child execution: start it with
    `backend.start_execution(..., invoked_by=request)`, which links the child's ARN to the
    caller's `ChainedInvokeStarted` event, as the service does.
    """

    function_name: str
    payload: str | None
    tenant_id: str | None
    caller_arn: str
    operation_id: str


Invoker = Callable[[InvokeRequest], Awaitable[InvokeOutcome]]
"""`(request) -> InvokeOutcome`: runs a chained invoke's target."""
