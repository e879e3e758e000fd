"""The AWS backend: the Lambda durable execution API through one reused aiobotocore client.

`AwsBackend` implements the `Backend` protocol with two service operations,
`CheckpointDurableExecution` and `GetDurableExecutionState`. Unless a client is injected, it
creates one aiobotocore `lambda` client on first use and keeps it for the life of the process, so
a warm Lambda sandbox pays for the client (and its connection pool) once, not per invocation.

botocore's standard retry mode already retries throttling, server errors and dropped connections
(`max_attempts` in total). botocore's own timeouts (60 s to connect, 60 s per read) are sized for
long-lived processes: five such attempts outlast most Lambda invocations. The client here connects
within 5 s (a TCP and TLS handshake to a regional endpoint takes milliseconds, so a slower one is a
broken path worth retrying on a new connection) and waits up to 50 s for a response (the official
SDK's value: a checkpoint may carry 750 KiB and a state page many operations, and abandoning a
request the service is still applying only makes it redo the work). The invocation's deadline, not
these timeouts, bounds the whole. The user agent names this SDK (`durable-async/<version>`). A
`config` given to `AwsBackend` overrides any of these; an injected client is used as it is.

What is still failing after the retries is mapped to the runtime's errors:

| service answer                                              | raised                      |
| ----------------------------------------------------------- | --------------------------- |
| `InvalidParameterValueException` "Invalid checkpoint token" | `StaleCheckpointTokenError` |
| `TooManyRequestsException`, `ServiceException`, 429, 5xx    | `BackendUnavailableError`   |
| connection refused, dropped or timed out                    | `BackendUnavailableError`   |
| `KMS*` (sent as 502), every other 4xx                       | `CheckpointRejectedError`   |
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
from collections.abc import Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any

from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from pydantic import TypeAdapter

from .._clock import Clock, SystemClock
from .._errors import (
    BackendError,
    BackendUnavailableError,
    CheckpointRejectedError,
    StaleCheckpointTokenError,
)
from .._models import CheckpointResponse, ExecutionState, OperationUpdate
from .paging import MAX_PAGE, read_pages

__all__ = ["CONNECT_TIMEOUT", "READ_TIMEOUT", "AwsBackend", "client_config", "user_agent_extra"]

_CHECKPOINT = "CheckpointDurableExecution"
_GET_STATE = "GetDurableExecutionState"
_STALE_TOKEN_CODE = "InvalidParameterValueException"
_STALE_TOKEN_PREFIX = "invalid checkpoint token"
_TRANSIENT_CODES = frozenset({"TooManyRequestsException", "ServiceException"})
_CONNECTION_ERRORS = (
    EndpointConnectionError,
    ConnectionClosedError,
    ReadTimeoutError,
    ConnectTimeoutError,
    BotocoreConnectionError,
    HTTPClientError,
)
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 50.0
_UPDATES = TypeAdapter(list[OperationUpdate])


def updates_to_wire(updates: Sequence[OperationUpdate]) -> list[dict[str, Any]]:
    """The botocore form of a request's updates: each one's `to_wire()`, in one call."""
    wire: list[dict[str, Any]] = _UPDATES.dump_python(
        updates if isinstance(updates, list) else list(updates), by_alias=True, exclude_none=True
    )
    return wire


def user_agent_extra() -> str:
    """What this SDK adds to the client's user agent: `durable-async/<version>`."""
    try:
        version = importlib.metadata.version("durable-async")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        version = "unknown"
    return f"durable-async/{version}"


def client_config(max_attempts: int, override: Config | None = None) -> Config:
    """The client settings: timeouts that fit an invocation, standard retries, the user agent;
    whatever `override` sets explicitly wins."""
    # botocore reads `max_attempts` as retries after the first try; `total_max_attempts`
    # counts every attempt, which is what this backend's `max_attempts` means.
    config = Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        user_agent_extra=user_agent_extra(),
    )
    return config if override is None else config.merge(override)


