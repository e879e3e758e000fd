"""The AWS local runner helper's own logic: Invoke answers, hooks, configs, a missing runner.

The runner itself (a subprocess) is exercised by `tests/integration/`; here the Invoke
endpoint serves plain functions and a durable one given an invalid event, which needs no
service.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from durable_async import DurableContext, durable_execution
from durable_async.testing import (
    AwsLocalRunner,
    FunctionError,
    Invocation,
    LambdaEndpoint,
    _aws_runner,
    runner_available,
)


@durable_execution
async def workflow(event: Any, ctx: DurableContext) -> Any:
    return event


def double(payload: Any) -> Any:
    return payload * 2


async def async_double(payload: Any) -> Any:
    return payload * 2


def fails(payload: Any) -> Any:
    raise ValueError(f"cannot take {payload!r}")


def post(url: str, function: str, payload: Any) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(
        f"{url}/2015-03-31/functions/{function}/invocations",
        data=json.dumps(payload).encode(),
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """Start a `LambdaEndpoint` (no service behind it); stop it after the test."""
    started: list[LambdaEndpoint] = []

    def start(**options: Any) -> str:
        endpoint = LambdaEndpoint(
            {"workflow": workflow},
            {"double": double, "async-double": async_double, "fails": fails},
            **options,
        )
        started.append(endpoint)
        return endpoint.start("http://127.0.0.1:9")

    yield start
    for endpoint in started:
        endpoint.stop()


def test_plain_functions_answer_their_value(serve: Callable[..., str]) -> None:
    url = serve()
    assert post(url, "double", 21)[::2] == (200, 42)
    assert post(url, "async-double:7", 21)[::2] == (200, 42)  # a qualifier is ignored


def test_an_exception_is_a_function_error(serve: Callable[..., str]) -> None:
    status, headers, body = post(serve(), "fails", 1)
    assert status == 200
    assert headers["X-Amz-Function-Error"] == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "cannot take 1"
    assert 1 <= len(body["stackTrace"]) <= 3
    assert "in fails" in body["stackTrace"][-1]


def test_an_unknown_function_is_not_found(serve: Callable[..., str]) -> None:
    status, headers, body = post(serve(), "nobody", None)
    assert status == 404
    assert headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert body["Message"] == "Function not found: nobody"


def test_a_durable_invocation_that_raises_is_recorded(serve: Callable[..., str]) -> None:
    async def around(invocation: Invocation, call: Callable[[], Awaitable[Any]]) -> Any:
        raise RuntimeError(f"{invocation.function} could not run")

    seen: list[tuple[str, Exception]] = []
    url = serve(around=around, on_error=lambda name, exc: seen.append((name, exc)))
    status, headers, body = post(url, "workflow", {"CheckpointToken": "t"})
    assert (status, headers["X-Amz-Function-Error"]) == (200, "Unhandled")
    assert (body["errorType"], body["errorMessage"]) == ("RuntimeError", "workflow could not run")
    assert [(name, str(exc)) for name, exc in seen] == [("workflow", "workflow could not run")]
    post(url, "fails", 1)  # a plain function's exception is its answer, not a harness error
    assert len(seen) == 1


def test_around_runs_every_invocation_and_chooses_errors(serve: Callable[..., str]) -> None:
    calls: list[Invocation] = []

    async def around(invocation: Invocation, call: Callable[[], Awaitable[Any]]) -> Any:
        calls.append(invocation)
        value = await call()
        if value == 0:
            raise FunctionError("Runtime.ExitError", "Runtime exited with error: exit status 1")
        return value

    url = serve(around=around)
    assert post(url, "double", 2)[2] == 4
    _, headers, body = post(url, "double", 0)
    assert headers["X-Amz-Function-Error"] == "Unhandled"
    assert body == {
        "errorType": "Runtime.ExitError",
        "errorMessage": "Runtime exited with error: exit status 1",
        "stackTrace": [],
    }
    event = {"DurableExecutionArn": "arn-1", "CheckpointToken": "t"}
    post(url, "workflow", event)
    assert calls == [
        Invocation("double", 2, durable=False),
        Invocation("double", 0, durable=False),
        Invocation("workflow", event, durable=True),
    ]
    assert [c.execution_arn for c in calls] == [None, None, "arn-1"]


def test_function_configs_declare_every_function() -> None:
    endpoint = LambdaEndpoint({"workflow": workflow}, {"double": double})
    runner = AwsLocalRunner(endpoint, execution_timeout=60)
    assert runner.function_configs() == {
        "workflow": {"DurableConfig": {"ExecutionTimeout": 60, "RetentionPeriodInDays": 1}},
        "double": {},
    }


def test_a_missing_runner_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_aws_runner, "_SCRIPT", "no-such-dex-local-runner")
    monkeypatch.setattr(_aws_runner, "_MODULE", "no_such_testing_package")
    assert not runner_available()
    runner = AwsLocalRunner(LambdaEndpoint({"workflow": workflow}))
    with pytest.raises(ImportError, match="pip install aws-durable-execution-sdk-python-testing"):
        runner.start()
    runner.stop()  # stopping what never started is harmless


def test_importing_the_testing_package_needs_neither_server_library() -> None:
    code = (
        "import sys, durable_async.testing; "
        "print(sorted(m for m in ('aiohttp', 'aws_durable_execution_sdk_python_testing') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=20
    )
    assert out.stdout.strip() == "[]"
