"""Plugins observe invocations, operations and attempts, and can never break an execution."""

from __future__ import annotations

from typing import Any

import pytest

from durable_async import (
    AttemptEnd,
    AttemptStart,
    DurableContext,
    DurablePlugin,
    InvocationEnd,
    InvocationStart,
    InvocationStatus,
    OperationEnd,
    OperationStart,
    RetryPolicy,
    durable_execution,
)
from durable_async.testing import LocalRunner

pytestmark = pytest.mark.anyio


class Recorder(DurablePlugin):
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def on_invocation_start(self, event: InvocationStart) -> None:
        self.events.append(("invocation-start", event.first_invocation))

    async def on_invocation_end(self, event: InvocationEnd) -> None:  # async hooks work too
        self.events.append(("invocation-end", event.status.value))

    def on_operation_start(self, event: OperationStart) -> None:
        self.events.append(("operation-start", event.name, event.operation_type.value))

    def on_operation_end(self, event: OperationEnd) -> None:
        self.events.append(("operation-end", event.name, event.status.value))

    def on_attempt_start(self, event: AttemptStart) -> None:
        self.events.append(("attempt-start", event.name, event.attempt))

    def on_attempt_end(self, event: AttemptEnd) -> None:
        self.events.append(("attempt-end", event.name, event.attempt, event.outcome))


class Faulty(DurablePlugin):
    def __getattribute__(self, name: str) -> Any:
        if name.startswith("on_"):

            def boom(event: object) -> None:
                raise RuntimeError(f"{name} is broken")

            return boom
        return super().__getattribute__(name)


def flaky_factory() -> Any:
    calls = {"n": 0}

    def flaky() -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("first attempt fails")
        return "ok"

    return flaky


def per_invocation(events: list[tuple[Any, ...]]) -> list[tuple[list[Any], list[Any]]]:
    """Each invocation's events, split in two streams: its own (invocation and attempt hooks,
    in the order the handler runs) and the service's (operation hooks, in the order responses
    arrive). Where an operation hook falls between attempt hooks depends on timing: a step body
    in a worker thread may end before or after the response to its START, so only the order
    within each stream is part of the contract."""
    invocations: list[tuple[list[Any], list[Any]]] = []
    for event in events:
        if event[0] == "invocation-start":
            invocations.append(([], []))
        own, service = invocations[-1]
        (service if event[0].startswith("operation-") else own).append(event)
    return invocations


async def test_hooks_fire_once_each_across_invocations_and_retries() -> None:
    recorder = Recorder()
    flaky = flaky_factory()

    @durable_execution(plugins=[recorder])
    async def handler(event: None, ctx: DurableContext) -> str:
        await ctx.wait(2, name="pause")
        return await ctx.step(flaky, retry=RetryPolicy.fixed(2, 1))

    result = await LocalRunner(handler).run()
    assert result.result == "ok"
    assert per_invocation(recorder.events) == [
        (
            [("invocation-start", True), ("invocation-end", "PENDING")],
            [("operation-start", "pause", "WAIT")],
        ),
        (
            # the wait ended between invocations: not observed
            [
                ("invocation-start", False),
                ("attempt-start", "flaky", 1),
                ("attempt-end", "flaky", 1, "FAILED"),
                ("invocation-end", "PENDING"),
            ],
            [("operation-start", "flaky", "STEP")],
        ),
        (
            [
                ("invocation-start", False),
                ("attempt-start", "flaky", 2),
                ("attempt-end", "flaky", 2, "SUCCEEDED"),
                ("invocation-end", "SUCCEEDED"),
            ],
            [("operation-end", "flaky", "SUCCEEDED")],
        ),
    ]


async def test_a_faulty_plugin_changes_nothing() -> None:
    async def greet(who: str) -> str:
        return f"Hello, {who}!"

    def make(plugins: list[DurablePlugin]) -> Any:
        @durable_execution(plugins=plugins)
        async def handler(event: str, ctx: DurableContext) -> str:
            await ctx.wait(1)
            return await ctx.step(greet, event)

        return handler

    plain = await LocalRunner(make([])).run("ada")
    recorder = Recorder()
    faulty = await LocalRunner(make([Faulty(), recorder])).run("ada")
    assert faulty.status is InvocationStatus.SUCCEEDED
    assert faulty.result == plain.result == "Hello, ada!"
    assert [e["EventType"] for e in faulty.history] == [e["EventType"] for e in plain.history]
    assert ("invocation-end", "SUCCEEDED") in recorder.events  # later plugins still run


async def test_invocation_end_reports_a_failed_execution() -> None:
    recorder = Recorder()

    @durable_execution(plugins=[recorder])
    async def handler(event: None, ctx: DurableContext) -> None:
        await ctx.step(lambda: 1 / 0, name="divide", retry=RetryPolicy.none())

    result = await LocalRunner(handler).run()
    assert result.status is InvocationStatus.FAILED
    assert recorder.events[-1] == ("invocation-end", "FAILED")
