"""Chained invokes: call another Lambda function durably and await its result."""

from __future__ import annotations

import os
import re
from typing import Any

from .._errors import InvokeError, ValidationError
from .._lifecycle import OperationHandle, ended
from .._limits import FUNCTION_NAME, FUNCTION_NAME_PATTERN, TENANT_ID, TENANT_ID_PATTERN, Limit
from .._models import ChainedInvokeOptions, OperationAction, OperationStatus, OperationType
from .._operation import DurableOperation
from .._scope import IdScope
from .._serdes import Serdes

__all__ = ["invoke_operation", "run_invoke"]


def invoke_operation(
    scope: IdScope,
    function_name: str,
    payload: Any,
    name: str | None,
    tenant_id: str | None,
    result_type: Any,
    payload_serdes: Serdes | None,
    result_serdes: Serdes | None,
) -> DurableOperation[Any]:
    """A CHAINED_INVOKE of `scope` calling `function_name` with `payload`; the function name
    and tenant id are checked now, as the service would check them.

    Raises:
        ValidationError: the function name or tenant id is one the service refuses.
    """
    _check(function_name, FUNCTION_NAME, FUNCTION_NAME_PATTERN, "function name")
    if tenant_id is not None:
        _check(tenant_id, TENANT_ID, TENANT_ID_PATTERN, "tenant id")
    default = scope.runtime.serdes
    return scope.operation(
        OperationType.CHAINED_INVOKE,
        "ChainedInvoke",
        name,
        lambda op: run_invoke(
            op,
            function_name,
            payload,
            tenant_id=tenant_id,
            result_type=result_type,
            payload_serdes=payload_serdes or default,
            result_serdes=result_serdes or default,
        ),
    )


def _check(value: object, limit: Limit, pattern: re.Pattern[str], what: str) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= limit.max:
        raise ValidationError(
            f"invoke {what} must be a string of 1 to {limit.max} characters, got {value!r:.80}"
        )
    if pattern.fullmatch(value) is None:
        raise ValidationError(f"invoke {what} {value!r:.80} is not one the service accepts")


def _or_null(payload: str | None) -> str:
    return "null" if payload is None else payload


async def run_invoke(
    op: OperationHandle,
    function_name: str,
    payload: Any,
    *,
    tenant_id: str | None,
    result_type: Any,
    payload_serdes: Serdes,
    result_serdes: Serdes,
) -> Any:
    """Start the invoke (unless the history has it) and park until the service reports back."""
    state = op.state()
    if state is None:
        state = await op.send(
            OperationAction.START,
            # A Lambda event is always a JSON document: no payload is sent as `null`.
            payload=_or_null(payload_serdes.serialize(payload)),
            chained_invoke_options=ChainedInvokeOptions(
                function_name=function_name,
                tenant_id=tenant_id,
                # The invocation's trace (a tracing plugin's span, else what Lambda's Python
                # runtime keeps in the environment): the invoked function's execution
                # continues it.
                x_amzn_trace_id=op.runtime.plugins.trace_header(op.runtime.arn)
                or os.environ.get("_X_AMZN_TRACE_ID")
                or None,
            ),
        )
    if not state.status.is_terminal:
        state = await op.park(ended)
    details = state.chained_invoke_details
    if state.status is OperationStatus.SUCCEEDED:
        return result_serdes.deserialize(details.result if details else None, result_type)
    error = op.error(InvokeError, details.error if details else None)
    error.status = state.status.value
    raise error
