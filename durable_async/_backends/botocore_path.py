"""The botocore path to the Lambda API: an aiobotocore `lambda` client, created once.

`AwsBackend` takes this path when it is given an aiobotocore client, session or botocore
`Config`, when `transport="botocore"`, or when the direct path cannot serve the setup (a proxy,
a partition it does not know). Importing this module imports botocore; nothing on the direct
path does.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
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

from .._errors import BackendError, BackendUnavailableError, CheckpointRejectedError
from .errors import classify_service_error
from .sigv4 import Credentials

__all__ = ["BotocoreClient", "client_config"]

_CONNECTION_ERRORS = (
    EndpointConnectionError,
    ConnectionClosedError,
    ReadTimeoutError,
    ConnectTimeoutError,
    BotocoreConnectionError,
    HTTPClientError,
)


def client_config(
    max_attempts: int,
    connect_timeout: float,
    read_timeout: float,
    user_agent_extra: str,
    override: Config | None = None,
) -> Config:
    """The client settings: timeouts that fit an invocation, standard retries, the user agent;
    whatever `override` sets explicitly wins."""
    # botocore reads `max_attempts` as retries after the first try; `total_max_attempts`
    # counts every attempt, which is what this backend's `max_attempts` means.
    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        user_agent_extra=user_agent_extra,
    )
    return config if override is None else config.merge(override)


def classify(operation: str, exc: Exception) -> BackendError | None:
    """Map an exception raised by a client call; `None` for exceptions that are not botocore's."""
    if isinstance(exc, ClientError):
        return classify_service_error(operation, exc)
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


class BotocoreClient:
    """One aiobotocore client: the injected one, or one created on first use and kept."""

    def __init__(
        self,
        *,
        client: Any,
        session: Any,
        region: str,
        endpoint_url: str | None,
        config: Config,
        credentials: Credentials | None = None,
    ) -> None:
        self._injected: Any = client
        self._client: Any = client
        self._session: Any = session
        self._region = region
        self._endpoint_url = endpoint_url
        self._config = config
        self._credentials = credentials
        self._stack: AsyncExitStack | None = None
        self._lock = asyncio.Lock()

    async def _get(self) -> Any:
        client = self._client
        if client is not None:
            return client
        async with self._lock:
            if self._client is None:
                self._client = await self._create()
            return self._client

    async def _create(self) -> Any:
        if self._session is None:
            from aiobotocore.session import get_session

            self._session = get_session()
        keys: dict[str, Any] = {}
        if self._credentials is not None:
            keys = {
                "aws_access_key_id": self._credentials.access_key,
                "aws_secret_access_key": self._credentials.secret_key,
                "aws_session_token": self._credentials.token,
            }
        stack = AsyncExitStack()
        try:
            client = await stack.enter_async_context(
                self._session.create_client(
                    "lambda",
                    region_name=self._region,
                    endpoint_url=self._endpoint_url,
                    config=self._config,
                    **keys,
                )
            )
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return client

    async def call(self, operation: str, method: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Call `method` on the client; botocore's errors become the runtime's."""
        client = await self._get()
        try:
            response: dict[str, Any] = await getattr(client, method)(**kwargs)
        except Exception as exc:
            error = classify(operation, exc)
            if error is None:
                raise
            raise error from exc
        return response

    async def aclose(self) -> None:
        """Close the client this object created; an injected client is left open."""
        stack, self._stack = self._stack, None
        if self._injected is None:
            self._client = None
        if stack is not None:
            await stack.aclose()
