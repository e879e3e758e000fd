"""The direct transport's parts: its SigV4 signatures, its HTTP/1.1 connections, how `"auto"`
chooses, where the endpoint and the credentials come from, and what it leaves unimported."""

from __future__ import annotations

import asyncio
import calendar
import json
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotocoreCredentials

from durable_async._backends.direct import resolve_endpoint
from durable_async._backends.http import ConnectionLost, Origin, Pool, ReadTimedOut
from durable_async._backends.sigv4 import Signer
from durable_async._errors import BackendUnavailableError
from durable_async.aws import AwsBackend, Credentials, Transport

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(20)]

ARN = "arn:aws:lambda:us-east-1:123456789012:function:orders:1/durable-execution/run-1/abc"
HOST = "lambda.us-east-1.amazonaws.com"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_LAMBDA",
        "AWS_USE_FIPS_ENDPOINT",
        "AWS_USE_DUALSTACK_ENDPOINT",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "http_proxy",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_REGION", "us-east-1")


# -- SigV4 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "session-token"])
@pytest.mark.parametrize(
    ("method", "suffix", "query", "body", "content_type"),
    [
        ("GET", "state", "CheckpointToken=a%2Fb%3D&Marker=m%201&MaxItems=1000", b"", None),
        ("POST", "checkpoint", "", b'{"CheckpointToken":"t","Updates":[]}', "application/json"),
    ],
)
def test_signatures_equal_botocores(
    token: str | None, method: str, suffix: str, query: str, body: bytes, content_type: str | None
) -> None:
    path = f"/2025-12-01/durable-executions/{quote(ARN, safe='')}/{suffix}"
    url = f"https://{HOST}{path}" + (f"?{query}" if query else "")
    headers = {} if content_type is None else {"Content-Type": content_type}
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(BotocoreCredentials("AKTEST", "secret", token), "lambda", "us-east-1").add_auth(
        request
    )
    stamp = request.headers["X-Amz-Date"]
    now = calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ"))

    mine = Signer("us-east-1", "lambda").headers(
        Credentials("AKTEST", "secret", token), method, HOST, path, query, body, content_type, now
    )

    assert mine["Authorization"] == request.headers["Authorization"]
    assert mine["X-Amz-Date"] == stamp
    assert mine.get("X-Amz-Security-Token") == token


def test_the_signing_key_is_derived_once_a_day() -> None:
    signer = Signer("us-east-1", "lambda")
    creds = Credentials("AKTEST", "secret")
    day = calendar.timegm((2026, 1, 2, 0, 0, 0))
    first = signer.headers(creds, "GET", HOST, "/", "", b"", None, day + 10)
    key = signer._key
    second = signer.headers(creds, "GET", HOST, "/", "", b"", None, day + 20)
    assert signer._key is key
    assert first["Authorization"] != second["Authorization"]  # the time is signed
    signer.headers(creds, "GET", HOST, "/", "", b"", None, day + 86400)
    assert signer._key is not key


# -- HTTP/1.1 ------------------------------------------------------------------------------------

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """An HTTP server written by hand, so each test controls the bytes and the connections."""

    def __init__(self, answer: Handler) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []
        self.port = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.answer(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> bytes | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return None
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await reader.readexactly(length)
        self.requests.append(head + body)
        return head + body


def json_response(body: dict[str, object], *, extra: str = "") -> bytes:
    data = json.dumps(body).encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{extra}"
    return f"{head}Content-Length: {len(data)}\r\n\r\n".encode() + data


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[Handler], Awaitable[RawServer]]]:
    servers: list[asyncio.Server] = []

    async def start(answer: Handler) -> RawServer:
        raw = RawServer(answer)
        server = await asyncio.start_server(raw.serve, "127.0.0.1", 0)
        raw.port = server.sockets[0].getsockname()[1]
        servers.append(server)
        return raw

    yield start
    for server in servers:
        server.close()


def pool_for(raw: RawServer, read_timeout: float = 5.0) -> Pool:
    return Pool(Origin("http", "127.0.0.1", raw.port), connect_timeout=5, read_timeout=read_timeout)


