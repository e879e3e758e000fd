"""AwsBackend against a fake Lambda API on 127.0.0.1, through both of its transports.

The fake answers in the service's REST-JSON wire format (errors: the HTTP status, an
`x-amzn-errortype` header and a `{"Type": ..., "message": ...}` body), so the direct path's
request building and parsing, and botocore's own serialiser, parser and retry handler, run
exactly as they do against the service. Tests taking `backend` or `transport` run on both.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import anyio
import pytest
from aiobotocore.session import get_session
from aiohttp import web

from durable_async._backends import direct
from durable_async._backends.aws import Transport
from durable_async._backends.paging import read_pages
from durable_async._errors import (
    BackendError,
    BackendUnavailableError,
    CheckpointRejectedError,
    StaleCheckpointTokenError,
)
from durable_async._models import (
    ExecutionState,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)
from durable_async.aws import AwsBackend

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(10)]

ARN = "arn:aws:lambda:us-east-1:123456789012:function:orders:1/durable-execution/run-1/abc"
CHECKPOINT_PATH = f"/2025-12-01/durable-executions/{ARN}/checkpoint"
STATE_PATH = f"/2025-12-01/durable-executions/{ARN}/state"
START = dt.datetime(2026, 1, 1, 12, 0, 0, 500000, tzinfo=dt.UTC)
UPDATE = OperationUpdate(
    id="s1", type=OperationType.STEP, action=OperationAction.SUCCEED, payload='"done"'
)


def op(op_id: str, status: str = "SUCCEEDED") -> dict[str, Any]:
    """An operation as the service sends it: timestamps are epoch seconds in REST-JSON."""
    return {"Id": op_id, "Type": "STEP", "Status": status, "StartTimestamp": START.timestamp()}


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class FakeLambda:
    """Answers each request with the next scripted reply and records what it received."""

    url: str = ""
    replies: list[tuple[int, dict[str, Any], str | None]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)

    def reply(self, body: dict[str, Any]) -> None:
        self.replies.append((200, body, None))

    def fail(self, status: int, code: str | None, message: str) -> None:
        self.replies.append((status, {"Type": "User", "message": message}, code))

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.seen.append(
            Seen(
                request.method,
                unquote(request.raw_path.split("?", 1)[0]),
                dict(request.query),
                json.loads(raw) if raw else None,
            )
        )
        if not self.replies:
            return web.json_response({"message": "no reply scripted"}, status=418)
        status, body, code = self.replies.pop(0)
        headers = {"x-amzn-errortype": code} if code else {}
        return web.json_response(body, status=status, headers=headers)


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CA_BUNDLE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_REGION", "us-east-1")


@pytest.fixture
async def fake() -> AsyncIterator[FakeLambda]:
    server = FakeLambda()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    with anyio.fail_after(5):
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    server.url = f"http://{host}:{port}"
    try:
        yield server
    finally:
        with anyio.fail_after(5):
            await runner.cleanup()


@pytest.fixture(params=["direct", "botocore"])
def transport(request: pytest.FixtureRequest) -> Transport:
    value: Transport = request.param
    return value


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries without their jittered pause, on both paths."""
    from botocore.retries.standard import ExponentialBackoff

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0.0)
    monkeypatch.setattr(direct, "retry_delay", lambda attempt: 0.0)


@pytest.fixture
async def backend(fake: FakeLambda, transport: Transport) -> AsyncIterator[AwsBackend]:
    aws = AwsBackend(
        endpoint_url=fake.url, region_name="us-east-1", max_attempts=1, transport=transport
    )
    assert aws.transport == transport
    try:
        yield aws
    finally:
        await aws.aclose()


class CountingSession:
    """An aiobotocore session that counts the clients created from it."""

    def __init__(self) -> None:
        self.inner = get_session()
        self.created: list[dict[str, Any]] = []

    def create_client(self, *args: Any, **kwargs: Any) -> Any:
        self.created.append(kwargs)
        return self.inner.create_client(*args, **kwargs)


async def test_checkpoint_sends_the_updates_and_parses_token_and_operations(
    fake: FakeLambda, backend: AwsBackend
) -> None:
    fake.reply({"CheckpointToken": "t2", "NewExecutionState": {"Operations": [op("s1")]}})
    response = await backend.checkpoint(ARN, "t1", [UPDATE], client_token="c-1")

    assert response.checkpoint_token == "t2"
    assert response.new_execution_state is not None
    [operation] = response.new_execution_state.operations
    assert operation.id == "s1"
    assert operation.status is OperationStatus.SUCCEEDED
    assert operation.start_timestamp == START
    [request] = fake.seen
    assert (request.method, request.path) == ("POST", CHECKPOINT_PATH)
    assert request.body == {
        "CheckpointToken": "t1",
        "ClientToken": "c-1",
        "Updates": [{"Id": "s1", "Type": "STEP", "Action": "SUCCEED", "Payload": '"done"'}],
    }