def _default_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def _classify_client_error(operation: str, err: Any) -> BackendError:
    """Map a botocore `ClientError` to the runtime's error classes."""
    response: dict[str, Any] = getattr(err, "response", None) or {}
    error: dict[str, Any] = response.get("Error") or {}
    code = str(error.get("Code") or "")
    message = str(error.get("Message") or "")
    metadata: dict[str, Any] = response.get("ResponseMetadata") or {}
    try:
        status = int(metadata.get("HTTPStatusCode") or 0)
    except (TypeError, ValueError):
        status = 0
    label = code or "UnknownError"
    text = f"{operation} failed: {label} (HTTP {status or '?'}): {message or '(no message)'}"
    if code == _STALE_TOKEN_CODE and message.lower().startswith(_STALE_TOKEN_PREFIX):
        return StaleCheckpointTokenError(text, code=code, cause=err)
    # KMS errors come back as 502, so they are recognised before the 5xx rule.
    if code.startswith("KMS"):
        return CheckpointRejectedError(text, code=code, cause=err)
    if code in _TRANSIENT_CODES or status == 429 or status >= 500:
        return BackendUnavailableError(text, code=code or None, cause=err)
    return CheckpointRejectedError(text, code=code or None, cause=err)


def _classify(operation: str, exc: Exception) -> BackendError | None:
    """Map an exception raised by a client call; `None` for exceptions that are not botocore's."""
    if isinstance(exc, ClientError):
        return _classify_client_error(operation, exc)
    code = type(exc).__name__
    if isinstance(exc, _CONNECTION_ERRORS):
        return BackendUnavailableError(
            f"{operation} failed: {code} (no response): {exc}", code=code, cause=exc
        )
    if isinstance(exc, ParamValidationError):
        return CheckpointRejectedError(
            f"{operation} failed: {code} (request not sent): {exc}", code=code, cause=exc
        )
    if isinstance(exc, BotoCoreError):
        # Credentials or endpoint resolution trouble on this side: let Lambda retry.
        return BackendUnavailableError(
            f"{operation} failed: {code} (request not sent): {exc}", code=code, cause=exc
        )
    return None


