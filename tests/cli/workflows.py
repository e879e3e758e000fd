"""Workflows the CLI tests run by file path (`tests/cli/workflows.py:NAME`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from durable_async import CallbackTimeoutError, DurableContext, durable_execution


@durable_execution
async def approval(event: Any, ctx: DurableContext) -> dict[str, Any]:
    try:
        decision = await ctx.wait_for_callback(lambda cid: cid, name="approval", timeout=3600)
    except CallbackTimeoutError:
        return {"approved": False, "why": "timed out"}
    return {"approved": bool(decision.get("approved")), "by": decision.get("by")}


@durable_execution
async def untimed(event: Any, ctx: DurableContext) -> Any:
    callback = await ctx.create_callback(name="forever")
    return await callback


@durable_execution
async def two_callbacks(event: Any, ctx: DurableContext) -> list[Any]:
    first = await ctx.create_callback(name="first", timeout=60)
    second = await ctx.create_callback(name="second", timeout=60)
    return [await first, await second]


@durable_execution
async def runaway(event: Any, ctx: DurableContext) -> None:
    while True:
        await ctx.wait(1)


class Opaque:
    """A value no serialiser knows."""


@durable_execution
async def returns_an_object(event: Any, ctx: DurableContext) -> Opaque:
    await ctx.step(lambda: 1, name="one")
    return Opaque()


def _check(sku: Any) -> None:
    raise ValueError(f"bad sku {sku!r}")


@durable_execution
async def fails(event: Any, ctx: DurableContext) -> None:
    await ctx.step(lambda: _check(event), name="check", retry=lambda e, n: _no_retry())


def _no_retry() -> Any:
    from durable_async import RetryDecision

    return RetryDecision.stop()


@durable_execution
async def unserialisable_step(event: Any, ctx: DurableContext) -> None:
    await ctx.step(lambda: object(), name="make-object")


async def item(ctx: DurableContext, sku: str, index: int) -> str:
    await ctx.step(lambda: sku.upper(), name="upper")
    return sku


async def checkout(ctx: DurableContext) -> int:
    await ctx.step(lambda: 1, name="charge")
    await ctx.wait(90)
    return 1


@durable_execution
async def nested(event: Any, ctx: DurableContext) -> Any:
    await ctx.run_in_child_context(checkout, name="checkout")
    batch = await ctx.map(["a", "b"], item, name="items")
    return batch.results()


@durable_execution
async def echo(event: Any, ctx: DurableContext) -> Any:
    return await ctx.step(lambda: event, name="echo")


@durable_execution
async def measure(event: Any, ctx: DurableContext) -> int:
    return len(event["blob"])


def _wait_for_file(path: str) -> str:
    deadline = time.monotonic() + 60
    while not Path(path).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        time.sleep(0.02)
    return "released"


@durable_execution
async def held(event: Any, ctx: DurableContext) -> str:
    # Runs until the test creates the file the event names: a run that lasts as long as the
    # test needs to see the progress line, whatever the machine's speed.
    return await ctx.step(lambda: _wait_for_file(event["release"]), name="held")


def plain_function(event: Any, ctx: Any) -> None:
    return None