async def test_without_a_client_token_one_is_generated(
    fake: FakeLambda, backend: AwsBackend
) -> None:
    fake.reply({"CheckpointToken": "t2"})
    fake.reply({"CheckpointToken": "t3"})
    response = await backend.checkpoint(ARN, "t1", [])
    await backend.checkpoint(ARN, "t2", [])

    assert response.checkpoint_token == "t2"
    assert response.new_execution_state is None
    first, second = (request.body for request in fake.seen)
    assert {k: v for k, v in first.items() if k != "ClientToken"} == {
        "CheckpointToken": "t1",
        "Updates": [],
    }
    assert first["ClientToken"]
    assert first["ClientToken"] != second["ClientToken"]


async def test_a_paged_checkpoint_response_is_completed_under_the_new_token(
    fake: FakeLambda, backend: AwsBackend
) -> None:
    fake.reply(
        {
            "CheckpointToken": "t2",
            "NewExecutionState": {"Operations": [op("s1")], "NextMarker": "m1"},
        }
    )
    fake.reply({"Operations": [op("s2", "STARTED")], "NextMarker": "m2"})
    fake.reply({"Operations": [op("s3")]})
    response = await backend.checkpoint(ARN, "t1", [UPDATE])

    assert response.checkpoint_token == "t2"
    state = response.new_execution_state
    assert state is not None
    assert [o.id for o in state.operations] == ["s1", "s2", "s3"]
    assert state.next_marker is None
    assert [(s.method, s.path) for s in fake.seen[1:]] == [("GET", STATE_PATH)] * 2
    assert [s.query for s in fake.seen[1:]] == [
        {"CheckpointToken": "t2", "Marker": "m1", "MaxItems": "1000"},
        {"CheckpointToken": "t2", "Marker": "m2", "MaxItems": "1000"},
    ]


async def test_get_state_reads_one_page(fake: FakeLambda, backend: AwsBackend) -> None:
    fake.reply({"Operations": [op("s1")], "NextMarker": "m1"})
    page = await backend.get_state(ARN, "t1", max_items=10)
    assert [o.id for o in page.operations] == ["s1"]
    assert page.next_marker == "m1"
    assert fake.seen[0].query == {"CheckpointToken": "t1", "MaxItems": "10"}


async def test_read_pages_follows_the_markers(fake: FakeLambda, backend: AwsBackend) -> None:
    fake.reply({"Operations": [op("s2")], "NextMarker": "b"})
    fake.reply({"Operations": [op("s3")]})
    first = ExecutionState.model_validate({"Operations": [op("s1")], "NextMarker": "a"})
    operations = await read_pages(backend, ARN, "t1", first)

    assert [o.id for o in operations] == ["s1", "s2", "s3"]
    assert [s.query["Marker"] for s in fake.seen] == ["a", "b"]
    assert {s.query["CheckpointToken"] for s in fake.seen} == {"t1"}


async def test_read_pages_without_a_marker_makes_no_call(
    fake: FakeLambda, backend: AwsBackend
) -> None:
    first = ExecutionState.model_validate({"Operations": [op("s1")]})
    assert [o.id for o in await read_pages(backend, ARN, "t1", first)] == ["s1"]
    assert fake.seen == []


@pytest.mark.parametrize(
    ("status", "code", "message", "expected"),
    [
        pytest.param(
            400,
            "InvalidParameterValueException",
            "Invalid checkpoint token: abc",
            StaleCheckpointTokenError,
            id="stale-token",
        ),
        pytest.param(
            400,
            "InvalidParameterValueException:http://internal.example/",
            "INVALID CHECKPOINT TOKEN",
            StaleCheckpointTokenError,
            id="stale-token-upper-case",
        ),
        pytest.param(
            400,
            "InvalidParameterValueException",
            "invalid checkpoint token",
            StaleCheckpointTokenError,
            id="stale-token-lower-case",
        ),
        pytest.param(
            400,
            "InvalidParameterValueException",
            "Payload exceeds 262144 bytes",
            CheckpointRejectedError,
            id="other-invalid-parameter",
        ),
        pytest.param(
            429,
            "TooManyRequestsException",
            "Rate exceeded",
            BackendUnavailableError,
            id="throttled",
        ),
        pytest.param(
            500, "ServiceException", "internal failure", BackendUnavailableError, id="service"
        ),
        pytest.param(503, None, "unavailable", BackendUnavailableError, id="bare-503"),
        pytest.param(
            502,
            "KMSAccessDeniedException",
            "access denied to the key",
            CheckpointRejectedError,
            id="kms",
        ),
        pytest.param(
            404,
            "ResourceNotFoundException",
            "no such execution",
            CheckpointRejectedError,
            id="other-4xx",
        ),
    ],
)
async def test_checkpoint_errors_are_classified(
    fake: FakeLambda,
    backend: AwsBackend,
    status: int,
    code: str | None,
    message: str,
    expected: type[BackendError],
) -> None:
    fake.fail(status, code, message)
    with pytest.raises(expected) as raised:
        await backend.checkpoint(ARN, "t1", [UPDATE])

    error = raised.value
    assert type(error) is expected
    short_code = code.split(":")[0] if code else str(status)
    assert error.code == short_code
    assert error.cause is error.__cause__
    for part in ("CheckpointDurableExecution", short_code, message):
        assert part in str(error)
    assert len(fake.seen) == 1  # max_attempts=1: no retry