class AwsBackend:
    """The durable execution service, through an aiobotocore `lambda` client.

    Args:
        client: an aiobotocore `lambda` client to use as-is; its owner closes it and `aclose()`
            leaves it open.
        endpoint_url: where the API lives (a local emulator or a VPC endpoint); default: the
            regional endpoint.
        region_name: the region; default: `AWS_REGION`, then `AWS_DEFAULT_REGION`, then
            `us-east-1`.
        session: the aiobotocore session to create the client from; default: a new one.
        max_attempts: botocore's standard-mode attempts (first try included) for throttling,
            server errors and dropped connections.
        config: a botocore `Config` for the client this backend creates; the options it sets
            override this backend's (5 s to connect, 50 s per read, `max_attempts` standard-mode
            retries, `durable-async/<version>` in the user agent), the others are kept.

    Without `client`, one client is created on first use and reused by every later call, across
    the invocations of a warm process. `aclose()`, or leaving `async with AwsBackend(...)`,
    closes it; a call made afterwards creates a new one.

    Example:
        ```python
        async with AwsBackend(region_name="eu-west-1", max_attempts=3) as backend:
            state = await backend.get_state(arn, token)
        ```
    """

    def __init__(
        self,
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        session: Any = None,
        max_attempts: int = 5,
        config: Config | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self._injected: Any = client
        self._client: Any = client
        self._endpoint_url = endpoint_url
        self._region_name = region_name or _default_region()
        self._session: Any = session
        self._config = client_config(max_attempts, config)
        self._stack: AsyncExitStack | None = None
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clock = SystemClock()

    @property
    def clock(self) -> Clock:
        """The wall clock: the service's timers run in real time."""
        return self._clock

    @property
    def region_name(self) -> str:
        """The region the client is (or will be) created for."""
        return self._region_name

    async def _get_client(self) -> Any:
        """The client to call: the injected one, or the one created (once) on first use."""
        if self._injected is not None:
            return self._injected
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A new event loop cannot use a client (or lock) bound to the previous one.
            self._loop = loop
            self._lock = asyncio.Lock()
            self._client = None
            self._stack = None
        client = self._client
        if client is not None:
            return client
        assert self._lock is not None
        async with self._lock:
            if self._client is None:
                self._client = await self._create_client()
            return self._client

    async def _create_client(self) -> Any:
        if self._session is None:
            from aiobotocore.session import get_session

            self._session = get_session()
        stack = AsyncExitStack()
        try:
            client = await stack.enter_async_context(
                self._session.create_client(
                    "lambda",
                    region_name=self._region_name,
                    endpoint_url=self._endpoint_url,
                    config=self._config,
                )
            )
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return client

    async def aclose(self) -> None:
        """Close the client this backend created; an injected client is left open."""
        stack, self._stack = self._stack, None
        if self._injected is None:
            self._client = None
        if stack is not None:
            await stack.aclose()

    async def __aenter__(self) -> AwsBackend:
        """Return the backend; the client is still created on first use."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the client this backend created."""
        await self.aclose()

    async def _call(self, operation: str, method: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        client = await self._get_client()
        try:
            response: dict[str, Any] = await getattr(client, method)(**kwargs)
        except Exception as exc:
            error = _classify(operation, exc)
            if error is None:
                raise
            raise error from exc
        return response

    async def checkpoint(
        self,
        execution_arn: str,
        checkpoint_token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResponse:
        """Send `updates` with `CheckpointDurableExecution`; return the new token and state.

        An empty `updates` polls for changes. Without `client_token`, botocore generates one
        (the member is an idempotency token), and its retries reuse it. When the response's
        state is paged (it has a
        `NextMarker`), the remaining pages are read with `GetDurableExecutionState` under the
        new token, and the returned state holds every operation with `next_marker=None`.
        (A response without a token cannot be paged further and is returned as it came.)

        Raises:
            StaleCheckpointTokenError: `checkpoint_token` is no longer current.
            BackendUnavailableError: throttled, a server error, or no connection, after retries.
            CheckpointRejectedError: any other refusal, including KMS errors.
        """
        kwargs: dict[str, Any] = {
            "DurableExecutionArn": execution_arn,
            "CheckpointToken": checkpoint_token,
            "Updates": updates_to_wire(updates),
        }
        if client_token is not None:
            kwargs["ClientToken"] = client_token
        raw = await self._call(_CHECKPOINT, "checkpoint_durable_execution", kwargs)
        response = CheckpointResponse.model_validate(raw)
        state = response.new_execution_state
        new_token = response.checkpoint_token
        if state is None or not state.next_marker or not new_token:
            return response
        operations = await read_pages(self, execution_arn, new_token, state)
        return CheckpointResponse(
            checkpoint_token=new_token,
            new_execution_state=ExecutionState(operations=operations, next_marker=None),
        )

    async def get_state(
        self,
        execution_arn: str,
        checkpoint_token: str,
        *,
        marker: str | None = None,
        max_items: int = MAX_PAGE,
    ) -> ExecutionState:
        """Return one page of `GetDurableExecutionState`, starting at `marker`.

        Raises the same errors as `checkpoint`.
        """
        kwargs: dict[str, Any] = {
            "DurableExecutionArn": execution_arn,
            "CheckpointToken": checkpoint_token,
            "MaxItems": max_items,
        }
        if marker is not None:
            kwargs["Marker"] = marker
        raw = await self._call(_GET_STATE, "get_durable_execution_state", kwargs)
        return ExecutionState.model_validate(raw)
