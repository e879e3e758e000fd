"""The services the conformance suite runs against, seen through the suite's own interfaces.

The suite (`aws-durable-execution-conformance-tests`) validates a requirement with an *invoker*
(`invoke`, `invoke_async`, `stack_name`) and a mapping of AWS clients (`lambda`, `logs`,
`cloudformation`). Each backend here provides both:

- `MemoryService`: our embedded `MemoryBackend`, one per execution, on a background event loop.
  A `LocalRunner` plays the part of the Lambda service: it invokes the handler, records what
  the invocation returned, and invokes again when a timer is due (skipping the wait), when a
  callback or chained invoke completes, or at once after a crash. The `lambda` client reads the
  backend's own `GetDurableExecution` and `GetDurableExecutionHistory` answers, untouched.
- `RunnerService`: AWS's local runner (`dex-local-runner start-server`, a subprocess) calling
  our handlers through a small Lambda Invoke endpoint, every checkpoint going over HTTP through
  `AwsBackend`. The `lambda` client is boto3's, pointed at the runner; the only change made to
  what the runner answers is an empty `InvocationCompletedDetails` where the runner leaves the
  key out.

Both run every invocation through one hook (`Service.around`): a sandbox that attributes what
it logs to its execution and turns a crash into Lambda's `Runtime.ExitError`.

Logs. Both capture what each invocation logs (the `logging` module and `print`), attributed
to its execution, and serve it through stand-ins for the CloudWatch Logs and CloudFormation
clients. A printed line holding a JSON object is kept as it is, a record of its own, as Lambda
writes stdout. This is an offline stand-in for CloudWatch, not CloudWatch.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import json
import logging
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any, TypeVar

from aws_durable_execution_conformance_tests.clients import (  # type: ignore[import-untyped]
    AwsClients,
)
from aws_durable_execution_conformance_tests.sam import (  # type: ignore[import-untyped]
    InvocationResult,
    InvokeError,
)
from botocore.exceptions import ClientError

from durable_async import (
    DurableHandler,
    ErrorObject,
    MemoryBackend,
    OperationStatus,
    OperationType,
)
from durable_async.testing import (
    AwsLocalRunner,
    FunctionError,
    Invocation,
    LambdaEndpoint,
    LocalRunner,
    RunningExecution,
)

from .handlers import InvocationCrashed, current_sandbox, sandbox

__all__ = [
    "REGION",
    "STACK_NAME",
    "LogStore",
    "MemoryService",
    "RunnerService",
    "Service",
    "function_name",
]

T = TypeVar("T")
Target = DurableHandler[Any, Any] | Callable[[Any], Any]

REGION = "us-east-1"
STACK_NAME = "durable-async-conformance"
CALL_TIMEOUT = 30.0
EXECUTION_TIMEOUT = 120.0
RUNNER_EXECUTION_TIMEOUT = 900  # what the runner allows an execution (the service's maximum)
RUNNER_INVOCATION_TIMEOUT = 120
CRASH_ERROR_TYPE = "Runtime.ExitError"
MAX_FAILED_INVOCATIONS = 5


def function_name(requirement: str) -> str:
    """The Lambda function name a requirement's handler is deployed under."""
    return f"conformance-{requirement}"


def read_payload(event_file_path: str) -> Any:
    """The Invoke payload for an event file: its `Input` member, as the suite's invoker sends."""
    try:
        with open(event_file_path) as f:
            data = json.load(f)
    except ValueError as exc:
        raise InvokeError("event", f"the event file is not JSON: {exc}") from exc
    if isinstance(data, dict) and "Input" in data:
        return data["Input"]
    return data


