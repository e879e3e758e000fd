"""The direct path to the Lambda API: SigV4-signed JSON over keep-alive HTTP/1.1, no botocore.

A durable function's whole conversation with the service is two REST-JSON operations, so this
path builds those two requests itself instead of loading botocore's service model, serialiser,
parser and handler chain: on a cold start that is most of the import and client-creation time,
and on every checkpoint most of the client's CPU. It keeps what botocore would have done for
these calls:

- credentials: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` (what Lambda
  sets, and the first link of botocore's chain), else botocore's own credential chain (profiles,
  SSO, container and instance roles), loaded then and refreshed by it;
- the endpoint: `endpoint_url`, else `AWS_ENDPOINT_URL_LAMBDA`, else `AWS_ENDPOINT_URL`, else the
  region's (`lambda.<region>.amazonaws.com`, FIPS and dual-stack variants by their environment
  switches; `.com.cn` in China);
- standard-mode retries: throttling, 5xx and lost connections, up to `max_attempts` attempts in
  all with capped, jittered exponential backoff, one `ClientToken` for every attempt of a
  checkpoint so the service applies it once;
- REST-JSON errors: the code from `x-amzn-ErrorType` (or the body's `__type`), the message from
  the body, both handed to the same classification as the botocore path's.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import ssl
import uuid
from typing import Any
from urllib.parse import quote, urlsplit

from .._errors import BackendError, BackendUnavailableError
from .http import ConnectFailed, ConnectionLost, Origin, Pool, ReadTimedOut, Response
from .sigv4 import Credentials, Signer

__all__ = ["DirectClient", "ServiceError", "direct_possible", "resolve_endpoint", "retry_delay"]

API = "/2025-12-01/durable-executions/"
_JSON = "application/json"
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504, 509})
_RETRY_CODES = frozenset(
    {
        "TooManyRequestsException",
        "ServiceException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestThrottledException",
        "RequestLimitExceeded",
    }
)
_MAX_BACKOFF = 20.0
_PATH_CACHE = 256
_STANDARD_REGION = re.compile(r"^(?:[a-z]{2}|us-gov)-[a-z]+-\d+$")


class ServiceError(Exception):
    """An error answer from the service: its HTTP status, error code and message.

    `response` has botocore's `ClientError.response` shape, so one classification serves both
    paths.
    """

    def __init__(self, operation: str, status: int, code: str, message: str) -> None:
        super().__init__(f"{operation}: {code or 'UnknownError'} (HTTP {status}): {message}")
        self.response: dict[str, Any] = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        self.status = status
        self.code = code


def retry_delay(attempt: int) -> float:
    """Seconds before retry number `attempt` (1 for the first): full jitter, capped at 20 s."""
    return random.random() * min(_MAX_BACKOFF, 2.0 ** (attempt - 1))


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() == "true"


def _configured_endpoint(endpoint_url: str | None) -> str | None:
    """The endpoint given, or configured in the environment; `None` for the region's own."""
    if endpoint_url:
        return endpoint_url
    if _env_flag("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        return None
    return os.environ.get("AWS_ENDPOINT_URL_LAMBDA") or os.environ.get("AWS_ENDPOINT_URL") or None


def resolve_endpoint(endpoint_url: str | None, region: str) -> str:
    """Where the Lambda API of `region` is, as botocore would resolve it for these calls."""
    configured = _configured_endpoint(endpoint_url)
    if configured:
        return configured
    china = region.startswith("cn-")
    fips = "-fips" if _env_flag("AWS_USE_FIPS_ENDPOINT") else ""
    if _env_flag("AWS_USE_DUALSTACK_ENDPOINT"):
        suffix = "api.amazonwebservices.com.cn" if china else "api.aws"
    else:
        suffix = "amazonaws.com.cn" if china else "amazonaws.com"
    return f"https://lambda{fips}.{region}.{suffix}"


def _bypasses_proxy(host: str) -> bool:
    no_proxy = os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or ""
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        domain = entry.lstrip(".")
        if entry == "*" or (domain and (host == domain or host.endswith("." + domain))):
            return True
    return False


def direct_possible(endpoint_url: str | None, region: str) -> str | None:
    """`None` when the direct path can reach the service; else why botocore is needed."""
    endpoint = resolve_endpoint(endpoint_url, region)
    explicit = _configured_endpoint(endpoint_url)
    if not explicit and not (region.startswith("cn-") or _STANDARD_REGION.match(region)):
        return f"region {region!r} is outside the partitions the direct path knows"
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"endpoint {endpoint!r} is not an http(s) URL"
    proxy_vars: tuple[str, ...] = ("HTTPS_PROXY", "https_proxy") if parts.scheme == "https" else ()
    proxy_vars += ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
    if any(os.environ.get(v) for v in proxy_vars) and not _bypasses_proxy(parts.hostname):
        return "a proxy is configured"
    return None


def _env_credentials() -> Credentials | None:
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret:
        return None
    return Credentials(key, secret, os.environ.get("AWS_SESSION_TOKEN") or None)


class _BotocoreCredentials:
    """botocore's credential chain, for setups the environment's keys do not cover."""

    def __init__(self, source: Any) -> None:
        self._source = source

    @classmethod
    async def load(cls) -> _BotocoreCredentials | None:
        def find() -> Any:
            from botocore.session import get_session

            return get_session().get_credentials()

        source = await asyncio.to_thread(find)
        return None if source is None else cls(source)

    async def current(self) -> Credentials:
        source = self._source
        refresh = getattr(source, "refresh_needed", None)
        if refresh is not None and refresh():
            frozen = await asyncio.to_thread(source.get_frozen_credentials)
        else:
            frozen = source.get_frozen_credentials()
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)