async def test_get_state_errors_are_classified_and_name_the_operation(
    fake: FakeLambda, backend: AwsBackend
) -> None:
    fake.fail(400, "InvalidParameterValueException", "Invalid checkpoint token")
    with pytest.raises(StaleCheckpointTokenError, match="GetDurableExecutionState"):
        await backend.get_state(ARN, "t1")
    fake.fail(429, "TooManyRequestsException", "Rate exceeded")
    with pytest.raises(BackendUnavailableError, match="GetDurableExecutionState"):
        await backend.get_state(ARN, "t1")


async def test_max_attempts_counts_every_attempt(fake: FakeLambda, transport: Transport) -> None:
    aws = AwsBackend(endpoint_url=fake.url, max_attempts=2, transport=transport)
    try:
        fake.fail(503, "ServiceException", "try again")
        fake.reply({"CheckpointToken": "t2"})
        assert (await aws.checkpoint(ARN, "t1", [])).checkpoint_token == "t2"
        assert len(fake.seen) == 2
        assert fake.seen[0].body["ClientToken"] == fake.seen[1].body["ClientToken"]

        fake.fail(429, "TooManyRequestsException", "Rate exceeded")
        fake.fail(429, "TooManyRequestsException", "Rate exceeded")
        with pytest.raises(BackendUnavailableError, match="TooManyRequestsException"):
            await aws.checkpoint(ARN, "t2", [])
        assert len(fake.seen) == 4
    finally:
        await aws.aclose()


async def test_a_refused_connection_is_unavailable(transport: Transport) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    aws = AwsBackend(endpoint_url=f"http://127.0.0.1:{port}", max_attempts=1, transport=transport)
    try:
        with pytest.raises(BackendUnavailableError, match="CheckpointDurableExecution") as raised:
            await aws.checkpoint(ARN, "t1", [])
        assert raised.value.code == "EndpointConnectionError"
    finally:
        await aws.aclose()


async def test_one_client_is_created_and_reused(fake: FakeLambda) -> None:
    session = CountingSession()
    aws = AwsBackend(session=session, endpoint_url=fake.url, max_attempts=2)
    try:
        fake.reply({"CheckpointToken": "t2"})
        fake.reply({"Operations": [op("s1")]})
        async with anyio.create_task_group() as tg:  # concurrent first uses: still one client
            tg.start_soon(aws.checkpoint, ARN, "t1", [])
            tg.start_soon(aws.get_state, ARN, "t1")
        fake.reply({"CheckpointToken": "t3"})
        await aws.checkpoint(ARN, "t2", [])
    finally:
        await aws.aclose()

    assert len(session.created) == 1
    assert len(fake.seen) == 3
    kwargs = session.created[0]
    assert kwargs["region_name"] == "us-east-1"
    assert kwargs["endpoint_url"] == fake.url
    assert kwargs["config"].retries == {"mode": "standard", "total_max_attempts": 2}


async def test_async_with_closes_the_client_and_a_later_call_makes_a_new_one(
    fake: FakeLambda,
) -> None:
    session = CountingSession()
    fake.reply({"CheckpointToken": "t2"})
    fake.reply({"CheckpointToken": "t3"})
    async with AwsBackend(session=session, endpoint_url=fake.url, max_attempts=1) as aws:
        await aws.checkpoint(ARN, "t1", [])
    await aws.checkpoint(ARN, "t2", [])
    await aws.aclose()
    assert len(session.created) == 2


async def test_an_injected_client_is_used_as_is_and_not_closed(fake: FakeLambda) -> None:
    session = CountingSession()
    async with session.create_client(
        "lambda", region_name="us-east-1", endpoint_url=fake.url
    ) as client:
        aws = AwsBackend(client=client, endpoint_url="http://127.0.0.1:1")
        fake.reply({"CheckpointToken": "t2"})
        await aws.checkpoint(ARN, "t1", [])
        await aws.aclose()

        fake.reply({"CheckpointToken": "t3"})
        assert (await aws.checkpoint(ARN, "t2", [])).checkpoint_token == "t3"
        fake.reply({"Operations": []})
        await client.get_durable_execution_state(DurableExecutionArn=ARN, CheckpointToken="t3")
    assert len(session.created) == 1
    assert len(fake.seen) == 3


def test_region_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    assert AwsBackend().region_name == "us-east-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert AwsBackend().region_name == "eu-west-1"
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    assert AwsBackend().region_name == "ap-south-1"
    assert AwsBackend(region_name="us-west-2").region_name == "us-west-2"


def test_the_clock_is_the_wall_clock() -> None:
    now = dt.datetime.now(dt.UTC).timestamp()
    assert abs(AwsBackend().clock.now() - now) < 5
