"""The AWS backend: the Lambda durable execution API, through a client created once.

`AwsBackend` implements the `Backend` protocol with two service operations,
`CheckpointDurableExecution` and `GetDurableExecutionState`. Unless a client is injected, it
creates its client on first use and keeps it for the life of the process, so a warm Lambda
sandbox pays for the client (and its connections) once, not per invocation.

Two transports carry the calls:

- **direct** (the default): SigV4-signed JSON over keep-alive HTTP/1.1 (`direct.py`). No botocore
  is imported while the environment holds the credentials (as on Lambda), which is most of a
  cold start's client cost, and each call costs a fraction of botocore's CPU.
- **botocore**: an aiobotocore `lambda` client (`botocore_path.py`). It is used when a client,
  session or botocore `Config` is given, when `transport="botocore"`, and when the direct path
  cannot serve the setup (a proxy, or a partition it does not know).

Both retry throttling, server errors and dropped connections (`max_attempts` in total), connect
within 5 s (a TCP and TLS handshake to a regional endpoint takes milliseconds, so a slower one is a
broken path worth retrying on a new connection) and wait up to 50 s for a response (a checkpoint
may carry 750 KiB and a state page many operations, and abandoning a request the service is still
applying only makes it redo the work). The invocation's deadline, not these timeouts, bounds the
whole. The user agent names this SDK (`durable-async/<version>`).

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
import os
import sys
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from pydantic import TypeAdapter

from .._clock import Clock, SystemClock
from .._errors import BackendError
from .._models import API_SECONDS, CheckpointResponse, ExecutionState, OperationUpdate
from .paging import MAX_PAGE, read_pages
from .sigv4 import Credentials

if TYPE_CHECKING:
    from botocore.config import Config

    from .botocore_path import BotocoreClient
    from .direct import DirectClient

__all__ = [
    "CONNECT_TIMEOUT",
    "READ_TIMEOUT",
    "AwsBackend",
    "Credentials",
    "Transport",
    "user_agent",
]

_CHECKPOINT = "CheckpointDurableExecution"
_GET_STATE = "GetDurableExecutionState"
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 50.0
_UPDATES = TypeAdapter(list[OperationUpdate])
Transport = Literal["auto", "direct", "botocore"]
_user_agent: str | None = None


def updates_to_wire(updates: Sequence[OperationUpdate]) -> list[dict[str, Any]]:
    """The wire form of a request's updates: each one's `to_wire()`, in one call."""
    wire: list[dict[str, Any]] = _UPDATES.dump_python(
        updates if isinstance(updates, list) else list(updates), by_alias=True, exclude_none=True
    )
    return wire


def user_agent() -> str:
    """What names this SDK in the user agent: `durable-async/<version>`."""
    global _user_agent
    if _user_agent is None:
        import importlib.metadata

        try:
            version = importlib.metadata.version("durable-async")
        except importlib.metadata.PackageNotFoundError:  # running from a source tree
            version = "unknown"
        _user_agent = f"durable-async/{version}"
    return _user_agent


def _default_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def _classify(operation: str, exc: Exception) -> BackendError | None:
    """The runtime's error for what the direct path raised; `None` if it is not the service's."""
    from .direct import ServiceError, classify_transport
    from .errors import classify_service_error

    if isinstance(exc, ServiceError):
        return classify_service_error(operation, exc)
    return classify_transport(operation, exc)


class AwsBackend:
    """The durable execution service over the Lambda API.

    Args:
        client: an aiobotocore `lambda` client to use as-is; its owner closes it and `aclose()`
            leaves it open.
        endpoint_url: where the API lives (a local emulator or a VPC endpoint); default:
            `AWS_ENDPOINT_URL_LAMBDA`, then `AWS_ENDPOINT_URL`, then the regional endpoint.
        region_name: the region; default: `AWS_REGION`, then `AWS_DEFAULT_REGION`, then
            `us-east-1`.
        session: the aiobotocore session to create the client from (botocore transport).
        max_attempts: attempts (first try included) for throttling, server errors and dropped
            connections.
        config: a botocore `Config` for the client this backend creates (botocore transport);
            the options it sets override this backend's (5 s to connect, 50 s per read,
            `max_attempts` standard-mode retries, `durable-async/<version>` in the user agent).
        credentials: the keys to sign with; default: the environment's, then botocore's
            credential chain (profiles, SSO, container and instance roles).
        transport: `"direct"` (signed JSON over HTTP/1.1, no botocore), `"botocore"` (an
            aiobotocore client), or `"auto"`: botocore when `client`, `session` or `config` is
            given or the direct path cannot serve the setup (a proxy, an unknown partition),
            else direct.

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
        credentials: Credentials | None = None,
        transport: Transport = "auto",
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        if transport not in ("auto", "direct", "botocore"):
            raise ValueError(f"transport must be 'auto', 'direct' or 'botocore', got {transport!r}")
        botocore_only = [
            name
            for name, v in (("client", client), ("session", session), ("config", config))
            if v is not None
        ]
        if transport == "direct" and botocore_only:
            raise ValueError(
                f"transport='direct' cannot use {', '.join(botocore_only)}: "
                "those are botocore's; use transport='botocore' or leave them out"
            )
        self._client_arg: Any = client
        self._endpoint_url = endpoint_url
        self._region_name = region_name or _default_region()
        self._session: Any = session
        self._max_attempts = max_attempts
        self._config = config
        self._credentials = credentials
        self._transport: Transport = "botocore" if botocore_only else transport
        self._direct: DirectClient | None = None
        self._botocore: BotocoreClient | None = None
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

    @property
    def transport(self) -> Literal["direct", "botocore"]:
        """The transport the calls take (for `"auto"`, as the environment stands now)."""
        if self._transport != "auto":
            return self._transport
        if self._direct is not None:
            return "direct"
        if self._botocore is not None:
            return "botocore"
        from .direct import direct_possible

        reason = direct_possible(self._endpoint_url, self._region_name)
        return "direct" if reason is None else "botocore"

    def _bind_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A new event loop cannot use connections (or locks) bound to the previous one.
            self._loop = loop
            if self._direct is not None:
                self._direct.close()
            self._direct = None
            self._botocore = None

    def _direct_client(self) -> DirectClient | None:
        self._bind_loop()
        if self._direct is not None:
            return self._direct
        if self._botocore is not None or self.transport == "botocore":
            return None
        from .direct import DirectClient

        self._direct = DirectClient(
            region=self._region_name,
            endpoint_url=self._endpoint_url,
            max_attempts=self._max_attempts,
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
            user_agent=f"{user_agent()} Python/{sys.version.split()[0]}",
            credentials=self._credentials,
        )
        return self._direct

    def _botocore_client(self) -> BotocoreClient:
        if self._botocore is None:
            from .botocore_path import BotocoreClient, client_config

            self._botocore = BotocoreClient(
                client=self._client_arg,
                session=self._session,
                region=self._region_name,
                endpoint_url=self._endpoint_url,
                credentials=self._credentials,
                config=client_config(
                    self._max_attempts, CONNECT_TIMEOUT, READ_TIMEOUT, user_agent(), self._config
                ),
            )
        return self._botocore

    async def aclose(self) -> None:
        """Close the client this backend created; an injected client is left open."""
        direct, self._direct = self._direct, None
        if direct is not None:
            direct.close()
        botocore, self._botocore = self._botocore, None
        if botocore is not None:
            await botocore.aclose()

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

    async def checkpoint(
        self,
        execution_arn: str,
        checkpoint_token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResponse:
        """Send `updates` with `CheckpointDurableExecution`; return the new token and state.

        An empty `updates` polls for changes. Without `client_token`, one is generated (the
        member is an idempotency token), and retries reuse it. When the response's state is
        paged (it has a `NextMarker`), the remaining pages are read with
        `GetDurableExecutionState` under the new token, and the returned state holds every
        operation with `next_marker=None`. (A response without a token cannot be paged further
        and is returned as it came.)

        Raises:
            StaleCheckpointTokenError: `checkpoint_token` is no longer current.
            BackendUnavailableError: throttled, a server error, or no connection, after retries.
            CheckpointRejectedError: any other refusal, including KMS errors.
        """
        batch = updates if isinstance(updates, list) else list(updates)
        direct = self._direct_client()
        if direct is not None:
            updates_json = _UPDATES.dump_json(batch, by_alias=True, exclude_none=True)
            try:
                body = await direct.checkpoint(
                    execution_arn, checkpoint_token, updates_json, client_token
                )
            except Exception as exc:
                error = _classify(_CHECKPOINT, exc)
                if error is None:
                    raise
                raise error from exc
            response = CheckpointResponse.model_validate_json(body, context=API_SECONDS)
        else:
            kwargs: dict[str, Any] = {
                "DurableExecutionArn": execution_arn,
                "CheckpointToken": checkpoint_token,
                "Updates": updates_to_wire(batch),
            }
            if client_token is not None:
                kwargs["ClientToken"] = client_token
            raw = await self._botocore_client().call(
                _CHECKPOINT, "checkpoint_durable_execution", kwargs
            )
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
        direct = self._direct_client()
        if direct is not None:
            try:
                body = await direct.get_state(execution_arn, checkpoint_token, marker, max_items)
            except Exception as exc:
                error = _classify(_GET_STATE, exc)
                if error is None:
                    raise
                raise error from exc
            return ExecutionState.model_validate_json(body, context=API_SECONDS)
        kwargs: dict[str, Any] = {
            "DurableExecutionArn": execution_arn,
            "CheckpointToken": checkpoint_token,
            "MaxItems": max_items,
        }
        if marker is not None:
            kwargs["Marker"] = marker
        raw = await self._botocore_client().call(_GET_STATE, "get_durable_execution_state", kwargs)
        return ExecutionState.model_validate(raw)
