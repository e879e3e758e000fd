"""The real-wire harness: AWS's local runner calling our handlers through our Invoke endpoint.

`durable_async.testing.AwsLocalRunner` starts both servers on 127.0.0.1: the Lambda Invoke
endpoint (durable invocations run `handler.invoke_async(event, None, backend=AwsBackend(...))`,
so every checkpoint goes over HTTP through our aiobotocore client) and `dex-local-runner
start-server`, which invokes it and keeps the executions' state and history. This module holds
the tests' side: starting executions, reading them back, answering callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from durable_async import DurableHandler
from durable_async.testing import AwsLocalRunner, LambdaEndpoint

EXECUTION_TIMEOUT = 120
INVOCATION_TIMEOUT = 60
STARTUP_TIMEOUT = 20.0


@dataclass
class Wire:
    """The running pair: the runner (with its Invoke endpoint) and the runs made on it."""

    runner: AwsLocalRunner
    cache: dict[str, Any]

    @property
    def endpoint(self) -> LambdaEndpoint:
        return self.runner.endpoint


@contextlib.contextmanager
def running_wire(
    durable: Mapping[str, DurableHandler[Any, Any]],
    plain: Mapping[str, Callable[[Any], Any]],
    log_dir: Path,
) -> Iterator[Wire]:
    """Start the endpoint and the runner; stop both on exit."""
    runner = AwsLocalRunner(
        LambdaEndpoint(durable, plain),
        log_path=log_dir / "dex-local-runner.log",
        execution_timeout=EXECUTION_TIMEOUT,
        invocation_timeout=INVOCATION_TIMEOUT,
        startup_timeout=STARTUP_TIMEOUT,
    )
    with runner:
        yield Wire(runner, {})


class WireClient:
    """The test's side of the service: start executions, read them, answer callbacks.

    Service calls go through an aiobotocore `lambda` client at the runner; starting an
    execution uses the runner's own route (`AwsLocalRunner.start_execution`), which stands in
    for a caller's asynchronous Invoke of a durable function.
    """

    def __init__(self, runner: AwsLocalRunner) -> None:
        self.runner = runner
        self.lambda_client: Any = None
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> WireClient:
        from aiobotocore.session import get_session
        from botocore.config import Config

        self.lambda_client = await self._stack.enter_async_context(
            get_session().create_client(
                "lambda",
                **self.runner.client_kwargs,
                config=Config(retries={"mode": "standard", "total_max_attempts": 2}),
            )
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._stack.aclose()

    async def start(self, function_name: str, input: Any, execution_name: str) -> str:
        """Start an execution of `function_name`; return its ARN."""
        return await asyncio.to_thread(
            self.runner.start_execution, function_name, input, execution_name
        )

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
