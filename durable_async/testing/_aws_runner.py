"""AWS's local runner (`dex-local-runner`) calling our handlers over the real wire.

Two servers, both on 127.0.0.1:

- `LambdaEndpoint`: the Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`),
  an `aiohttp.web` app on its own thread and event loop. A durable function's invocation runs
  `handler.invoke_async(event, None, backend=AwsBackend(endpoint_url=<runner>))`, so every
  checkpoint crosses HTTP through our aiobotocore client; a plain function is called with the
  payload. A function that raises is answered as Lambda answers it (`X-Amz-Function-Error`).
- `dex-local-runner start-server` (from `aws-durable-execution-sdk-python-testing`, an
  optional dependency), a subprocess on the real clock, which invokes the endpoint and keeps
  the executions' state and history. `AwsLocalRunner` starts and stops both.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import inspect
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from .._handler import DurableHandler

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["AwsLocalRunner", "FunctionError", "Invocation", "LambdaEndpoint", "runner_available"]

HOST = "127.0.0.1"
REGION = "us-east-1"
DUMMY_KEY = "testing"
PACKAGE = "aws-durable-execution-sdk-python-testing"
_MODULE = "aws_durable_execution_sdk_python_testing"
_SCRIPT = "dex-local-runner"
_INVOKE_ROUTE = "/2015-03-31/functions/{name}/invocations"
_CALL_TIMEOUT = 10.0  # starting or stopping the endpoint or the runner
_REQUEST_TIMEOUT = 30.0  # one start-durable-execution request
_START_ATTEMPTS = 3


@dataclass(frozen=True)
class Invocation:
    """One Invoke the endpoint serves, as an `around` hook sees it.

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
    """Raise it from an `around` hook to answer the Invoke with this function error.

    It stands for what Lambda reports when the function's runtime itself fails (for example a
    `Runtime.ExitError` for a process that exited); unlike an exception the handler raises, it
    is not recorded in `LambdaEndpoint.errors`.
    """

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


T = TypeVar("T")
Around = Callable[[Invocation, Callable[[], Awaitable[Any]]], Awaitable[Any]]
OnError = Callable[[str, Exception], None]


def _error_body(exc: Exception) -> dict[str, Any]:
    """The body of Lambda's answer to an Invoke whose function raised `exc`.

    The stack trace holds the last three frames, formatted as the Python runtime does; a
    `FunctionError` has none.
    """
    if isinstance(exc, FunctionError):
        return {"errorType": exc.error_type, "errorMessage": exc.message, "stackTrace": []}
    frames = traceback.format_list(traceback.extract_tb(exc.__traceback__))
    return {"errorType": type(exc).__name__, "errorMessage": str(exc), "stackTrace": frames[-3:]}


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