def _client_error(operation: str, code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


# -- logs: capture and serve ---------------------------------------------------------------------


class LogStore:
    """What each execution logged: CloudWatch-shaped events (one JSON record per line)."""

    def __init__(self) -> None:
        self._events: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def add(self, execution_arn: str, record: dict[str, Any]) -> None:
        """Append one record (`message`, `level`, and the keys it carries) to the log of the
        execution it names."""
        self._append(execution_arn, json.dumps(record, default=str))

    def add_printed(self, line: str) -> None:
        """Append a line an invocation printed.

        Lambda writes stdout as it is: a line holding a JSON object stays a record of its own,
        found by the ARN it names itself (`durableExecutionArn` or `executionArn`), as
        CloudWatch's filter finds it; a line naming no ARN, JSON or not, is not found.
        """
        try:
            parsed = json.loads(line)
        except ValueError:
            return
        if not isinstance(parsed, dict):
            return
        named = parsed.get("durableExecutionArn") or parsed.get("executionArn")
        if isinstance(named, str):
            self._append(named, line.strip())

    def _append(self, execution_arn: str, line: str) -> None:
        now_ms = int(time.time() * 1000)
        with self._lock:
            events = self._events.setdefault(execution_arn, [])
            events.append(
                {
                    "logStreamName": f"{execution_arn[-12:]}",
                    "timestamp": now_ms,
                    "ingestionTime": now_ms,
                    "message": line,
                    "eventId": f"{now_ms}-{len(events)}",
                }
            )

    def events(self, execution_arn: str, start_ms: int, end_ms: int) -> list[dict[str, Any]]:
        """The execution's events between two times (epoch milliseconds, inclusive)."""
        with self._lock:
            found = self._events.get(execution_arn, [])
            return [dict(e) for e in found if start_ms <= e["timestamp"] <= end_ms]

    def count(self) -> int:
        """How many records were captured in all."""
        with self._lock:
            return sum(len(v) for v in self._events.values())


_SDK_KEYS = ("executionArn", "parentId", "operationId", "operationName", "attempt", "replaying")
"""What the SDK's loggers put on a record, kept as keys of its JSON line."""


class _CaptureHandler(logging.Handler):
    """Writes every log record as Lambda's JSON log format does, filed under the execution the
    record names itself (its `executionArn`, which the SDK's loggers put on it). A record that
    names none is not found by an execution's filter, as in CloudWatch."""

    def __init__(self, store: LogStore) -> None:
        super().__init__(logging.DEBUG)
        self._store = store

    def emit(self, record: logging.LogRecord) -> None:
        arn = getattr(record, "executionArn", None)
        if not isinstance(arn, str):
            return
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{''.join(traceback.format_exception(*record.exc_info))}"
        line = {
            "timestamp": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        line.update({k: getattr(record, k) for k in _SDK_KEYS if hasattr(record, k)})
        self._store.add(arn, line)


class _CapturingStdout(io.TextIOBase):
    """`sys.stdout` for the run: lines printed inside an invocation go to its log; lines printed
    by a validation worker go to that worker's buffer; everything else passes through."""

    def __init__(self, store: LogStore, real: IO[str]) -> None:
        self._store = store
        self._real = real
        self._partial: dict[tuple[int, str], str] = {}
        self._local = threading.local()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def buffered(self) -> Iterator[list[str]]:
        """Collect what the current thread prints (outside invocations) in a list."""
        lines: list[str] = []
        self._local.buffer = lines
        try:
            yield lines
        finally:
            self._local.buffer = None

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        box = current_sandbox()
        if box is not None:
            key = (threading.get_ident(), box.execution_arn)
            with self._lock:
                pending = self._partial.get(key, "") + text
                *lines, rest = pending.split("\n")
                self._partial[key] = rest
            for line in lines:
                self._store.add_printed(line)
            return len(text)
        buffer: list[str] | None = getattr(self._local, "buffer", None)
        if buffer is not None:
            buffer.append(text)
            return len(text)
        return self._real.write(text)

    def flush(self) -> None:
        self._real.flush()


@contextlib.contextmanager
def capturing_logs(store: LogStore) -> Iterator[_CapturingStdout]:
    """Capture invocations' logs (root logger at INFO, `sys.stdout` swapped) while active."""
    root = logging.getLogger()
    handler = _CaptureHandler(store)
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    real = sys.stdout
    proxy = _CapturingStdout(store, real)
    sys.stdout = proxy
    try:
        yield proxy
    finally:
        sys.stdout = real
        root.removeHandler(handler)
        root.setLevel(old_level)


_ARN_FILTER = re.compile(r'\$\.durableExecutionArn = "((?:[^"\\]|\\.)*)"')


class LogsClient:
    """The CloudWatch Logs calls the suite makes (`filter_log_events`), from a `LogStore`."""

    def __init__(self, store: LogStore) -> None:
        self._store = store

    def filter_log_events(
        self,
        *,
        logGroupName: str,
        startTime: int = 0,
        endTime: int | None = None,
        filterPattern: str = "",
        nextToken: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        """Events of the execution the JSON filter names (the suite always names one)."""
        match = _ARN_FILTER.search(filterPattern)
        if match is None:
            raise _client_error(
                "FilterLogEvents",
                "InvalidParameterException",
                "this stand-in serves one execution's records: filter on $.durableExecutionArn",
            )
        arn = match.group(1).replace('\\"', '"').replace("\\\\", "\\")
        end = endTime if endTime is not None else int(time.time() * 1000)
        return {"events": self._store.events(arn, startTime, end), "searchedLogStreams": []}


class CloudFormationClient:
    """The CloudFormation call the suite makes to find a function's log group."""

    def describe_stack_resource(
        self,
        *,
        StackName: str,
        LogicalResourceId: str,
    ) -> dict[str, Any]:
        """Every function is 'deployed' under its own name."""
        return {
            "StackResourceDetail": {
                "StackName": StackName,
                "LogicalResourceId": LogicalResourceId,
                "PhysicalResourceId": LogicalResourceId,
                "ResourceType": "AWS::Lambda::Function",
            }
        }


# -- the common shape ----------------------------------------------------------------------------


class Service:
    """A backend as the suite sees it: an invoker and the AWS clients."""

    name = ""

    def __init__(self, logs: LogStore) -> None:
        self.logs = logs
        self.aws_clients: AwsClients = AwsClients(MappingProxyType({}))
        self._problems: dict[str, list[str]] = {}
        self._problems_lock = threading.Lock()

    def add_problem(self, function: str, text: str) -> None:
        """Note something that went wrong outside the handler's own code (a harness error)."""
        with self._problems_lock:
            self._problems.setdefault(function, []).append(text)

    def problems(self, function: str) -> list[str]:
        """What went wrong for `function` outside what the suite can see."""
        with self._problems_lock:
            return list(self._problems.get(function, []))

    async def around(self, invocation: Invocation, call: Callable[[], Awaitable[Any]]) -> Any:
        """Run one invocation in a sandbox, as Lambda runs a function: what it logs is
        captured, a crashed one fails as a runtime that exited (`Runtime.ExitError`), and an
        exception a durable invocation raised fails it too, noted as a problem (the handlers
        should never let one out)."""
        with sandbox(invocation.execution_arn or f"target:{invocation.function}") as box:
            value = None
            try:
                value = await call()
            except InvocationCrashed:
                box.crashed = True
            except FunctionError:
                raise
            except Exception as exc:
                if not invocation.durable:
                    raise  # a plain target that fails is an outcome of the invoke
                function = self._function_of(invocation)
                self.add_problem(function, f"the invocation raised {exc!r}")
                raise FunctionError(type(exc).__name__, str(exc)) from exc
        if box.crashed:
            raise FunctionError(CRASH_ERROR_TYPE, "Runtime exited with error: exit status 1")
        return value

    def _function_of(self, invocation: Invocation) -> str:
        """The function a problem with `invocation` is reported under."""
        return invocation.function

    @property
    def stack_name(self) -> str:
        """The stack every function belongs to (the suite passes it to CloudFormation)."""
        return STACK_NAME

    def _clients(self, lambda_client: Any) -> AwsClients:
        return AwsClients(
            MappingProxyType(
                {
                    "lambda": lambda_client,
                    "logs": LogsClient(self.logs),
                    "cloudformation": CloudFormationClient(),
                }
            )
        )

    def invoke(self, function_name: str, event_file_path: str) -> InvocationResult:
        """Invoke and wait for the execution to end (a synchronous durable Invoke)."""
        raise NotImplementedError

    def invoke_async(self, function_name: str, event_file_path: str) -> InvocationResult:
        """Start the execution and return at once (an `Event` Invoke)."""
        raise NotImplementedError

    def start(self) -> None:
        """Bring the backend up."""

    def stop(self) -> None:
        """Tear the backend down."""

    def describe(self) -> str:
        """One line for the run's header."""
        return self.name

    @staticmethod
    def _result(
        function: str, status_code: int, payload: str, arn: str, error: str | None = None
    ) -> InvocationResult:
        output: dict[str, Any] = {
            "StatusCode": status_code,
            "Payload": payload,
            "DurableExecutionArn": arn,
        }
        if error:
            output["FunctionError"] = error
        return InvocationResult(
            success=True,
            command=f"invoke {function}",
            output=json.dumps(output),
            stderr="",
            function_name=function,
        )


class _LoopThread:
    """An event loop on its own thread; every call into it is marshalled onto it."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self) -> None:
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = CALL_TIMEOUT) -> T:
        """Run `coro` on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=5) if tasks else None

        with contextlib.suppress(Exception):
            self.call(cancel_all(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self.loop.close()


# -- (a) the embedded backend --------------------------------------------------------------------


def _callback_open(backend: MemoryBackend, arn: str) -> bool:
    """Whether the execution waits on a callback nobody has answered yet."""
    return any(
        op.type is OperationType.CALLBACK and op.status is OperationStatus.STARTED
        for op in backend.operations(arn)
    )


async def real_time_callbacks(backend: MemoryBackend, arn: str) -> None:
    """The runner's next-event policy: wait for what re-invokes a suspended execution, skipping
    the clock to a timer.

    While a callback is open the clock runs in real time: the outside world answers it on its
    own schedule (after the suite's `Delay`), and skipping a wait would reorder events that the
    service records in wall-clock order.
    """
    clock = backend.clock
    assert isinstance(clock, SkippingClock)
    while True:
        timer = backend.next_wake_time(arn, callbacks=False)
        if timer is not None and not _callback_open(backend, arn):
            clock.skip_to(timer)
            return
        deadline = backend.next_wake_time(arn)  # a timer, a callback's timeout or heartbeat
        if deadline is not None and deadline <= clock.now():
            return
        changed = backend.changed(arn)
        timeout = None if deadline is None else deadline - clock.now()
        done, _ = await asyncio.wait((changed,), timeout=timeout)
        if done:
            return
        changed.cancel()  # a heartbeat may have moved the deadline: look again


class SkippingClock:
    """Wall-clock time that can jump ahead.

    The runner's next-event policy (`real_time_callbacks`) skips to a suspended execution's
    next timer (a wait, a retry delay), so waits take no time; everything else (callback
    timeouts and heartbeats, in-process timers, outside events) happens in real time, as the
    service does it.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._sleepers: list[asyncio.Future[None]] = []

    def now(self) -> float:
        """Real time plus every skip so far."""
        return time.time() + self._offset

    def skip_to(self, when: float) -> None:
        """Jump forward to `when` (never backwards), waking sleepers to look at the time."""
        ahead = when - self.now()
        if ahead > 0:
            self._offset += ahead
        sleepers, self._sleepers = self._sleepers, []
        for fut in sleepers:
            if not fut.done():
                fut.set_result(None)

    async def sleep_until(self, deadline: float) -> None:
        """Sleep until the clock reaches `deadline`, by real time or by a skip."""
        while (left := deadline - self.now()) > 0:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._sleepers.append(fut)
            try:
                await asyncio.wait((fut,), timeout=left)
            finally:
                if not fut.done():
                    fut.cancel()


class MemoryService(Service):
    """Executions on `MemoryBackend`, driven as the Lambda service drives a durable function."""

    name = "memory"

    def __init__(
        self,
        handlers: Mapping[str, DurableHandler[Any, Any]],
        targets: Mapping[str, Target],
        logs: LogStore,
    ) -> None:
        super().__init__(logs)
        self.handlers = dict(handlers)
        self.targets = dict(targets)
        self._thread = _LoopThread("memory-service")
        # By the ARN of each execution the suite started: its backend, function and run.
        self._backends: dict[str, MemoryBackend] = {}
        self._functions: dict[str, str] = {}
        self._runs: dict[str, asyncio.Task[None]] = {}
        self.aws_clients = self._clients(MemoryLambdaClient(self))

    def describe(self) -> str:
        return "memory: MemoryBackend (one per execution), timers skipped, callbacks in real time"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._thread.stop()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = CALL_TIMEOUT) -> T:
        """Run `coro` on the service's loop (MemoryBackend is not thread-safe)."""
        return self._thread.call(coro, timeout)

    # -- the suite's invoker --------------------------------------------------------------------

    def invoke(self, function_name: str, event_file_path: str) -> InvocationResult:
        payload = read_payload(event_file_path)
        arn = self.call(self._start(function_name, payload))
        try:
            self.call(self._finished(arn), timeout=EXECUTION_TIMEOUT)
        except TimeoutError as exc:
            raise InvokeError(function_name, f"still running after {EXECUTION_TIMEOUT} s") from exc
        summary = self.call(self._summary(arn))
        error = summary.get("Error")
        return self._result(
            function_name,
            200,
            summary.get("Result") or json.dumps(error or None),
            arn,
            "Unhandled" if summary.get("Status") != "SUCCEEDED" else None,
        )

    def invoke_async(self, function_name: str, event_file_path: str) -> InvocationResult:
        payload = read_payload(event_file_path)
        arn = self.call(self._start(function_name, payload))
        return self._result(function_name, 202, "", arn)

    # -- on the loop ----------------------------------------------------------------------------

    async def _start(self, function: str, payload: Any) -> str:
        """Start an execution of `function` on a backend of its own, driven by a runner."""
        runner = LocalRunner(
            self._handler(function),
            backend=MemoryBackend(clock=SkippingClock()),
            around=self.around,
            next_event=real_time_callbacks,
            max_failed_invocations=MAX_FAILED_INVOCATIONS,
            unawaited="warn",  # the warning the function would log in production
        )
        for name, target in self.targets.items():
            runner.register(name, target)
        running = runner.start(payload, name=f"{function}-{uuid.uuid4().hex[:8]}")
        arn = running.execution_arn
        self._backends[arn], self._functions[arn] = runner.backend, function
        self._runs[arn] = asyncio.get_running_loop().create_task(self._run(function, running))
        return arn

    def _handler(self, function: str) -> DurableHandler[Any, Any]:
        for requirement, handler in self.handlers.items():
            if function_name(requirement) == function:
                return handler
        raise InvokeError(function, "no such function")

    async def _run(self, function: str, running: RunningExecution) -> None:
        try:
            await running.result()
        except Exception as exc:
            self.add_problem(function, f"the invocation loop stopped: {exc!r}")
            raise

    def _function_of(self, invocation: Invocation) -> str:
        arn = invocation.execution_arn
        return self._functions.get(arn or "", invocation.function)

    async def _finished(self, arn: str) -> None:
        await asyncio.shield(self._runs[arn])

    async def _summary(self, arn: str) -> dict[str, Any]:
        return self._backend(arn).get_execution(arn)

    def _backend(self, arn: str) -> MemoryBackend:
        backend = self._backends.get(arn)
        if backend is None:
            raise _client_error(
                "GetDurableExecution", "ResourceNotFoundException", f"no execution {arn}"
            )
        return backend

    # -- what the lambda client reads -----------------------------------------------------------

    async def history(self, arn: str) -> list[dict[str, Any]]:
        return self._backend(arn).history(arn)

    async def callback(self, operation: str, callback_id: str, *args: Any) -> None:
        from durable_async import CheckpointRejectedError

        for backend in {id(b): b for b in self._backends.values()}.values():
            try:
                getattr(backend, operation)(callback_id, *args)
            except CheckpointRejectedError as exc:
                if exc.code == "ResourceNotFoundException":
                    continue
                raise _client_error(
                    operation, exc.code or "InvalidParameterValueException", str(exc)
                ) from exc
            return
        raise _client_error(operation, "ResourceNotFoundException", f"no callback {callback_id}")


class MemoryLambdaClient:
    """The Lambda API calls the suite makes, answered by the embedded backends."""

    def __init__(self, service: MemoryService) -> None:
        self._service = service

    def get_durable_execution(self, *, DurableExecutionArn: str) -> dict[str, Any]:
        return self._service.call(self._service._summary(DurableExecutionArn))

    def get_durable_execution_history(
        self,
        *,
        DurableExecutionArn: str,
        IncludeExecutionData: bool = False,
        **_: Any,
    ) -> dict[str, Any]:
        events = self._service.call(self._service.history(DurableExecutionArn))
        return {"Events": events}

    def send_durable_execution_callback_success(
        self,
        *,
        CallbackId: str,
        Result: bytes | str | None = None,
    ) -> dict[str, Any]:
        result = Result.decode() if isinstance(Result, bytes) else Result
        self._service.call(self._service.callback("send_callback_success", CallbackId, result))
        return {}

    def send_durable_execution_callback_failure(
        self,
        *,
        CallbackId: str,
        Error: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        error = ErrorObject.model_validate(Error or {})
        self._service.call(self._service.callback("send_callback_failure", CallbackId, error))
        return {}

    def send_durable_execution_callback_heartbeat(
        self,
        *,
        CallbackId: str,
    ) -> dict[str, Any]:
        self._service.call(self._service.callback("send_callback_heartbeat", CallbackId))
        return {}


# -- (b) AWS's local runner ----------------------------------------------------------------------


class RunnerLambdaClient:
    """boto3's `lambda` client at the runner; history gets `InvocationCompletedDetails` back.

    The runner leaves the `InvocationCompletedDetails` key out of `InvocationCompleted` events,
    which the service always sends; an empty one is put back so the suite's matcher (which needs
    the key to exist) can compare the rest. Nothing else is changed.
    """

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_durable_execution_history(self, **kwargs: Any) -> dict[str, Any]:
        page: dict[str, Any] = self._client.get_durable_execution_history(**kwargs)
        for event in page.get("Events", []):
            if event.get("EventType") == "InvocationCompleted":
                event.setdefault("InvocationCompletedDetails", {})
        return page


class RunnerService(Service):
    """AWS's local runner calling our handlers through our Lambda Invoke endpoint."""

    name = "aws-runner"

    def __init__(
        self,
        handlers: Mapping[str, DurableHandler[Any, Any]],
        targets: Mapping[str, Target],
        logs: LogStore,
        log_dir: Path,
    ) -> None:
        super().__init__(logs)
        functions = {function_name(r): h for r, h in handlers.items()}
        durable_targets = {n: t for n, t in targets.items() if isinstance(t, DurableHandler)}
        plain = {n: t for n, t in targets.items() if not isinstance(t, DurableHandler)}
        endpoint = LambdaEndpoint(
            {**functions, **durable_targets}, plain, around=self.around, region=REGION
        )
        self.runner = AwsLocalRunner(
            endpoint,
            log_path=log_dir / "dex-local-runner.log",
            execution_timeout=RUNNER_EXECUTION_TIMEOUT,
            invocation_timeout=RUNNER_INVOCATION_TIMEOUT,
            startup_timeout=30.0,
        )

    def describe(self) -> str:
        endpoint = self.runner.endpoint.url
        return f"aws-runner: dex-local-runner at {self.runner.url}, our handlers at {endpoint}"

    def start(self) -> None:
        import boto3  # type: ignore[import-untyped]
        from botocore.config import Config

        self.runner.start()
        client = boto3.Session().client(
            "lambda",
            **self.runner.client_kwargs,
            config=Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=50),
        )
        self._lambda = client
        self.aws_clients = self._clients(RunnerLambdaClient(client))

    def stop(self) -> None:
        self.runner.stop()

    # -- the suite's invoker --------------------------------------------------------------------

    def _start_execution(self, function: str, payload: Any) -> str:
        try:
            return self.runner.start_execution(function, payload)
        except (RuntimeError, OSError, ValueError) as exc:
            raise InvokeError(function, f"start-durable-execution failed: {exc}") from exc

    def invoke(self, function_name: str, event_file_path: str) -> InvocationResult:
        arn = self._start_execution(function_name, read_payload(event_file_path))
        deadline = time.monotonic() + EXECUTION_TIMEOUT
        while True:
            summary = self._lambda.get_durable_execution(DurableExecutionArn=arn)
            if summary.get("Status") != "RUNNING":
                break
            if time.monotonic() > deadline:
                raise InvokeError(function_name, f"still running after {EXECUTION_TIMEOUT} s")
            time.sleep(0.05)
        error = summary.get("Error")
        return self._result(
            function_name,
            200,
            summary.get("Result") or json.dumps(error or None),
            arn,
            "Unhandled" if summary.get("Status") != "SUCCEEDED" else None,
        )

    def invoke_async(self, function_name: str, event_file_path: str) -> InvocationResult:
        arn = self._start_execution(function_name, read_payload(event_file_path))
        return self._result(function_name, 202, "", arn)
