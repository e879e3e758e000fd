"""Run a scenario on either backend and collect what the service recorded."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from _scenarios import TARGETS_DURABLE, TARGETS_PLAIN, Scenario
from _wire import Wire, WireClient

from durable_async.testing import LocalRunner, RunningExecution

RUN_TIMEOUT = 25.0


@dataclass(frozen=True)
class Outcome:
    """How one execution ended, and its history as `GetDurableExecutionHistory` gives it."""

    backend: str
    status: str
    result: Any
    error: dict[str, Any] | None
    history: list[dict[str, Any]]
    arn: str


def suspended_callback(events: list[dict[str, Any]], name: str) -> str | None:
    """The id of callback `name` once an invocation has completed after it started.

    Answering only then keeps the order of events the same on every backend: the
    invocation has suspended on the callback before the result arrives.
    """
    for i, event in enumerate(events):
        if event.get("EventType") == "CallbackStarted" and event.get("Name") == name:
            later = events[i + 1 :]
            if any(e.get("EventType") == "InvocationCompleted" for e in later):
                callback_id: str = event["CallbackStartedDetails"]["CallbackId"]
                return callback_id
    return None


class WireDriver:
    """Answers callbacks through `SendDurableExecutionCallback*` on the runner."""

    def __init__(self, client: WireClient, arn: str) -> None:
        self.client = client
        self.arn = arn

    async def callback_id(self, name: str) -> str:
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline:
            found = suspended_callback(await self.client.history(self.arn), name)
            if found:
                return found
            await asyncio.sleep(0.05)
        raise TimeoutError(f"callback {name!r} never suspended the execution")

    async def succeed(self, callback_id: str, value: Any) -> None:
        await self.client.lambda_client.send_durable_execution_callback_success(
            CallbackId=callback_id, Result=json.dumps(value).encode()
        )

    async def fail(self, callback_id: str, error_type: str, message: str) -> None:
        await self.client.lambda_client.send_durable_execution_callback_failure(
            CallbackId=callback_id, Error={"ErrorType": error_type, "ErrorMessage": message}
        )


class LocalDriver:
    """Answers callbacks on the embedded backend, through the local runner's handle."""

    def __init__(self, runner: LocalRunner, handle: RunningExecution) -> None:
        self.runner = runner
        self.handle = handle

    async def callback_id(self, name: str) -> str:
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline:
            found = suspended_callback(self.runner.backend.history(self.handle.execution_arn), name)
            if found:
                return found
            await asyncio.sleep(0.002)
        raise TimeoutError(f"callback {name!r} never suspended the execution")

    async def succeed(self, callback_id: str, value: Any) -> None:
        self.handle.send_callback_success(callback_id, value)

    async def fail(self, callback_id: str, error_type: str, message: str) -> None:
        self.handle.send_callback_failure(callback_id, error_type, message)


async def run_on_wire(wire: Wire, scenario: Scenario, execution_name: str) -> Outcome:
    """Start `scenario` on the runner, answer its callbacks, and wait for its end."""
    async with WireClient(wire.runner) as client:
        arn = await client.start(scenario.name, scenario.input, execution_name)
        if scenario.drive is not None:
            await asyncio.wait_for(scenario.drive(WireDriver(client, arn)), RUN_TIMEOUT)
        summary = await asyncio.wait_for(client.wait_done(arn), RUN_TIMEOUT)
        history = await client.history(arn)
    result = summary.get("Result")
    return Outcome(
        backend="runner",
        status=summary["Status"],
        result=json.loads(result) if result else None,
        error=summary.get("Error"),
        history=history,
        arn=arn,
    )


async def cached_wire_run(wire: Wire, scenario: Scenario) -> Outcome:
    """`run_on_wire`, once per scenario and session (the differential check reuses it)."""
    outcome: Outcome | None = wire.cache.get(scenario.name)
    if outcome is None:
        outcome = await run_on_wire(wire, scenario, scenario.name)
        wire.cache[scenario.name] = outcome
    return outcome


async def run_locally(scenario: Scenario, execution_name: str) -> Outcome:
    """Run `scenario` on the embedded backend with the local runner."""
    runner = LocalRunner(scenario.handler, callback_grace=scenario.callback_grace)
    for name, handler in TARGETS_DURABLE.items():
        runner.register(name, handler)
    for name, fn in TARGETS_PLAIN.items():
        runner.register(name, fn)
    handle = runner.start(scenario.input, name=execution_name)
    if scenario.drive is not None:
        await asyncio.wait_for(scenario.drive(LocalDriver(runner, handle)), RUN_TIMEOUT)
    done = await asyncio.wait_for(handle.result(), RUN_TIMEOUT)
    summary = runner.backend.get_execution(handle.execution_arn)
    return Outcome(
        backend="memory",
        status=done.status.value,
        result=done.result,
        error=summary.get("Error"),
        history=done.history,
        arn=handle.execution_arn,
    )