async def test_one_connection_serves_every_request(
    raw_server: Callable[..., Awaitable[RawServer]],
) -> None:
    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await raw.read_request(reader) is not None:
            writer.write(json_response({"n": len(raw.requests)}))
            await writer.drain()

    raw = await raw_server(keep_alive)
    pool = pool_for(raw)
    bodies = [(await pool.request("POST", "/x", {}, b"{}")).body for _ in range(3)]
    pool.close()
    assert [json.loads(b)["n"] for b in bodies] == [1, 2, 3]
    assert raw.connections == 1
    assert raw.requests[0].startswith(b"POST /x HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"Content-Length: 2\r\n" in raw.requests[0]


async def test_a_connection_the_server_closed_while_idle_is_replaced(
    raw_server: Callable[..., Awaitable[RawServer]],
) -> None:
    async def one_request_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if await raw.read_request(reader) is not None:
            writer.write(json_response({"ok": True}))  # keep-alive promised, then closed
            await writer.drain()

    raw = await raw_server(one_request_each)
    pool = pool_for(raw)
    for _ in range(3):
        assert (await pool.request("GET", "/", {}, b"")).status == 200
        await asyncio.sleep(0)
    pool.close()
    assert raw.connections == 3
    assert len(raw.requests) == 3


async def test_a_connection_idle_too_long_is_not_reused(
    raw_server: Callable[..., Awaitable[RawServer]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from durable_async._backends import http

    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await raw.read_request(reader) is not None:
            writer.write(json_response({}))
            await writer.drain()

    raw = await raw_server(keep_alive)
    pool = pool_for(raw)
    await pool.request("GET", "/", {}, b"")
    await pool.request("GET", "/", {}, b"")
    assert raw.connections == 1
    now = time.monotonic()
    monkeypatch.setattr(http.time, "monotonic", lambda: now + http.MAX_IDLE_SECONDS + 1)
    await pool.request("GET", "/", {}, b"")
    pool.close()
    assert raw.connections == 2


async def test_chunked_and_close_delimited_bodies_are_read_whole(
    raw_server: Callable[..., Awaitable[RawServer]],
) -> None:
    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await raw.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        writer.write(b'5;ext=1\r\n{"a":\r\n3\r\n 1}\r\n0\r\nX-Trailer: t\r\n\r\n')
        await raw.read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"b": 2}')
        await writer.drain()

    raw = await raw_server(chunked)
    pool = pool_for(raw)
    first = await pool.request("GET", "/", {}, b"")
    second = await pool.request("GET", "/", {}, b"")
    pool.close()
    assert json.loads(first.body) == {"a": 1}
    assert json.loads(second.body) == {"b": 2}
    assert pool._idle == []  # a close-delimited connection is not reused


async def test_a_response_cut_short_is_a_lost_connection(
    raw_server: Callable[..., Awaitable[RawServer]],
) -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await raw.read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial')
        await writer.drain()

    raw = await raw_server(cut)
    with pytest.raises(ConnectionLost):
        await pool_for(raw).request("GET", "/", {}, b"")


async def test_a_silent_server_times_the_read_out(
    raw_server: Callable[..., Awaitable[RawServer]],
) -> None:
    done = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await raw.read_request(reader)
        await done.wait()

    raw = await raw_server(silent)
    try:
        with pytest.raises(ReadTimedOut):
            await pool_for(raw, read_timeout=0.2).request("GET", "/", {}, b"")
    finally:
        done.set()


async def test_lost_connections_are_retried_then_reported(
    raw_server: Callable[..., Awaitable[RawServer]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from durable_async._backends import direct

    monkeypatch.setattr(direct, "retry_delay", lambda attempt: 0.0)

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await raw.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{")

    raw = await raw_server(drop)
    aws = AwsBackend(endpoint_url=f"http://127.0.0.1:{raw.port}", max_attempts=3)
    with pytest.raises(BackendUnavailableError, match="CheckpointDurableExecution") as raised:
        await aws.checkpoint(ARN, "t1", [])
    await aws.aclose()
    assert raised.value.code == "ConnectionClosedError"
    assert len(raw.requests) == 3
    tokens = {json.loads(r.split(b"\r\n\r\n", 1)[1])["ClientToken"] for r in raw.requests}
    assert len(tokens) == 1  # every attempt carries the same idempotency token


async def test_requests_are_signed_with_the_session_token_and_name_the_sdk(
    raw_server: Callable[..., Awaitable[RawServer]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "tok-1")

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await raw.read_request(reader)
        writer.write(json_response({"Operations": [], "NextMarker": "m"}))
        await writer.drain()

    raw = await raw_server(answer)
    aws = AwsBackend(endpoint_url=f"http://127.0.0.1:{raw.port}")
    page = await aws.get_state(ARN, "t/1", marker="a b")
    await aws.aclose()
    assert page.next_marker == "m"
    head = raw.requests[0].decode().lower()
    assert head.startswith(
        f"get /2025-12-01/durable-executions/{quote(ARN, safe='')}/state"
        "?checkpointtoken=t%2f1&marker=a%20b&maxitems=1000 http/1.1".lower()
    )
    assert "x-amz-security-token: tok-1" in head
    assert "credential=aktest/" in head
    assert "signedheaders=host;x-amz-date;x-amz-security-token" in head
    assert "user-agent: durable-async/" in head


@pytest.mark.parametrize("transport", ["direct", "botocore"])
async def test_given_credentials_sign_instead_of_the_environments(
    raw_server: Callable[..., Awaitable[RawServer]], transport: Transport
) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await raw.read_request(reader) is not None:
            writer.write(json_response({"Operations": []}))
            await writer.drain()

    raw = await raw_server(answer)
    given = Credentials("AKGIVEN", "given-secret", "given-token")
    aws = AwsBackend(
        endpoint_url=f"http://127.0.0.1:{raw.port}", credentials=given, transport=transport
    )
    await aws.get_state(ARN, "t1")
    await aws.aclose()
    head = raw.requests[0].lower()
    assert b"credential=akgiven/" in head
    assert b"x-amz-security-token: given-token" in head
    assert "given-secret" not in repr(given)
    assert "given-token" not in repr(given)


async def test_without_keys_in_the_environment_botocores_chain_finds_them(
    raw_server: Callable[..., Awaitable[RawServer]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    (tmp_path / "credentials").write_text(
        "[dev]\naws_access_key_id = AKPROFILE\naws_secret_access_key = s2\n"
    )
    monkeypatch.setenv("AWS_PROFILE", "dev")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await raw.read_request(reader)
        writer.write(json_response({"Operations": []}))
        await writer.drain()

    raw = await raw_server(answer)
    aws = AwsBackend(endpoint_url=f"http://127.0.0.1:{raw.port}")
    await aws.get_state(ARN, "t1")
    await aws.aclose()
    assert aws.transport == "direct"
    assert b"Credential=AKPROFILE/" in raw.requests[0]


async def test_without_credentials_the_call_is_unavailable_and_names_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    aws = AwsBackend(endpoint_url="http://127.0.0.1:9")
    with pytest.raises(BackendUnavailableError, match="no AWS credentials") as raised:
        await aws.checkpoint(ARN, "t1", [])
    assert raised.value.code == "NoCredentialsError"


# -- TLS -----------------------------------------------------------------------------------------


@pytest.fixture
async def tls_server(
    tmp_path: Path, raw_server: Callable[..., Awaitable[RawServer]]
) -> AsyncIterator[tuple[RawServer, Path]]:
    """An HTTPS server on 127.0.0.1 whose certificate (for `localhost`) a throwaway authority
    signed; yields it and the authority's PEM file."""
    import ssl

    import trustme

    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(context)
    bundle = tmp_path / "authority.pem"
    authority.cert_pem.write_to_path(str(bundle))

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await raw.read_request(reader) is not None:
            writer.write(json_response({"CheckpointToken": f"t{len(raw.requests) + 1}"}))
            await writer.drain()

    raw = RawServer(answer)
    server = await asyncio.start_server(raw.serve, "127.0.0.1", 0, ssl=context)
    raw.port = server.sockets[0].getsockname()[1]
    try:
        yield raw, bundle
    finally:
        server.close()


async def test_https_verifies_the_certificate_against_aws_ca_bundle(
    tls_server: tuple[RawServer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    raw, bundle = tls_server
    monkeypatch.setenv("AWS_CA_BUNDLE", str(bundle))
    aws = AwsBackend(endpoint_url=f"https://localhost:{raw.port}", max_attempts=1)
    first = await aws.checkpoint(ARN, "t1", [])
    second = await aws.checkpoint(ARN, first.checkpoint_token or "", [])
    await aws.aclose()
    assert (first.checkpoint_token, second.checkpoint_token) == ("t2", "t3")
    assert raw.connections == 1  # one handshake, then the connection is reused
    assert raw.requests[0].startswith(b"POST ")
    assert f"Host: localhost:{raw.port}\r\n".encode() in raw.requests[0]


async def test_an_untrusted_certificate_is_refused_before_anything_is_sent(
    tls_server: tuple[RawServer, Path],
) -> None:
    raw, _ = tls_server
    aws = AwsBackend(endpoint_url=f"https://localhost:{raw.port}", max_attempts=1)
    with pytest.raises(BackendUnavailableError, match="CERTIFICATE_VERIFY_FAILED") as raised:
        await aws.checkpoint(ARN, "t1", [])
    await aws.aclose()
    assert raised.value.code == "EndpointConnectionError"
    assert raw.requests == []


# -- choosing the transport and the endpoint -----------------------------------------------------


def test_auto_goes_direct_unless_the_setup_needs_botocore(monkeypatch: pytest.MonkeyPatch) -> None:
    assert AwsBackend().transport == "direct"
    assert AwsBackend(endpoint_url="http://127.0.0.1:9014").transport == "direct"
    assert AwsBackend(region_name="cn-north-1").transport == "direct"
    assert AwsBackend(region_name="us-gov-west-1").transport == "direct"
    assert AwsBackend(region_name="us-iso-east-1").transport == "botocore"
    assert AwsBackend(region_name="us-iso-east-1", endpoint_url="https://x").transport == "direct"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://configured")
    assert AwsBackend(region_name="us-iso-east-1").transport == "direct"
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")  # the region's own, then
    assert AwsBackend(region_name="us-iso-east-1").transport == "botocore"
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.delenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
    assert AwsBackend(transport="botocore").transport == "botocore"

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    assert AwsBackend().transport == "botocore"
    assert AwsBackend(endpoint_url="http://127.0.0.1:9014").transport == "direct"  # not https
    monkeypatch.setenv("NO_PROXY", ".amazonaws.com")
    assert AwsBackend().transport == "direct"


def test_botocore_objects_choose_botocore_and_cannot_go_direct() -> None:
    from botocore.config import Config

    assert AwsBackend(config=Config()).transport == "botocore"
    assert AwsBackend(session=object()).transport == "botocore"
    with pytest.raises(ValueError, match="cannot use session"):
        AwsBackend(session=object(), transport="direct")
    with pytest.raises(ValueError, match="transport must be"):
        AwsBackend(transport="http2")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("env", "region", "expected"),
    [
        ({}, "eu-west-1", "https://lambda.eu-west-1.amazonaws.com"),
        ({}, "cn-north-1", "https://lambda.cn-north-1.amazonaws.com.cn"),
        (
            {"AWS_USE_FIPS_ENDPOINT": "true"},
            "us-east-1",
            "https://lambda-fips.us-east-1.amazonaws.com",
        ),
        ({"AWS_USE_DUALSTACK_ENDPOINT": "true"}, "eu-west-1", "https://lambda.eu-west-1.api.aws"),
        ({"AWS_ENDPOINT_URL": "http://a:1"}, "eu-west-1", "http://a:1"),
        (
            {"AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_LAMBDA": "http://b:2"},
            "eu-west-1",
            "http://b:2",
        ),
        (
            {"AWS_ENDPOINT_URL": "http://a:1", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
            "eu-west-1",
            "https://lambda.eu-west-1.amazonaws.com",
        ),
    ],
)
def test_the_endpoint_is_resolved_as_botocore_does(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], region: str, expected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert resolve_endpoint(None, region) == expected
    assert resolve_endpoint("http://explicit:3", region) == "http://explicit:3"


def test_a_handler_on_the_direct_path_imports_no_botocore(tmp_path: Path) -> None:
    """A cold start on Lambda: the handler runs, checkpoints over HTTP, and never loads botocore
    (nor aiohttp, aiobotocore or the embedded service)."""
    script = tmp_path / "cold.py"
    script.write_text(
        textwrap.dedent(
            """
            import asyncio, json, os, sys

            calls = []

            async def serve(reader, writer):
                head = await reader.readuntil(b"\\r\\n\\r\\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\\r\\n")[0])
                calls.append(json.loads(await reader.readexactly(length)))
                states = {"START": "STARTED", "SUCCEED": "SUCCEEDED"}
                operations = [
                    {"Id": u["Id"], "Type": u["Type"], "Status": states[u["Action"]],
                     "StartTimestamp": 1767225600.5, "StepDetails": {"Result": u.get("Payload")}}
                    for u in calls[-1]["Updates"]
                ]
                body = json.dumps({
                    "CheckpointToken": f"t{len(calls) + 1}",
                    "NewExecutionState": {"Operations": operations},
                }).encode()
                writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: %d\\r\\n\\r\\n" % len(body))
                writer.write(body)
                await writer.drain()
                writer.close()

            async def main():
                server = await asyncio.start_server(serve, "127.0.0.1", 0)
                port = server.sockets[0].getsockname()[1]
                os.environ["AWS_ENDPOINT_URL_LAMBDA"] = f"http://127.0.0.1:{port}"
                from durable_async import durable_execution

                @durable_execution
                async def handler(event, ctx):
                    return await ctx.step(lambda: 42, name="answer")

                arn = "arn:aws:lambda:us-east-1:1:function:f/durable-execution/r/e1"
                event = {
                    "DurableExecutionArn": arn,
                    "CheckpointToken": "t1",
                    "InitialExecutionState": {"Operations": [{
                        "Id": "e1", "Type": "EXECUTION", "Status": "STARTED",
                        "StartTimestamp": 1767225600000,
                        "ExecutionDetails": {"InputPayload": "{}"},
                    }]},
                }
                out = await handler.invoke_async(event, None)
                server.close()
                loaded = [m for m in ("botocore", "aiobotocore", "aiohttp") if m in sys.modules]
                result = {"status": str(out["Status"]), "calls": len(calls), "loaded": loaded}
                print(json.dumps(result))

            asyncio.run(main())
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"status": "SUCCEEDED", "calls": 2, "loaded": []}
