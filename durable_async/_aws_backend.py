"""The AWS backend: the Lambda durable execution API through one reused aiobotocore client."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import Any

from ._clock import Clock, SystemClock
from ._errors import (
    BackendError,
    BackendUnavailableError,
    CheckpointRejectedError,
    StaleCheckpointTokenError,
)
from ._models import CheckpointResponse, ExecutionState, Operation, OperationUpdate

__all__ = ["AwsBackend", "classify_error"]

_TRANSIENT_CODES = {"TooManyRequestsException", "ServiceException", "ThrottlingException"}


def classify_error(operation: str, exc: Exception) -> BackendError:
    """Map a botocore error to the runtime's error classes (see the Backend protocol).

    A stale checkpoint token ends the invocation quietly; throttling, 5xx and connection errors
    are retried by Lambda; KMS errors and every other 4xx fail the execution.
    """
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return BackendUnavailableError(f"{operation}: {exc}", code=type(exc).__name__, cause=exc)
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    text = f"{operation} failed with {code or status}: {message}"
    if code == "InvalidParameterValueException" and message.lower().startswith(
        "invalid checkpoint token"
    ):
        return StaleCheckpointTokenError(text, code=code, cause=exc)
    if code in _TRANSIENT_CODES or status == 429 or status >= 500:
        return BackendUnavailableError(text, code=code, cause=exc)
    return CheckpointRejectedError(text, code=code, cause=exc)


class AwsBackend:
    """The real service, through an aiobotocore `lambda` client.

    Args:
        client: an aiobotocore `lambda` client to use as-is (its owner closes it).
        endpoint_url: where the API lives (a local runner, or a VPC endpoint).
        region_name: the region (default: `AWS_REGION`, then `AWS_DEFAULT_REGION`, then
            `us-east-1`).
        max_attempts: botocore's standard-mode attempts for throttling and server errors.

    Without `client`, one client is created on first use and reused for every later invocation
    of a warm process; `aclose()` (or `async with`) closes it.
    """

    def __init__(
        self,
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        max_attempts: int = 5,
    ) -> None:
        self._client = client
        self._endpoint_url = endpoint_url
        self._region = (
            region_name
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or "us-east-1"
        )
        self._max_attempts = max_attempts
        self._stack: AsyncExitStack | None = None
        self._lock = asyncio.Lock()
        self._clock = SystemClock()

    @property
    def clock(self) -> Clock:
        """The wall clock: the service's timers run in real time."""
        return self._clock

    async def _get_client(self) -> Any:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                from aiobotocore.session import get_session
                from botocore.config import Config

                stack = AsyncExitStack()
                config = Config(retries={"mode": "standard", "max_attempts": self._max_attempts})
                self._client = await stack.enter_async_context(
                    get_session().create_client(
                        "lambda",
                        region_name=self._region,
                        endpoint_url=self._endpoint_url,
                        config=config,
                    )
                )
                self._stack = stack
        return self._client

    async def aclose(self) -> None:
        """Close the client this backend created (an injected client is left open)."""
        if self._stack is not None:
            await self._stack.aclose()
            self._stack = None
            self._client = None

    async def __aenter__(self) -> AwsBackend:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def checkpoint(
        self,
        execution_arn: str,
        checkpoint_token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResponse:
        """`CheckpointDurableExecution`; further state pages are read before returning."""
        client = await self._get_client()
        kwargs: dict[str, Any] = {
            "DurableExecutionArn": execution_arn,
            "CheckpointToken": checkpoint_token,
            "Updates": [u.to_wire() for u in updates],
        }
        if client_token is not None:
            kwargs["ClientToken"] = client_token
        try:
            raw = await client.checkpoint_durable_execution(**kwargs)
        except Exception as exc:
            raise classify_error("CheckpointDurableExecution", exc) from exc
        response = CheckpointResponse.model_validate(raw)
        state = response.new_execution_state
        if response.checkpoint_token and state is not None and state.next_marker:
            operations = await self.load_all_state(execution_arn, response.checkpoint_token, state)
            state = ExecutionState(operations=operations)
            response = CheckpointResponse(
                checkpoint_token=response.checkpoint_token, new_execution_state=state
            )
        return response

    async def get_state(
        self,
        execution_arn: str,
        checkpoint_token: str,
        *,
        marker: str | None = None,
        max_items: int = 1000,
    ) -> ExecutionState:
        """One page of `GetDurableExecutionState`."""
        client = await self._get_client()
        kwargs: dict[str, Any] = {
            "DurableExecutionArn": execution_arn,
            "CheckpointToken": checkpoint_token,
            "MaxItems": max_items,
        }
        if marker is not None:
            kwargs["Marker"] = marker
        try:
            raw = await client.get_durable_execution_state(**kwargs)
        except Exception as exc:
            raise classify_error("GetDurableExecutionState", exc) from exc
        return ExecutionState.model_validate(raw)

    async def load_all_state(
        self, execution_arn: str, checkpoint_token: str, first_page: ExecutionState
    ) -> list[Operation]:
        """`first_page`'s operations followed by every further page."""
        operations = list(first_page.operations)
        marker = first_page.next_marker
        while marker:
            page = await self.get_state(execution_arn, checkpoint_token, marker=marker)
            operations.extend(page.operations)
            marker = page.next_marker
        return operations
