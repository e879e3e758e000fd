"""The real-wire harness: AWS's local runner plus our Lambda Invoke endpoint.

Two servers, both on 127.0.0.1:

- the Invoke endpoint: an `aiohttp.web` app on its own thread and event loop that serves the
  Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`). A durable function's
  invocation runs `handler.invoke_async(event, None, backend=AwsBackend(...))`, so every
  checkpoint goes over HTTP through our aiobotocore client; a plain function is called with
  the payload and answers like Lambda (a raised exception becomes a function error);
- the durable execution service: `dex-local-runner start-server`, a subprocess, which invokes
  the endpoint and keeps the executions' state and history.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from aiohttp import web

from durable_async import DurableHandler
from durable_async.aws import AwsBackend

HOST = "127.0.0.1"
REGION = "us-east-1"
DUMMY_KEY = "testing"
STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
DURABLE_CONFIG = {"DurableConfig": {"ExecutionTimeout": 60, "RetentionPeriodInDays": 1}}

# The environment the runner needs: credentials it never checks, and no metadata lookups.
RUNNER_ENV = {
    "AWS_ACCESS_KEY_ID": DUMMY_KEY,
    "AWS_SECRET_ACCESS_KEY": DUMMY_KEY,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}


def free_port() -> int:
    """A port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def aio_session() -> Any:
    """An aiobotocore session with dummy credentials (no environment, no metadata service)."""
    from aiobotocore.session import get_session

    session = get_session()
    session.set_credentials(DUMMY_KEY, DUMMY_KEY)
    return session


class InvokeEndpoint:
    """The Lambda Invoke API for our handlers, on a thread with its own event loop."""

    def __init__(
        self,
        durable: Mapping[str, DurableHandler[Any, Any]],
        plain: Mapping[str, Callable[[Any], Any]],
        service_url: str,
    ) -> None:
        self.durable = dict(durable)
        self.plain = dict(plain)
        self.service_url = service_url
        self.invocations: list[tuple[str, str]] = []  # (function, output status)
        self.errors: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="invoke-endpoint")
        self._runner: web.AppRunner | None = None
        self._backend: AwsBackend | None = None
        self.url = ""

    def start(self) -> str:
        """Start serving; return the endpoint's URL."""
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._setup(), self._loop)
        self.url = future.result(timeout=STARTUP_TIMEOUT)
        return self.url

    def stop(self) -> None:
        """Stop serving, close the client, end the thread."""
        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._teardown(), self._loop).result(
                    timeout=STOP_TIMEOUT
                )
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=STOP_TIMEOUT)
        if not self._thread.is_alive():
            self._loop.close()

    async def _setup(self) -> str:
        # One backend (one aiobotocore client) for every invocation, as in a warm sandbox.
        self._backend = AwsBackend(
            endpoint_url=self.service_url, region_name=REGION, session=aio_session()
        )
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post("/2015-03-31/functions/{name}/invocations", self._invoke)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        port = self._runner.addresses[0][1]
        return f"http://{HOST}:{port}"

    async def _teardown(self) -> None:
        if self._backend is not None:
            await self._backend.aclose()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _invoke(self, request: web.Request) -> web.Response:
        # Invoke may name a qualified function (`name:version`); the endpoint routes by name.
        name = request.match_info["name"].split(":", 1)[0]
        body = await request.read()
        payload = json.loads(body) if body else None
        handler = self.durable.get(name)
        if handler is not None:
            assert self._backend is not None
            try:
                event = payload if isinstance(payload, dict) else {}
                output = await handler.invoke_async(event, None, backend=self._backend)
            except Exception as exc:
                self.errors.append(f"{name}: {exc!r}")
                return _function_error(exc)
            self.invocations.append((name, str(output.get("Status"))))
            return web.json_response(output, dumps=_dumps)
        fn = self.plain.get(name)
        if fn is None:
            return web.json_response(
                {"Type": "User", "Message": f"Function not found: {name}"},
                status=404,
                headers={"x-amzn-ErrorType": "ResourceNotFoundException"},
            )
        try:
            value = fn(payload)
            if inspect.isawaitable(value):
                value = await value
        except Exception as exc:
            return _function_error(exc)
        return web.json_response(value, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


def _function_error(exc: BaseException) -> web.Response:
    """What Lambda answers when the function raised: 200, `X-Amz-Function-Error`, the error."""
    body = {
        "errorType": type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc)[-3:],
    }
    return web.json_response(body, headers={"X-Amz-Function-Error": "Unhandled"})


def runner_command() -> list[str]:
    """How to start AWS's local runner (the console script next to this interpreter)."""
    script = Path(sys.executable).with_name("dex-local-runner")
    if script.exists():
        return [str(script)]
    found = shutil.which("dex-local-runner")
    if found:
        return [found]
    return [sys.executable, "-m", "aws_durable_execution_sdk_python_testing.cli"]


