"""One invocation of a function as a runner's `around` hook sees it, and the function error a
hook raises to end it as Lambda's runtime would report a failure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Around", "FunctionError", "Invocation", "LocalLambdaContext"]


@dataclass(frozen=True)
class Invocation:
    """One invocation of a function, as an `around` hook sees it.

    Attributes:
        function: the function's name (a qualifier such as `name:1` is dropped).
        payload: the Invoke payload, decoded from JSON (`None` for an empty body).
        durable: whether the function is a durable one (the payload is then the durable
            invocation event).
    """

    function: str
    payload: Any
    durable: bool

    @property
    def execution_arn(self) -> str | None:
        """The ARN of the durable execution being invoked (durable functions only)."""
        if self.durable and isinstance(self.payload, dict):
            arn = self.payload.get("DurableExecutionArn")
            return None if arn is None else str(arn)
        return None


class FunctionError(Exception):
    """Raise it from an `around` hook to end the invocation with this function error.

    It stands for what Lambda reports when the function's runtime itself fails (for example a
    `Runtime.ExitError` for a process that exited). `LambdaEndpoint` answers the Invoke with it
    and does not record it in `errors`; `LocalRunner` records a failed invocation and invokes
    again (a chained invoke of a plain function fails with it).
    """

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


Around = Callable[[Invocation, Callable[[], Awaitable[Any]]], Awaitable[Any]]
"""`await around(invocation, call)`: runs one invocation; it must await `call()` and return its
result, or raise (`FunctionError` to choose the error)."""


@dataclass(frozen=True)
class LocalLambdaContext:
    """The Lambda context object a local run hands the handler (`ctx.lambda_context`), with
    the attributes Lambda's has, so code and tools that read them (Powertools' decorators, a
    log line naming the request) work locally.

    It has no `get_remaining_time_in_millis`: a local invocation has no time limit.

    Attributes:
        function_name: the function's name.
        aws_request_id: the invocation's request id (`local-1`, `local-2`, ...).
        function_version: `$LATEST`.
        memory_limit_in_mb: 128.
        invoked_function_arn: a local ARN naming the function.
        log_group_name: `/aws/lambda/<function_name>`.
        log_stream_name: `local`.
    """

    function_name: str
    aws_request_id: str
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 128
    log_stream_name: str = "local"
    tenant_id: str | None = None

    @property
    def invoked_function_arn(self) -> str:
        """`arn:aws:lambda:local:000000000000:function:<function_name>`."""
        return f"arn:aws:lambda:local:000000000000:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        """`/aws/lambda/<function_name>`."""
        return f"/aws/lambda/{self.function_name}"
