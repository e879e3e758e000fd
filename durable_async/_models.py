"""Wire models of the Lambda durable execution API (botocore `lambda`, 2025-12-01 operations).

Field names are snake_case in Python and PascalCase on the wire (the botocore member names).
Timestamps parse from both forms the service uses: epoch milliseconds (the Lambda invocation
event) and `datetime` (botocore responses). `to_wire()` gives botocore keyword arguments.
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo
from pydantic.alias_generators import to_pascal

__all__ = [
    "CallbackDetails",
    "CallbackOptions",
    "ChainedInvokeDetails",
    "ChainedInvokeOptions",
    "CheckpointResponse",
    "ContextDetails",
    "ContextOptions",
    "ErrorObject",
    "ExecutionDetails",
    "ExecutionState",
    "InvocationInput",
    "InvocationOutput",
    "InvocationStatus",
    "Operation",
    "OperationAction",
    "OperationStatus",
    "OperationType",
    "OperationUpdate",
    "StepDetails",
    "StepOptions",
    "WaitDetails",
    "WaitOptions",
]


API_SECONDS = {"timestamps": "seconds"}
"""The validation context for the API's own JSON (`model_validate_json(..., context=...)`),
whose timestamps are epoch seconds, not the invocation event's milliseconds."""


def _to_datetime(value: Any, info: ValidationInfo) -> Any:
    """Accept epoch milliseconds (event form), epoch seconds (the API's JSON, under the
    `API_SECONDS` context) and datetimes (botocore form)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        if info.context is API_SECONDS:
            return dt.datetime.fromtimestamp(value, tz=dt.UTC)
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


Timestamp = Annotated[dt.datetime, BeforeValidator(_to_datetime)]


class _Wire(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_pascal, populate_by_name=True, extra="ignore", frozen=True
    )

    def to_wire(self) -> dict[str, Any]:
        """Return the botocore form: PascalCase keys, unset members left out."""
        return self.model_dump(by_alias=True, exclude_none=True)


class OperationType(StrEnum):
    """Kind of a durable operation."""

    EXECUTION = "EXECUTION"
    CONTEXT = "CONTEXT"
    STEP = "STEP"
    WAIT = "WAIT"
    CALLBACK = "CALLBACK"
    CHAINED_INVOKE = "CHAINED_INVOKE"


class OperationAction(StrEnum):
    """What an `OperationUpdate` asks the service to do."""

    START = "START"
    SUCCEED = "SUCCEED"
    FAIL = "FAIL"
    RETRY = "RETRY"
    CANCEL = "CANCEL"


class OperationStatus(StrEnum):
    """Status of a durable operation; the last five are terminal."""

    STARTED = "STARTED"
    PENDING = "PENDING"
    READY = "READY"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"
    STOPPED = "STOPPED"

    @property
    def is_terminal(self) -> bool:
        """Whether no further transition can happen."""
        return self in _TERMINAL


_TERMINAL = frozenset(
    {
        OperationStatus.SUCCEEDED,
        OperationStatus.FAILED,
        OperationStatus.CANCELLED,
        OperationStatus.TIMED_OUT,
        OperationStatus.STOPPED,
    }
)


class InvocationStatus(StrEnum):
    """Status a durable handler returns to Lambda."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    PENDING = "PENDING"


class ErrorObject(_Wire):
    """An error as the service stores it."""

    error_type: str | None = None
    error_message: str | None = None
    error_data: str | None = None
    stack_trace: list[str] | None = None

    @classmethod
    def from_exception(cls, exc: BaseException) -> ErrorObject:
        """Describe an exception: its type name, its message and where it was raised.

        `stack_trace` holds the frames of the handler's or step body's code, innermost first
        (see `durable_async._traceback.stack_trace`). A failed durable operation
        (`OperationError`) keeps the message it recorded, not the longer text naming the
        operation, and its inner error type goes in `error_data`, as in the operation's own
        checkpoint; it keeps the stack trace it recorded too (where the step body failed),
        else the frames where the handler let it escape. Every field is cut to the limits in
        `durable_async._traceback`.
        """
        from ._errors import error_object  # the conversion lives with the errors

        return error_object(exc)


class StepOptions(_Wire):
    """Options of a STEP RETRY update."""

    next_attempt_delay_seconds: int | None = None


class WaitOptions(_Wire):
    """Options of a WAIT START update."""

    wait_seconds: int | None = None


class CallbackOptions(_Wire):
    """Options of a CALLBACK START update (0 means no timeout)."""

    timeout_seconds: int | None = None
    heartbeat_timeout_seconds: int | None = None


