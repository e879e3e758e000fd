"""The service's limits, in one table: the bound the Lambda API model states for each value,
and the one the SDK checks before anything is sent.

They differ in one place. The model types every operation payload (`OperationPayload`) as a
string of up to 6 MiB, and its documentation of `OperationUpdate.Payload` bounds it by
operation type (`PAYLOAD_BYTES`): 256 KiB for a step, context, wait or callback, 1 MiB for a
chained invoke, 6 MiB for a synchronous execution's result (1 MiB for an `Event` one). The SDK
checks the bound of the operation's type; a child context's larger result is checkpointed with
`ReplayChildren` instead (see `_operations/child.py`). `tests/test_limits.py` reads the
installed botocore's model, bounds and documentation alike, and holds the table to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "CALLBACK_TIMEOUT_SECONDS",
    "CHECKPOINT_TOKEN",
    "EXECUTION_INPUT_BYTES",
    "EXECUTION_NAME",
    "FUNCTION_NAME",
    "FUNCTION_NAME_PATTERN",
    "LIMITS",
    "OPERATION_ID",
    "OPERATION_NAME",
    "OPERATION_PAYLOAD_BYTES",
    "OPERATION_SUB_TYPE",
    "PAYLOAD_BYTES",
    "PAGE_ITEMS",
    "TENANT_ID",
    "TENANT_ID_PATTERN",
    "TRACE_HEADER",
    "WAIT_SECONDS",
    "Limit",
]


@dataclass(frozen=True)
class Limit:
    """One bound of the service.

    Attributes:
        shape: the Lambda API model's shape that states it.
        model_max: the model's bound (its `max`).
        max: the bound the SDK checks.
        unit: what is counted: bytes, characters, seconds or items.
    """

    shape: str
    model_max: int
    max: int
    unit: str


OPERATION_PAYLOAD_BYTES = Limit("OperationPayload", 6 * 1024 * 1024, 256 * 1024, "bytes")
EXECUTION_INPUT_BYTES = Limit("InputPayload", 6 * 1024 * 1024, 6 * 1024 * 1024, "bytes")
OPERATION_NAME = Limit("OperationName", 256, 256, "characters")
OPERATION_ID = Limit("OperationId", 64, 64, "characters")
OPERATION_SUB_TYPE = Limit("OperationSubType", 32, 32, "characters")
EXECUTION_NAME = Limit("DurableExecutionName", 64, 64, "characters")
CHECKPOINT_TOKEN = Limit("CheckpointToken", 2048, 2048, "characters")
TRACE_HEADER = Limit("XAmznTraceId", 8192, 8192, "characters")
WAIT_SECONDS = Limit("WaitOptionsWaitSecondsInteger", 31_622_400, 31_622_400, "seconds")
CALLBACK_TIMEOUT_SECONDS = Limit(
    "CallbackOptionsTimeoutSecondsInteger", 99_999_999, 99_999_999, "seconds"
)
PAGE_ITEMS = Limit("ItemCount", 1000, 1000, "items")
FUNCTION_NAME = Limit("NamespacedFunctionName", 256, 256, "characters")
TENANT_ID = Limit("TenantId", 256, 256, "characters")

FUNCTION_NAME_PATTERN = re.compile(
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
    r"(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)
"""`NamespacedFunctionName`'s pattern in the model: a name, a partial or full ARN, and an
optional version or alias."""
TENANT_ID_PATTERN = re.compile(r"[a-zA-Z0-9\._:\/=+\-@ ]+")
"""`TenantId`'s pattern in the model."""

PAYLOAD_BYTES = {
    "STEP": 256 * 1024,
    "CONTEXT": 256 * 1024,
    "WAIT": 256 * 1024,
    "CALLBACK": 256 * 1024,
    "CHAINED_INVOKE": 1024 * 1024,
    "EXECUTION": 6 * 1024 * 1024,
}
"""The payload bound of each operation type, as the model documents it (the EXECUTION one is a
synchronous invocation's)."""

LIMITS = (
    OPERATION_PAYLOAD_BYTES,
    EXECUTION_INPUT_BYTES,
    OPERATION_NAME,
    OPERATION_ID,
    OPERATION_SUB_TYPE,
    EXECUTION_NAME,
    CHECKPOINT_TOKEN,
    TRACE_HEADER,
    WAIT_SECONDS,
    CALLBACK_TIMEOUT_SECONDS,
    PAGE_ITEMS,
    FUNCTION_NAME,
    TENANT_ID,
)
"""Every limit, for the test that holds the table to the model."""
