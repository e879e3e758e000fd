"""Conformance handlers for the chained-invoke suite (requirements 5-1 to 5-16).

Each handler calls another Lambda function durably with `ctx.invoke`. The target functions are
named by these stable names (deploy them, or map the names to real functions, under exactly
these names):

| name                       | behaviour                                         |
|----------------------------|---------------------------------------------------|
| `conformance-echo`         | returns its payload unchanged                     |
| `conformance-fail`         | always raises (the invoke fails with InvokeError) |
| `conformance-payload-size` | returns the size of the `data` string it received |
| `conformance-greet`        | builds a greeting in a step and returns it        |

All four are `@durable_execution` handlers whose event is the payload itself: every
requirement expects the `ChainedInvokeStarted` event to name the target's durable execution
(`DurableExecutionArn`), which only a durable target has.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from durable_async import (
    DurableContext,
    DurableHandler,
    InvokeError,
    JsonSerdes,
    durable_execution,
)

__all__ = [
    "ECHO",
    "FAIL",
    "GREET",
    "HANDLERS",
    "PAYLOAD_SIZE",
    "TARGETS",
]

logger = logging.getLogger(__name__)

ECHO = "conformance-echo"
FAIL = "conformance-fail"
PAYLOAD_SIZE = "conformance-payload-size"
GREET = "conformance-greet"

LARGE_PAYLOAD_CHARS = 250 * 1024
"""Just under the 256 KiB a checkpointed payload may hold, once JSON-encoded."""


# -- target functions ----------------------------------------------------------------------------


@durable_execution
async def echo(payload: Any, ctx: DurableContext) -> Any:
    """Target `conformance-echo`: return the payload as received."""
    return payload


@durable_execution
async def fail(payload: Any, ctx: DurableContext) -> Any:
    """Target `conformance-fail`: always fail."""
    raise RuntimeError(f"conformance-fail refuses payload {payload!r}")


@durable_execution
async def payload_size(payload: dict[str, str], ctx: DurableContext) -> dict[str, int]:
    """Target `conformance-payload-size`: report how much data arrived."""
    return {"receivedChars": len(payload["data"])}


def make_greeting(name: Any) -> str:
    """Step body of `conformance-greet`."""
    return f"hello, {name}"


@durable_execution
async def greet(event: Any, ctx: DurableContext) -> str:
    """Target `conformance-greet`: a durable function; its event is the invoke payload."""
    return await ctx.step(make_greeting, event)


# -- 5-1 .. 5-4: results ---------------------------------------------------------------------------


@durable_execution
async def invoke_basic(event: dict[str, Any], ctx: DurableContext) -> Any:
    """5-1: invoke the echo target with the input and return what it returns."""
    return await ctx.invoke(ECHO, event)


@durable_execution
async def invoke_named(event: dict[str, Any], ctx: DurableContext) -> Any:
    """5-2: name the invoke operation after `Input.name`; send `Input.payload`."""
    request = event
    return await ctx.invoke(ECHO, request["payload"], name=request["name"])


@durable_execution
async def invoke_complex_object(event: dict[str, Any], ctx: DurableContext) -> Any:
    """5-3: a nested JSON object travels to the target and back unchanged."""
    return await ctx.invoke(ECHO, event)


@durable_execution
async def invoke_null(event: dict[str, Any], ctx: DurableContext) -> Any:
    """5-4: invoke with no payload; the echo target returns null."""
    result = await ctx.invoke(ECHO, None)
    logger.info("echo returned %r", result)
    return result


# -- 5-5, 5-6: failing targets ---------------------------------------------------------------------


@durable_execution
async def invoke_target_fails(event: dict[str, Any], ctx: DurableContext) -> Any:
    """5-5: the target fails; the uncaught `InvokeError` fails the execution."""
    return await ctx.invoke(FAIL, {"order": "A-1"})


@durable_execution
async def invoke_target_fails_caught(event: dict[str, Any], ctx: DurableContext) -> Any:
    """5-6: the target fails; the handler catches `InvokeError` and returns a fallback."""
    try:
        return await ctx.invoke(FAIL, {"order": "A-1"})
    except InvokeError as exc:
        logger.info("invoke failed (%s): %s", exc.error_type, exc.error_message)
        return {"fallback": True}


# -- 5-7, 5-8: payload size, tenant ----------------------------------------------------------------


@durable_execution
async def invoke_large_payload(event: dict[str, Any], ctx: DurableContext) -> Any:
    """5-7: send a payload close to the size limit; the target reports what it received."""
    return await ctx.invoke(PAYLOAD_SIZE, {"data": "x" * LARGE_PAYLOAD_CHARS})


@durable_execution
async def invoke_with_tenant(event: dict[str, Any], ctx: DurableContext) -> Any:
    """5-8: invoke on behalf of `Input.tenantId` (tenant-isolated invocation)."""
    request = event
    return await ctx.invoke(ECHO, request["payload"], tenant_id=request["tenantId"])


# -- 5-9, 5-10: replay returns the recorded outcome ------------------------------------------------


@durable_execution
async def invoke_then_wait(event: dict[str, Any], ctx: DurableContext) -> Any:
    """5-9: invoke, then wait a second; replay returns the recorded result, no second call."""
    result = await ctx.invoke(ECHO, {"order": "A-1"})
    await ctx.wait(1)
    return result


@durable_execution
async def invoke_failure_then_wait(event: dict[str, Any], ctx: DurableContext) -> Any:
    """5-10: catch the failed invoke, then wait; replay re-raises the recorded error."""
    try:
        outcome: Any = await ctx.invoke(FAIL, {"order": "A-1"})
    except InvokeError as exc:
        outcome = {"fallback": True, "error": exc.error_type}
    await ctx.wait(1)
    return outcome


# -- 5-11 .. 5-14: invokes among other operations --------------------------------------------------


def build_order(order_id: str) -> dict[str, Any]:
    """Step body: assemble an order."""
    return {"order": order_id, "items": 3}


def summarise(result: Any) -> str:
    """Step body: turn an invoke result into a summary line."""
    return f"target answered {result!r}"


@durable_execution
async def step_then_invoke(event: dict[str, Any], ctx: DurableContext) -> Any:
    """5-11: a step builds the payload, then the invoke sends it."""
    order = await ctx.step(build_order, "A-1")
    return await ctx.invoke(ECHO, order)


@durable_execution
async def invoke_then_step(event: dict[str, Any], ctx: DurableContext) -> str:
    """5-12: the invoke's result feeds a step."""
    result = await ctx.invoke(ECHO, {"order": "A-1"})
    return await ctx.step(summarise, result)


