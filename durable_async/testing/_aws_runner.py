"""AWS's local runner (`dex-local-runner`) calling our handlers over the real wire.

Two servers, both on 127.0.0.1:

- `LambdaEndpoint` (in `_endpoint`): the Lambda Invoke API serving our functions, every
  checkpoint crossing HTTP through our aiobotocore client.
- `dex-local-runner start-server` (from `aws-durable-execution-sdk-python-testing`, an
  optional dependency), a subprocess on the real clock, which invokes the endpoint and keeps
  the executions' state and history. `AwsLocalRunner` starts and stops both.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import IO, Any

from ._endpoint import CALL_TIMEOUT, DUMMY_KEY, HOST, LambdaEndpoint

__all__ = ["AwsLocalRunner", "runner_available"]

PACKAGE = "aws-durable-execution-sdk-python-testing"
_MODULE = "aws_durable_execution_sdk_python_testing"
_SCRIPT = "dex-local-runner"
_REQUEST_TIMEOUT = 30.0  # one start-durable-execution request
_START_ATTEMPTS = 3


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
                process.wait(timeout=CALL_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=CALL_TIMEOUT)
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