class LambdaEndpoint:
    """The Lambda Invoke API serving our functions, on its own thread and event loop.

    Every durable invocation shares one `AwsBackend` pointed at the service, as in a warm
    sandbox. A durable invocation that raises is recorded (`errors`, `on_error`) and answered
    as a function error; so is a plain function's exception, without being recorded (a target
    that fails is a normal outcome). An unknown function is answered 404
    `ResourceNotFoundException`.

    Args:
        durable: durable handlers by function name.
        plain: plain functions (sync or async, called with the payload) by function name.
        around: runs each invocation: `await around(invocation, call)` must await `call()`
            and return its result, or raise (`FunctionError` to choose the error answered).
            Use it to run invocations in a context of your own (log capture, crash
            simulation).
        on_error: called with the function name and the exception when a durable
            invocation raised.
        region: the region of the `AwsBackend`'s client, and of the runner serving it.
    """

    def __init__(
        self,
        durable: Mapping[str, DurableHandler[Any, Any]],
        plain: Mapping[str, Callable[[Any], Any]] | None = None,
        *,
        around: Around | None = None,
        on_error: OnError | None = None,
        region: str = REGION,
    ) -> None:
        self.durable = dict(durable)
        self.plain = dict(plain or {})
        self.around = around
        self.on_error = on_error
        self.region = region
        self.service_url = ""
        self.url = ""
        self.invocations: list[tuple[str, str]] = []  # (durable function, output status)
        self.errors: list[str] = []  # "function: exception" of every durable invocation raised
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._app_runner: web.AppRunner | None = None
        self._backend: Any = None

    def start(self, service_url: str) -> str:
        """Start serving, with checkpoints going to `service_url`; return the endpoint's URL.

        A stopped endpoint can start again (on a new port).
        """
        if self._loop is not None and not self._loop.is_closed():
            raise RuntimeError("the endpoint is already running")
        self.service_url = service_url
        self._loop = loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._run, args=(loop,), name="lambda-endpoint", daemon=True
        )
        self._thread.start()
        try:
            self.url = self._call(self._setup())
        except BaseException:
            self.stop()
            raise
        return self.url

    def stop(self) -> None:
        """Stop serving, close the client and end the thread (each step bounded in time)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or loop.is_closed():
            return
        if thread.is_alive():
            with contextlib.suppress(Exception):
                self._call(self._teardown())
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=_CALL_TIMEOUT)
        if not thread.is_alive():
            loop.close()

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(_CALL_TIMEOUT)

    async def _setup(self) -> str:
        from aiobotocore.session import get_session
        from aiohttp import web

        from ..aws import AwsBackend

        session = get_session()
        session.set_credentials(DUMMY_KEY, DUMMY_KEY)
        self._backend = AwsBackend(
            endpoint_url=self.service_url, region_name=self.region, session=session
        )
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post(_INVOKE_ROUTE, self._invoke)
        self._app_runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._app_runner.setup()
        await web.TCPSite(self._app_runner, HOST, 0).start()
        return f"http://{HOST}:{self._app_runner.addresses[0][1]}"

    async def _teardown(self) -> None:
        if self._app_runner is not None:
            await self._app_runner.cleanup()
        if self._backend is not None:
            await self._backend.aclose()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)

    async def _invoke(self, request: web.Request) -> web.Response:
        from aiohttp import web

        name = request.match_info["name"].split(":", 1)[0]  # a qualified name routes by name
        body = await request.read()
        invocation = Invocation(name, json.loads(body) if body else None, name in self.durable)
        call = self._call_for(invocation)
        if call is None:
            return web.json_response(
                {"Type": "User", "Message": f"Function not found: {name}"},
                status=404,
                headers={"x-amzn-ErrorType": "ResourceNotFoundException"},
            )
        try:
            value = await (call() if self.around is None else self.around(invocation, call))
        except Exception as exc:
            if invocation.durable and not isinstance(exc, FunctionError):
                self.errors.append(f"{name}: {exc!r}")
                if self.on_error is not None:
                    self.on_error(name, exc)
            return web.json_response(
                _error_body(exc), headers={"X-Amz-Function-Error": "Unhandled"}
            )
        if invocation.durable and isinstance(value, dict):
            self.invocations.append((name, str(value.get("Status"))))
        return web.json_response(value, dumps=_dumps)

    def _call_for(self, invocation: Invocation) -> Callable[[], Awaitable[Any]] | None:
        """What runs the function: `None` for a function the endpoint does not serve."""
        payload = invocation.payload
        handler = self.durable.get(invocation.function)
        if handler is not None:
            event = payload if isinstance(payload, dict) else {}
            return lambda: handler.invoke_async(event, None, backend=self._backend)
        fn = self.plain.get(invocation.function)
        if fn is None:
            return None

        async def call() -> Any:
            value = fn(payload)
            return await value if inspect.isawaitable(value) else value

        return call


def runner_available() -> bool:
    """Whether AWS's local runner (`aws-durable-execution-sdk-python-testing`) is installed."""
    return _runner_command() is not None