@dataclass
class RunnerProcess:
    """`dex-local-runner start-server` as a subprocess."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        self.log_file.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)
        self.log_file.close()


def start_runner(
    port: int, lambda_endpoint: str, function_configs: Mapping[str, Any], log_path: Path
) -> RunnerProcess:
    """Start the runner on `port` (real clock) and wait until `/health` answers."""
    log_file = log_path.open("wb")
    command = [
        *runner_command(),
        "start-server",
        "--host",
        HOST,
        "--port",
        str(port),
        "--lambda-endpoint",
        lambda_endpoint,
        "--local-runner-endpoint",
        f"http://{HOST}:{port}",
        "--local-runner-region",
        REGION,
        "--log-level",
        "WARNING",
        "--execution-timeout",
        "120",
        "--invocation-timeout",
        "60",
        "--function-configs",
        json.dumps(dict(function_configs)),
    ]
    env = {**os.environ, **RUNNER_ENV}
    process = subprocess.Popen(
        command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
    )
    runner = RunnerProcess(port, process, log_path, log_file)
    try:
        _wait_healthy(runner)
    except BaseException:
        runner.stop()
        raise
    return runner


def _wait_healthy(runner: RunnerProcess) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if runner.process.poll() is not None:
            raise RuntimeError(
                f"dex-local-runner exited with {runner.process.returncode}:\n{runner.log_tail()}"
            )
        try:
            with urllib.request.urlopen(f"{runner.url}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"dex-local-runner not healthy after {STARTUP_TIMEOUT} s:\n{runner.log_tail()}"
            )
        time.sleep(0.05)


@dataclass
class Wire:
    """The running pair: where the service and the Invoke endpoint are."""

    runner: RunnerProcess
    endpoint: InvokeEndpoint
    cache: dict[str, Any]

    @property
    def service_url(self) -> str:
        return self.runner.url


@contextlib.contextmanager
def running_wire(
    durable: Mapping[str, DurableHandler[Any, Any]],
    plain: Mapping[str, Callable[[Any], Any]],
    log_dir: Path,
) -> Iterator[Wire]:
    """Start the endpoint and the runner; stop both on exit."""
    configs: dict[str, Any] = dict.fromkeys(durable, DURABLE_CONFIG)
    configs.update({name: {} for name in plain})
    last_error: Exception | None = None
    for _ in range(3):  # a port picked as free can be taken before the runner binds it
        port = free_port()
        endpoint = InvokeEndpoint(durable, plain, f"http://{HOST}:{port}")
        try:
            url = endpoint.start()
            runner = start_runner(
                port, url, configs, log_dir / f"runner-{uuid.uuid4().hex[:6]}.log"
            )
        except Exception as exc:
            endpoint.stop()
            last_error = exc
            continue
        try:
            yield Wire(runner, endpoint, {})
        finally:
            runner.stop()
            endpoint.stop()
        return
    raise RuntimeError(f"could not start the local runner: {last_error}")


class WireClient:
    """The test's side of the service: start executions, read them, answer callbacks.

    Service calls go through an aiobotocore `lambda` client at the runner; starting an
    execution uses the runner's own route (`POST /start-durable-execution`), which stands in
    for a caller's asynchronous Invoke of a durable function.
    """

    def __init__(self, service_url: str) -> None:
        self.service_url = service_url
        self.lambda_client: Any = None
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> WireClient:
        import aiohttp
        from botocore.config import Config

        session = aio_session()
        self.lambda_client = await self._stack.enter_async_context(
            session.create_client(
                "lambda",
                region_name=REGION,
                endpoint_url=self.service_url,
                config=Config(retries={"mode": "standard", "total_max_attempts": 2}),
            )
        )
        self._http = await self._stack.enter_async_context(
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._stack.aclose()

    async def start(self, function_name: str, input: Any, execution_name: str) -> str:
        """Start an execution of `function_name`; return its ARN."""
        body = {
            "AccountId": "123456789012",
            "FunctionName": function_name,
            "FunctionQualifier": "$LATEST",
            "ExecutionName": execution_name,
            "ExecutionTimeoutSeconds": 120,
            "ExecutionRetentionPeriodDays": 1,
            "Input": json.dumps(input),
        }
        async with self._http.post(f"{self.service_url}/start-durable-execution", json=body) as r:
            data = await r.json()
            if r.status >= 300:
                raise RuntimeError(f"start-durable-execution: HTTP {r.status}: {data}")
        arn: str = data["ExecutionArn"]
        return arn

    async def describe(self, arn: str) -> dict[str, Any]:
        out: dict[str, Any] = await self.lambda_client.get_durable_execution(
            DurableExecutionArn=arn
        )
        out.pop("ResponseMetadata", None)
        return out

    async def wait_done(self, arn: str) -> dict[str, Any]:
        """Poll `GetDurableExecution` until the execution leaves RUNNING (bound it by the
        caller's timeout)."""
        while True:
            summary = await self.describe(arn)
            if summary["Status"] != "RUNNING":
                return summary
            await asyncio.sleep(0.05)

    async def history(self, arn: str) -> list[dict[str, Any]]:
        """Every event of `GetDurableExecutionHistory`, following `NextMarker`."""
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "DurableExecutionArn": arn,
            "IncludeExecutionData": True,
            "MaxItems": 1000,
        }
        while True:
            page = await self.lambda_client.get_durable_execution_history(**kwargs)
            events.extend(page.get("Events", []))
            marker = page.get("NextMarker")
            if not marker:
                return events
            kwargs["Marker"] = marker