class ChainedInvokeOptions(_Wire):
    """Options of a CHAINED_INVOKE START update."""

    function_name: str | None = None
    tenant_id: str | None = None
    x_amzn_trace_id: str | None = None
    """The X-Ray trace header the invoked function's execution continues (`XAmznTraceId`)."""


class ContextOptions(_Wire):
    """Options of a CONTEXT update."""

    replay_children: bool | None = None


class OperationUpdate(_Wire):
    """One change sent in `CheckpointDurableExecution(Updates=[...])`."""

    id: str
    type: OperationType
    action: OperationAction
    parent_id: str | None = None
    name: str | None = None
    sub_type: str | None = None
    payload: str | None = None
    error: ErrorObject | None = None
    context_options: ContextOptions | None = None
    step_options: StepOptions | None = None
    wait_options: WaitOptions | None = None
    callback_options: CallbackOptions | None = None
    chained_invoke_options: ChainedInvokeOptions | None = None
    body_waits: bool = Field(default=False, exclude=True)
    """Not sent: an at-most-once step's START, whose body runs only once it is acknowledged
    (so `LocalRunner(always_replay=True)` never ends an invocation right after one)."""


class ExecutionDetails(_Wire):
    """Details of the EXECUTION operation."""

    input_payload: str | None = None


class ContextDetails(_Wire):
    """Details of a CONTEXT operation."""

    replay_children: bool | None = None
    result: str | None = None
    error: ErrorObject | None = None


class StepDetails(_Wire):
    """Details of a STEP operation; `attempt` counts the attempts that ended in RETRY."""

    attempt: int | None = None
    next_attempt_timestamp: Timestamp | None = None
    result: str | None = None
    error: ErrorObject | None = None


class WaitDetails(_Wire):
    """Details of a WAIT operation."""

    scheduled_end_timestamp: Timestamp | None = None


class CallbackDetails(_Wire):
    """Details of a CALLBACK operation."""

    callback_id: str | None = None
    result: str | None = None
    error: ErrorObject | None = None


class ChainedInvokeDetails(_Wire):
    """Details of a CHAINED_INVOKE operation."""

    result: str | None = None
    error: ErrorObject | None = None


class Operation(_Wire):
    """The service's state of one operation."""

    id: str
    type: OperationType
    status: OperationStatus
    parent_id: str | None = None
    name: str | None = None
    sub_type: str | None = None
    start_timestamp: Timestamp | None = None
    end_timestamp: Timestamp | None = None
    execution_details: ExecutionDetails | None = None
    context_details: ContextDetails | None = None
    step_details: StepDetails | None = None
    wait_details: WaitDetails | None = None
    callback_details: CallbackDetails | None = None
    chained_invoke_details: ChainedInvokeDetails | None = None


class ExecutionState(_Wire):
    """A page of operations, with the marker of the next page if any."""

    operations: list[Operation] = []
    next_marker: str | None = None


class CheckpointResponse(_Wire):
    """Response of `CheckpointDurableExecution`; no token means the execution is closed."""

    checkpoint_token: str | None = None
    new_execution_state: ExecutionState | None = None


class InvocationInput(_Wire):
    """The event Lambda passes to a durable function."""

    durable_execution_arn: str
    checkpoint_token: str
    initial_execution_state: ExecutionState
    updated_operation_ids: list[str] = []
    """The operations the service changed since the last invocation (`UpdatedOperationIds`),
    when it says."""


MAX_RESPONSE_BYTES = 6 * 1024 * 1024
"""Lambda's limit on a synchronous invocation's response: the whole encoded JSON envelope."""


def response_too_large(result: str) -> bool:
    """Whether `{"Status": "SUCCEEDED", "Result": result}`, encoded as Lambda's runtime does,
    exceeds Lambda's response limit.

    JSON escaping inside the envelope can make it up to 12 times the result's length (an
    astral character becomes two `\\uXXXX` escapes), so only results too short to reach the
    limit even then skip the encoding.
    """
    if len(result) * 12 + 64 <= MAX_RESPONSE_BYTES:
        return False
    envelope = json.dumps({"Status": "SUCCEEDED", "Result": result})
    return len(envelope) > MAX_RESPONSE_BYTES  # ASCII: escaping left no multi-byte character


class InvocationOutput(_Wire):
    """What a durable handler returns to Lambda."""

    status: InvocationStatus
    result: str | None = None
    error: ErrorObject | None = None