async def echo_in_child(child: DurableContext) -> Any:
    """Child-context body for 5-13."""
    return await child.invoke(ECHO, {"order": "A-1"})


@durable_execution
async def invoke_in_child_context(event: dict[str, Any], ctx: DurableContext) -> Any:
    """5-13: the invoke runs inside a child context, which returns its result."""
    return await ctx.run_in_child_context(echo_in_child)


@durable_execution
async def sequential_invokes(event: dict[str, Any], ctx: DurableContext) -> list[Any]:
    """5-14: invoke a plain target, then a durable one; each suspends until it is done."""
    echoed = await ctx.invoke(ECHO, "first")
    greeting = await ctx.invoke(GREET, "second")
    return [echoed, greeting]


# -- 5-15, 5-16: custom serialisation --------------------------------------------------------------


class ShoutingPayload(JsonSerdes):
    """Payload serdes of 5-15: JSON, with every `data` string upper-cased on the way out."""

    def serialize(self, value: Any) -> str | None:
        """`{"data": "hello"}` is sent as `{"data":"HELLO"}`."""
        return super().serialize({**value, "data": value["data"].upper()})


@durable_execution
async def invoke_custom_payload_serdes(event: dict[str, Any], ctx: DurableContext) -> Any:
    """5-15: the payload goes through `ShoutingPayload`; the target gets `{"data": "HELLO"}`."""
    return await ctx.invoke(ECHO, event, payload_serdes=ShoutingPayload())


class UppercaseResults(JsonSerdes):
    """Result serdes of 5-16: the raw result payload, upper-cased (`"hello"` becomes the string
    `"HELLO"`, quotes included)."""

    def deserialize(self, payload: str | None, result_type: Any = None) -> Any:
        """Upper-case the payload text."""
        return payload.upper() if payload is not None else None


@durable_execution
async def invoke_custom_result_serdes(event: dict[str, Any], ctx: DurableContext) -> Any:
    """5-16: the invoke's result is read by `UppercaseResults`, and returned as is."""
    return await ctx.invoke(ECHO, event, result_serdes=UppercaseResults())


HANDLERS: dict[str, DurableHandler[Any, Any]] = {
    "5-1": invoke_basic,
    "5-2": invoke_named,
    "5-3": invoke_complex_object,
    "5-4": invoke_null,
    "5-5": invoke_target_fails,
    "5-6": invoke_target_fails_caught,
    "5-7": invoke_large_payload,
    "5-8": invoke_with_tenant,
    "5-9": invoke_then_wait,
    "5-10": invoke_failure_then_wait,
    "5-11": step_then_invoke,
    "5-12": invoke_then_step,
    "5-13": invoke_in_child_context,
    "5-14": sequential_invokes,
    "5-15": invoke_custom_payload_serdes,
    "5-16": invoke_custom_result_serdes,
}

TARGETS: dict[str, DurableHandler[Any, Any] | Callable[[Any], Any]] = {
    ECHO: echo,
    FAIL: fail,
    PAYLOAD_SIZE: payload_size,
    GREET: greet,
}
