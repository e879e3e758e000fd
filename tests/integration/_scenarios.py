"""Workflows that exercise every operation type, runnable on both backends.

Each `Scenario` names a durable handler, its input, the terminal status and result it must
reach, and (for callbacks) how the outside world answers. The same scenario runs on AWS's
local runner through the real wire and on our embedded `MemoryBackend` through
`LocalRunner`; `Driver` hides which one is answering.

Timers are whole seconds on the runner's real clock, so keep them at 1 s.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from durable_async import (
    AllOperationsFailedError,
    CallbackError,
    CallbackTimeoutError,
    CompletionConfig,
    DurableContext,
    DurableHandler,
    InvokeError,
    RetryPolicy,
    StepError,
    StepSemantics,
    WaitStrategy,
    durable_execution,
)


class Driver(Protocol):
    """The outside world of one running execution, on either backend."""

    async def callback_id(self, name: str) -> str:
        """The id of callback `name`, once it started and the invocation suspended on it."""
        ...

    async def succeed(self, callback_id: str, value: Any) -> None:
        """`SendDurableExecutionCallbackSuccess` with `value` as JSON."""
        ...

    async def fail(self, callback_id: str, error_type: str, message: str) -> None:
        """`SendDurableExecutionCallbackFailure`."""
        ...


Drive = Callable[[Driver], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    """One workflow and what it must end with.

    Attributes:
        name: the scenario's id (and the durable function's name on the wire).
        handler: the durable handler.
        input: the execution input.
        status: the terminal status, `SUCCEEDED` or `FAILED`.
        result: the decoded result of a succeeded execution.
        error_type: the `ErrorType` of a failed execution.
        drive: answers the execution's callbacks, if it has any.
        callback_grace: for the local runner, seconds of silence after which a callback's
            timeout is skipped to (the runner's real clock just lets it time out).
    """

    name: str
    handler: DurableHandler[Any, Any]
    input: Any = None
    status: str = "SUCCEEDED"
    result: Any = None
    error_type: str | None = None
    drive: Drive | None = None
    callback_grace: float | None = None


# -- step bodies ------------------------------------------------------------------------------

_lock = threading.Lock()
_calls: dict[str, int] = {}


def _count(key: str) -> int:
    """How many times `key` was counted before, counting this call (thread-safe)."""
    with _lock:
        _calls[key] = _calls.get(key, 0) + 1
        return _calls[key]


def flaky(key: str) -> str:
    """Fails on its first call for `key`, succeeds afterwards."""
    if _count(f"flaky:{key}") == 1:
        raise ConnectionError("first attempt fails")
    return "recovered"


def always_fails(reason: str) -> None:
    raise ValueError(reason)


async def fails_now(reason: str) -> None:
    """Fails on the event loop (no worker thread), so its timing is deterministic."""
    raise ValueError(reason)


async def double(n: int) -> int:
    return n * 2


async def greet(who: str) -> str:
    return f"Hello, {who}!"


# Chained-invoke targets take longer than a suspension, so the caller's invocation always
# completes before the target's result is recorded, on either backend (as on AWS, where a
# target is another Lambda invocation).
TARGET_LATENCY = 0.5


async def slow_double(n: int) -> int:
    await asyncio.sleep(TARGET_LATENCY)
    return n * 2


async def plain_target(payload: Any) -> Any:
    """A plain (non-durable) Lambda function: echoes its payload with a mark."""
    await asyncio.sleep(TARGET_LATENCY)
    return {"echo": payload, "by": "plain-target"}


async def failing_target(payload: Any) -> Any:
    await asyncio.sleep(TARGET_LATENCY)
    raise RuntimeError(f"cannot handle {payload!r}")


# -- handlers ---------------------------------------------------------------------------------


@durable_execution
async def durable_target(event: Any, ctx: DurableContext) -> Any:
    """A durable chained-invoke target: a step, then its result."""
    doubled = await ctx.step(slow_double, event["n"], name="double", retry=RetryPolicy.none())
    return {"doubled": doubled}


@durable_execution
async def step_retry(event: Any, ctx: DurableContext) -> Any:
    first = await ctx.step(flaky, ctx.execution_arn, name="flaky", retry=RetryPolicy.fixed(3, 1))
    second = await ctx.step(
        greet, event["who"], name="greet", semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY
    )
    return {"first": first, "second": second}


@durable_execution
async def step_fails(event: Any, ctx: DurableContext) -> Any:
    await ctx.step(always_fails, "no luck", name="doomed", retry=RetryPolicy.fixed(2, 1))
    return "unreachable"


@durable_execution
async def step_error_caught(event: Any, ctx: DurableContext) -> Any:
    try:
        await ctx.step(always_fails, "bad input", name="validate", retry=RetryPolicy.none())
    except StepError as exc:
        return {"caught": exc.error_type, "message": exc.error_message}
    return "unreachable"


@durable_execution
async def waits(event: Any, ctx: DurableContext) -> Any:
    await ctx.wait(1, name="first")
    await ctx.wait(1)
    return "waited"


def _submit(callback_id: str) -> None:
    """A submitter: a real one would hand the id to another system."""
    assert callback_id


@durable_execution
async def callback_success(event: Any, ctx: DurableContext) -> Any:
    callback = await ctx.create_callback(name="approval", timeout=60)
    await ctx.step(_submit, callback.callback_id, name="notify")
    return {"decision": await callback}


async def _approve(driver: Driver) -> None:
    await driver.succeed(await driver.callback_id("approval"), {"approved": True})


@durable_execution
async def callback_failure(event: Any, ctx: DurableContext) -> Any:
    callback = await ctx.create_callback(name="approval", timeout=60)
    try:
        await callback
    except CallbackError as exc:
        return {"error_type": exc.error_type, "message": exc.error_message}
    return "unreachable"


async def _reject(driver: Driver) -> None:
    await driver.fail(await driver.callback_id("approval"), "Rejected", "not today")


@durable_execution
async def callback_timeout(event: Any, ctx: DurableContext) -> Any:
    callback = await ctx.create_callback(name="approval", timeout=1)
    try:
        await callback
    except CallbackTimeoutError as exc:
        return {"timed_out": exc.error_type}
    return "unreachable"


@durable_execution
async def callback_uncaught(event: Any, ctx: DurableContext) -> Any:
    callback = await ctx.create_callback(name="approval", timeout=60)
    return await callback


@durable_execution
async def wait_for_callback(event: Any, ctx: DurableContext) -> Any:
    answer = await ctx.wait_for_callback(_submit, name="human", timeout=60)
    return {"answer": answer}


async def _answer_human(driver: Driver) -> None:
    await driver.succeed(await driver.callback_id("human"), "forty-two")


@durable_execution
async def invoke_durable(event: Any, ctx: DurableContext) -> Any:
    return await ctx.invoke("durable-target", {"n": event["n"]}, name="double-it")


@durable_execution
async def invoke_plain(event: Any, ctx: DurableContext) -> Any:
    return await ctx.invoke("plain-target", event, name="echo")


@durable_execution
async def invoke_plain_fails(event: Any, ctx: DurableContext) -> Any:
    try:
        await ctx.invoke("failing-target", event, name="explode")
    except InvokeError as exc:
        return {"status": exc.status, "error_type": exc.error_type}
    return "unreachable"


async def _shipping(child: DurableContext, order: str) -> str:
    label = await child.step(greet, order, name="label")
    await child.wait(1, name="cool-off")
    return label


@durable_execution
async def child_context(event: Any, ctx: DurableContext) -> Any:
    label = await ctx.run_in_child_context(_shipping, event["order"], name="ship")
    after = await ctx.step(greet, "after", name="after")
    return {"label": label, "after": after}


async def _square(item_ctx: DurableContext, item: int, index: int) -> int:
    return await item_ctx.step(double, item, name=f"item-{index}") * item // 2


@durable_execution
async def map_items(event: Any, ctx: DurableContext) -> Any:
    batch = await ctx.map(event["items"], _square, name="squares", max_concurrency=1)
    return {"results": batch.results(), "reason": str(batch.completion_reason)}


async def _branch_a(branch: DurableContext) -> str:
    return await branch.step(greet, "a", name="a")


async def _branch_b(branch: DurableContext) -> str:
    await branch.wait(1, name="b-wait")
    return await branch.step(greet, "b", name="b")


async def _branch_fails(branch: DurableContext) -> str:
    await branch.step(always_fails, "branch", name="c", retry=RetryPolicy.none())
    return "unreachable"


@durable_execution
async def parallel_branches(event: Any, ctx: DurableContext) -> Any:
    batch = await ctx.parallel(
        [_branch_a, _branch_b, _branch_fails],
        name="fan-out",
        max_concurrency=1,
        completion=CompletionConfig.all_completed(),
    )
    return {
        "results": batch.results(),
        "succeeded": batch.success_count,
        "failed": batch.failure_count,
    }


def _poll(state: dict[str, int]) -> dict[str, int]:
    return {"count": state["count"] + 1}


@durable_execution
async def wait_for_condition(event: Any, ctx: DurableContext) -> Any:
    final = await ctx.wait_for_condition(
        _poll,
        initial_state={"count": 0},
        wait_strategy=WaitStrategy[dict[str, int]](
            until=lambda s: s["count"] >= 3, initial_delay=1, backoff_rate=1.0
        ),
        name="poll",
    )
    return final


@durable_execution
async def race(event: Any, ctx: DurableContext) -> Any:
    winner = await ctx.race(
        ctx.step(greet, "fast", name="fast"), ctx.wait(60, name="slow"), name="first"
    )
    return {"winner": winner}


@durable_execution
async def any_success(event: Any, ctx: DurableContext) -> Any:
    first = await ctx.any(
        ctx.step(fails_now, "one", name="bad", retry=RetryPolicy.none()),
        ctx.step(greet, "two", name="good"),
        name="first-success",
    )
    try:
        await ctx.any(
            ctx.step(fails_now, "x", name="bad-x", retry=RetryPolicy.none()),
            ctx.step(fails_now, "y", name="bad-y", retry=RetryPolicy.none()),
            name="none-succeed",
        )
    except AllOperationsFailedError as exc:
        return {"first": first, "then": type(exc).__name__}
    return "unreachable"


@durable_execution
async def invoke_durable_fails(event: Any, ctx: DurableContext) -> Any:
    try:
        await ctx.invoke("durable-target", {"n": None}, name="double-it")
    except InvokeError as exc:
        return {"status": exc.status, "error_type": exc.error_type}
    return "unreachable"


async def _concurrent_item(item_ctx: DurableContext, item: int, index: int) -> int:
    value = await item_ctx.step(double, item, name="double")
    if index == 1:
        await item_ctx.wait(1, name="nap")
    return value


@durable_execution
async def concurrent(event: Any, ctx: DurableContext) -> Any:
    batch = await ctx.map([1, 2, 3], _concurrent_item, name="all-at-once")
    greeting, _ = await asyncio.gather(ctx.step(greet, "gather", name="g"), ctx.wait(1, name="w"))
    return {"results": batch.results(), "greeting": greeting}


# -- the catalogue ----------------------------------------------------------------------------

TARGETS_DURABLE: dict[str, DurableHandler[Any, Any]] = {"durable-target": durable_target}
TARGETS_PLAIN: dict[str, Callable[[Any], Any]] = {
    "plain-target": plain_target,
    "failing-target": failing_target,
}

SCENARIOS: list[Scenario] = [
    Scenario(
        "step-retry",
        step_retry,
        {"who": "World"},
        result={"first": "recovered", "second": "Hello, World!"},
    ),
    Scenario("step-fails", step_fails, status="FAILED", error_type="StepError"),
    Scenario(
        "step-error-caught",
        step_error_caught,
        result={"caught": "ValueError", "message": "bad input"},
    ),
    Scenario("wait", waits, result="waited"),
    Scenario(
        "callback-success",
        callback_success,
        result={"decision": {"approved": True}},
        drive=_approve,
    ),
    Scenario(
        "callback-failure",
        callback_failure,
        result={"error_type": "Rejected", "message": "not today"},
        drive=_reject,
    ),
    Scenario(
        "callback-timeout",
        callback_timeout,
        result={"timed_out": "Callback.Timeout"},
        callback_grace=0.05,
    ),
    Scenario(
        "callback-uncaught",
        callback_uncaught,
        status="FAILED",
        error_type="CallbackError",
        drive=_reject,
    ),
    Scenario(
        "wait-for-callback",
        wait_for_callback,
        result={"answer": "forty-two"},
        drive=_answer_human,
    ),
    Scenario("invoke-durable", invoke_durable, {"n": 21}, result={"doubled": 42}),
    Scenario(
        "invoke-durable-fails",
        invoke_durable_fails,
        result={"status": "FAILED", "error_type": "StepError"},
    ),
    Scenario(
        "invoke-plain",
        invoke_plain,
        {"sku": "a-1"},
        result={"echo": {"sku": "a-1"}, "by": "plain-target"},
    ),
    Scenario(
        "invoke-plain-fails",
        invoke_plain_fails,
        {"sku": "a-1"},
        result={"status": "FAILED", "error_type": "RuntimeError"},
    ),
    Scenario(
        "child-context",
        child_context,
        {"order": "o-1"},
        result={"label": "Hello, o-1!", "after": "Hello, after!"},
    ),
    Scenario(
        "map",
        map_items,
        {"items": [1, 2, 3]},
        result={"results": [1, 4, 9], "reason": "ALL_COMPLETED"},
    ),
    Scenario(
        "parallel",
        parallel_branches,
        result={"results": ["Hello, a!", "Hello, b!"], "succeeded": 2, "failed": 1},
    ),
    Scenario(
        "concurrent",
        concurrent,
        result={"results": [2, 4, 6], "greeting": "Hello, gather!"},
    ),
    Scenario("wait-for-condition", wait_for_condition, result={"count": 3}),
    Scenario("race", race, result={"winner": "Hello, fast!"}),
    Scenario(
        "any",
        any_success,
        result={"first": "Hello, two!", "then": "AllOperationsFailedError"},
    ),
]

BY_NAME = {s.name: s for s in SCENARIOS}
assert len(BY_NAME) == len(SCENARIOS)

# Every durable function the Invoke endpoint serves, by function name.
DURABLE_FUNCTIONS: dict[str, DurableHandler[Any, Any]] = {
    **{s.name: s.handler for s in SCENARIOS},
    **TARGETS_DURABLE,
}
