"""Chained invokes: call another Lambda function durably and await its result."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._errors import InvokeError, operation_error
from ._models import (
    ChainedInvokeOptions,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)
from ._serdes import Serdes

if TYPE_CHECKING:
    from ._runtime import ExecutionRuntime

__all__ = ["run_invoke"]


def _or_null(payload: str | None) -> str:
    return "null" if payload is None else payload


def _ended(op: Operation) -> bool:
    return op.status.is_terminal


async def run_invoke(
    runtime: ExecutionRuntime,
    op_id: str,
    name: str | None,
    parent_id: str | None,
    function_name: str,
    payload: Any,
    *,
    tenant_id: str | None,
    result_type: Any,
    payload_serdes: Serdes,
    result_serdes: Serdes,
) -> Any:
    """Start the invoke (unless the history has it) and park until the service reports back."""
    op = runtime.store.get(op_id)
    if op is None:
        op = await runtime.send(
            OperationUpdate(
                id=op_id,
                type=OperationType.CHAINED_INVOKE,
                action=OperationAction.START,
                parent_id=parent_id,
                name=name,
                sub_type="ChainedInvoke",
                # A Lambda event is always a JSON document: no payload is sent as `null`.
                payload=_or_null(payload_serdes.serialize(payload)),
                chained_invoke_options=ChainedInvokeOptions(
                    function_name=function_name, tenant_id=tenant_id
                ),
            )
        )
    if not op.status.is_terminal:
        op = await runtime.park(op_id, _ended)
    details = op.chained_invoke_details
    if op.status is OperationStatus.SUCCEEDED:
        return result_serdes.deserialize(details.result if details else None, result_type)
    error = operation_error(InvokeError, details.error if details else None, op_id, name)
    error.status = op.status.value
    raise error