def _runner_command() -> list[str] | None:
    """How to start `dex-local-runner`: the script next to this interpreter, on `PATH`, or the
    package's module; `None` when none is installed."""
    script = Path(sys.executable).with_name(_SCRIPT)
    if script.exists():
        return [str(script)]
    found = shutil.which(_SCRIPT)
    if found:
        return [found]
    if importlib.util.find_spec(_MODULE) is not None:
        return [sys.executable, "-m", f"{_MODULE}.cli"]
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class AwsLocalRunner:
    """AWS's local runner invoking our functions through a `LambdaEndpoint`, on 127.0.0.1.

    `start()` (or `with AwsLocalRunner(endpoint) as runner:`) starts the endpoint and
    `dex-local-runner start-server` on a free port and the real clock, declares to the runner
    every function the endpoint serves (a durable one with a `DurableConfig`), so chained
    invokes reach them all, and waits for its `/health`; `stop()` terminates the runner
    (killing it if it lingers) and stops the endpoint. The runner gets dummy credentials in its
    own environment only.

    Args:
        endpoint: the `LambdaEndpoint` serving the functions (started and stopped here).
        log_path: where the runner's output goes (a temporary file, removed on `stop()`, if
            not given); `log_tail()` reads it.
        execution_timeout: the executions' timeout in seconds (the runner's default, the
            durable functions' `DurableConfig`, and `start_execution`'s).
        invocation_timeout: how long one invocation may take, in seconds.
        startup_timeout: how long to wait for the runner's `/health`, in seconds.

    Raises:
        ImportError: from `start()`, when `aws-durable-execution-sdk-python-testing` is not
            installed.
    """

    def __init__(
        self,
        endpoint: LambdaEndpoint,
        *,
        log_path: str | os.PathLike[str] | None = None,
        execution_timeout: int = 300,
        invocation_timeout: int = 60,
        startup_timeout: float = 20.0,
    ) -> None:
        self.endpoint = endpoint
        self.execution_timeout = execution_timeout
        self.invocation_timeout = invocation_timeout
        self.startup_timeout = startup_timeout
        self.port = 0
        self._log_path = None if log_path is None else Path(log_path)
        self._temporary_log = log_path is None
        self._log_file: IO[bytes] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The runner's URL (the Lambda API's endpoint)."""
        return f"http://{HOST}:{self.port}"

    @property
    def client_kwargs(self) -> dict[str, str]:
        """Arguments for a boto3 or aiobotocore `lambda` client at the runner."""
        return {
            "endpoint_url": self.url,
            "region_name": self.endpoint.region,
            "aws_access_key_id": DUMMY_KEY,
            "aws_secret_access_key": DUMMY_KEY,
        }

    def function_configs(self) -> dict[str, Any]:
        """What `--function-configs` declares: every function, durable ones with a config."""
        timeout = self.execution_timeout
        durable = {"DurableConfig": {"ExecutionTimeout": timeout, "RetentionPeriodInDays": 1}}
        configs: dict[str, Any] = dict.fromkeys(self.endpoint.durable, durable)
        configs.update({name: {} for name in self.endpoint.plain})
        return configs

    def __enter__(self) -> AwsLocalRunner:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> AwsLocalRunner:
        """Start the endpoint and the runner and wait until the runner is healthy.

        A port picked as free can be taken before the runner binds it: then it starts again
        on another one (three attempts).
        """
        command = _runner_command()
        if command is None:
            raise ImportError(
                f"AwsLocalRunner needs AWS's local runner: pip install {PACKAGE}", name=_MODULE
            )
        attempt = 1
        while True:
            self.port = _free_port()
            try:
                self.endpoint.start(self.url)
                self._start_process(command)
                self._wait_healthy()
                return self
            except _RunnerExited:
                self.stop()
                if attempt == _START_ATTEMPTS:
                    raise
            except BaseException:
                self.stop()
                raise
            attempt += 1

    def _start_process(self, command: list[str]) -> None:
        if self._log_path is None:
            fd, name = tempfile.mkstemp(prefix="dex-local-runner-", suffix=".log")
            os.close(fd)
            self._log_path = Path(name)
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = self._log_path.open("wb")
        args = {
            "--host": HOST,
            "--port": str(self.port),
            "--lambda-endpoint": self.endpoint.url,
            "--local-runner-endpoint": self.url,
            "--local-runner-region": self.endpoint.region,
            "--log-level": "WARNING",
            "--execution-timeout": str(self.execution_timeout),
            "--invocation-timeout": str(self.invocation_timeout),
            "--function-configs": json.dumps(self.function_configs()),
        }
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": DUMMY_KEY,
            "AWS_SECRET_ACCESS_KEY": DUMMY_KEY,
            "AWS_DEFAULT_REGION": self.endpoint.region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        self._process = subprocess.Popen(
            [*command, "start-server", *(part for pair in args.items() for part in pair)],
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )

    def _wait_healthy(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = self._process.poll()
            if code is not None:
                raise _RunnerExited(f"{_SCRIPT} exited with {code}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{_SCRIPT} not healthy after {self.startup_timeout} s:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the runner wrote (empty once a temporary log is removed)."""
        if self._log_file is not None and not self._log_file.closed:
            self._log_file.flush()
        if self._log_path is None or not self._log_path.exists():
            return ""
        return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Terminate the runner (kill it if it lingers) and stop the endpoint."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=_CALL_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=_CALL_TIMEOUT)
        if self._log_file is not None:
            self._log_file.close()
        if self._temporary_log and self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None
        self.endpoint.stop()

    def start_execution(self, function: str, input: Any = None, name: str | None = None) -> str:
        """Start an execution of `function` with `input` (JSON-encoded); return its ARN.

        It uses the runner's own route (`POST /start-durable-execution`), which stands in
        for a caller's asynchronous Invoke of a durable function.
        """
        body = {
            "AccountId": "123456789012",
            "FunctionName": function,
            "FunctionQualifier": "$LATEST",
            "ExecutionName": name or f"{function}-{uuid.uuid4().hex[:8]}",
            "ExecutionTimeoutSeconds": self.execution_timeout,
            "ExecutionRetentionPeriodDays": 1,
            "Input": json.dumps(input),
        }
        request = urllib.request.Request(
            f"{self.url}/start-durable-execution",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=_REQUEST_TIMEOUT) as response:
                data = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise RuntimeError(f"start-durable-execution: HTTP {exc.code}: {detail}") from exc
        arn: str = data["ExecutionArn"]
        return arn


class _RunnerExited(RuntimeError):
    """The runner process ended while starting (most often: its port was taken)."""