def _error_of(operation: str, response: Response) -> ServiceError:
    code = response.headers.get("x-amzn-errortype", "").split(":", 1)[0]
    message = ""
    try:
        body = json.loads(response.body) if response.body else {}
    except ValueError:
        body = {}
    if isinstance(body, dict):
        if not code:
            code = str(body.get("__type") or body.get("code") or body.get("Code") or "")
            code = code.rsplit("#", 1)[-1]
        message = str(body.get("message") or body.get("Message") or "")
    if not message:
        message = response.body[:200].decode("utf-8", "replace")
    code = code or str(response.status)  # as botocore names an error answer without a type
    return ServiceError(operation, response.status, code, message)


class DirectClient:
    """The two durable execution operations, signed and sent on one connection pool."""

    def __init__(
        self,
        *,
        region: str,
        endpoint_url: str | None,
        max_attempts: int,
        connect_timeout: float,
        read_timeout: float,
        user_agent: str,
        credentials: Credentials | None = None,
    ) -> None:
        endpoint = resolve_endpoint(endpoint_url, region)
        parts = urlsplit(endpoint)
        scheme = parts.scheme
        port = parts.port or (443 if scheme == "https" else 80)
        self._base = parts.path.rstrip("/")
        self._pool = Pool(
            Origin(scheme, parts.hostname or "", port),
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            ssl_context=_ssl_context() if scheme == "https" else None,
        )
        self._signer = Signer(region, "lambda")
        self._paths: dict[str, str] = {}
        self._max_attempts = max_attempts
        self._user_agent = user_agent
        self._credentials: Credentials | _BotocoreCredentials | None = (
            credentials or _env_credentials()
        )

    async def _current_credentials(self, operation: str) -> Credentials:
        credentials = self._credentials
        if isinstance(credentials, Credentials):
            return credentials
        try:
            if credentials is None:
                credentials = await _BotocoreCredentials.load()
                if credentials is None:
                    raise BackendUnavailableError(
                        f"{operation} failed: NoCredentialsError (request not sent): no AWS "
                        "credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
                        "configure a profile",
                        code="NoCredentialsError",
                    )
                self._credentials = credentials
            return await credentials.current()
        except BackendUnavailableError:
            raise
        except Exception as exc:  # botocore's chain failed: let Lambda retry the invocation
            code = type(exc).__name__
            raise BackendUnavailableError(
                f"{operation} failed: {code} (request not sent): {exc}", code=code, cause=exc
            ) from exc

    def _execution_path(self, arn: str) -> str:
        """The execution's path, its ARN percent-encoded (cached: every call repeats it)."""
        path = self._paths.get(arn)
        if path is None:
            if len(self._paths) >= _PATH_CACHE:
                self._paths.clear()
            path = self._paths[arn] = f"{self._base}{API}{quote(arn, safe='')}"
        return path

    async def checkpoint(
        self, arn: str, token: str, updates_json: bytes, client_token: str | None
    ) -> bytes:
        """`CheckpointDurableExecution`'s JSON answer; one client token for every attempt.

        `updates_json` is the request's `Updates` member, already JSON.
        """
        head = json.dumps(
            {"CheckpointToken": token, "ClientToken": client_token or str(uuid.uuid4())},
            separators=(",", ":"),
        )
        body = b"".join((head[:-1].encode(), b',"Updates":', updates_json, b"}"))
        path = f"{self._execution_path(arn)}/checkpoint"
        return await self._send("CheckpointDurableExecution", "POST", path, "", body)

    async def get_state(self, arn: str, token: str, marker: str | None, max_items: int) -> bytes:
        """`GetDurableExecutionState`'s JSON answer: one page."""
        query = [("CheckpointToken", token), ("MaxItems", str(max_items))]
        if marker is not None:
            query.append(("Marker", marker))
        text = "&".join(
            f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query)
        )
        path = f"{self._execution_path(arn)}/state"
        return await self._send("GetDurableExecutionState", "GET", path, text, b"")

    async def _send(self, operation: str, method: str, path: str, query: str, body: bytes) -> bytes:
        target = f"{path}?{query}" if query else path
        content_type = _JSON if method == "POST" else None
        attempt = 0
        while True:
            attempt += 1
            credentials = await self._current_credentials(operation)
            headers = self._signer.headers(
                credentials, method, self._pool.origin.host_header, path, query, body, content_type
            )
            headers["User-Agent"] = self._user_agent
            if content_type is not None:
                headers["Content-Type"] = content_type
            failure: BaseException
            try:
                response = await self._pool.request(method, target, headers, body)
            except (ConnectFailed, ConnectionLost, ReadTimedOut) as exc:
                failure = exc
            else:
                if 200 <= response.status < 300:
                    return response.body or b"{}"
                failure = _error_of(operation, response)
                if not _retryable(failure):
                    raise failure
            if attempt >= self._max_attempts:
                raise failure
            await asyncio.sleep(retry_delay(attempt))

    def close(self) -> None:
        """Close the idle connections."""
        self._pool.close()


def _retryable(error: ServiceError) -> bool:
    if error.code.startswith("KMS"):
        return False  # a key's state or permissions do not change between attempts
    return error.code in _RETRY_CODES or error.status in _RETRY_STATUS


def _ssl_context() -> ssl.SSLContext:
    bundle = os.environ.get("AWS_CA_BUNDLE")
    return ssl.create_default_context(cafile=bundle or None)


def classify_transport(operation: str, exc: BaseException) -> BackendError | None:
    """The runtime's error for a request that got no answer; `None` if `exc` is not one."""
    names = {
        ConnectFailed: "EndpointConnectionError",
        ConnectionLost: "ConnectionClosedError",
        ReadTimedOut: "ReadTimeoutError",
    }
    for kind, code in names.items():
        if isinstance(exc, kind):
            return BackendUnavailableError(
                f"{operation} failed: {code} (no response): {exc}", code=code, cause=exc
            )
    return None
