"""Operation ids follow the program's task structure, never the order operations complete in.

Every shape runs live and with `always_replay` (replayed from every checkpoint): both must
succeed with the same result and the same operations. On replay, recorded operations complete at
once, so the tasks interleave differently from the live run; a per-context call counter fails
these shapes.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from pathlib import Path
from typing import Any

import anyio
import pytest

from durable_async import (
    DurableContext,
    InvocationStatus,
    NonDeterministicExecutionError,
    durable_execution,
)
from durable_async._cli import main as cli_main
from durable_async.testing import LocalRunner, RunResult

pytestmark = pytest.mark.anyio


def identity(value: Any) -> Any:
    return value


async def slow(value: Any, hops: int) -> Any:
    """A step body that takes `hops` loop turns: bodies of different lengths finish out of
    order live, and not at all on replay."""
    for _ in range(hops):
        await asyncio.sleep(0)
    return value


def signature(run: RunResult) -> list[tuple[str, str | None, str | None]]:
    return sorted((op.id, op.name, op.parent_id) for op in run.operations)


async def replays_alike(handler: Any, event: Any = None, expected: Any = None) -> RunResult:
    live = await LocalRunner(handler).run(event)
    assert live.status is InvocationStatus.SUCCEEDED, live.error
    replayed = await LocalRunner(handler, always_replay=True, max_invocations=2000).run(event)
    assert replayed.status is InvocationStatus.SUCCEEDED, replayed.error
    assert live.result == replayed.result == expected
    assert signature(live) == signature(replayed)
    assert replayed.invocations > 2  # it really replayed, more than once
    return live


async def branch(ctx: DurableContext, i: int) -> int:
    await ctx.wait(1 + i, name=f"w{i}")
    return await ctx.step(identity, i, name=f"s{i}")


async def test_gather_of_helpers_holding_a_wait_then_a_step() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> int:
        return sum(await asyncio.gather(*(branch(ctx, i) for i in range(6))))

    live = await replays_alike(handler, expected=15)
    assert live.invocations > 1  # the waits suspended it: the first replay is the risky one


async def test_task_group_branches_of_step_wait_step() -> None:
    async def work(ctx: DurableContext, i: int) -> int:
        a = await ctx.step(slow, i, 4 - i, name=f"a{i}")
        await ctx.wait(5 - i, name=f"w{i}")
        return a + await ctx.step(slow, i, i, name=f"b{i}")

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> int:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(work(ctx, i)) for i in range(4)]
        return sum(t.result() for t in tasks)

    await replays_alike(handler, expected=12)


async def test_gathered_branches_of_two_steps_whose_bodies_take_different_times() -> None:
    async def two(ctx: DurableContext, i: int) -> int:
        first = await ctx.step(slow, i, 5 - i, name=f"first-{i}")
        return first + await ctx.step(slow, i, i, name=f"second-{i}")

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> int:
        return sum(await asyncio.gather(*(two(ctx, i) for i in range(5))))

    await replays_alike(handler, expected=20)


async def test_nested_gathers_of_helpers() -> None:
    async def leaf(ctx: DurableContext, path: str, hops: int) -> str:
        await ctx.step(slow, path, hops, name=f"in-{path}")
        await ctx.wait(1 + hops, name=f"w-{path}")
        return str(await ctx.step(identity, path, name=f"out-{path}"))

    async def inner(ctx: DurableContext, i: int) -> list[str]:
        parts = await asyncio.gather(*(leaf(ctx, f"{i}.{j}", 3 - j + i) for j in range(3)))
        parts.append(await ctx.step(identity, f"{i}!", name=f"tail-{i}"))
        return list(parts)

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[list[str]]:
        return list(await asyncio.gather(*(inner(ctx, i) for i in range(3))))

    expected = [[f"{i}.{j}" for j in range(3)] + [f"{i}!"] for i in range(3)]
    await replays_alike(handler, expected=expected)


async def test_create_task_wait_shield_and_timeouts() -> None:
    async def helper(ctx: DurableContext, tag: str, hops: int) -> str:
        await ctx.step(slow, tag, hops, name=f"{tag}-1")
        await ctx.wait(hops + 1, name=f"{tag}-w")
        return str(await ctx.step(identity, tag, name=f"{tag}-2"))

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[str]:
        first = asyncio.create_task(helper(ctx, "task", 3))
        shielded = asyncio.shield(helper(ctx, "shield", 1))
        done, _ = await asyncio.wait({first, asyncio.ensure_future(helper(ctx, "waited", 2))})
        async with asyncio.timeout(None):
            timed = await asyncio.wait_for(helper(ctx, "wait_for", 0), timeout=None)
        return sorted([*(t.result() for t in done), await shielded, timed])

    await replays_alike(handler, expected=["shield", "task", "wait_for", "waited"])


async def test_anyio_task_groups() -> None:
    async def helper(ctx: DurableContext, i: int, out: list[int]) -> None:
        await ctx.wait(3 - i, name=f"w{i}")
        out.append(await ctx.step(slow, i * i, i, name=f"sq{i}"))

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[int]:
        out: list[int] = []
        async with anyio.create_task_group() as group:
            for i in range(3):
                group.start_soon(helper, ctx, i, out)
        return sorted(out)

    await replays_alike(handler, expected=[0, 1, 4])


async def test_gathers_inside_child_contexts_and_map_items() -> None:
    async def item(child: DurableContext, value: int, index: int) -> int:
        parts = await asyncio.gather(*(branch(child, value + k) for k in range(2)))
        return sum(parts)

    async def body(child: DurableContext) -> int:
        parts = await asyncio.gather(branch(child, 2), branch(child, 0))
        return sum(parts)

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[int]:
        batch, own = await asyncio.gather(
            ctx.map([0, 3], item), ctx.run_in_child_context(body, name="ctx")
        )
        return [*batch.results(), own]

    await replays_alike(handler, expected=[1, 7, 2])


async def test_root_task_ids_keep_the_official_scheme() -> None:
    """The handler's own task numbers its operations `1, 2, ...` as the official SDK does;
    only operations called by other tasks use task-qualified ids."""
    from durable_async._ids import lane_operation_id, operation_id

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> int:
        await ctx.step(identity, 1, name="one")
        await asyncio.gather(branch(ctx, 0))
        return await ctx.step(identity, 2, name="two")

    run = await replays_alike(handler, expected=2)
    ids = {op.name: op.id for op in run.operations}
    assert ids["one"] == operation_id(None, 1)
    assert ids["two"] == operation_id(None, 2)
    assert ids["w0"] == lane_operation_id(None, "1", 1)
    assert ids["s0"] == lane_operation_id(None, "1", 2)


async def test_tasks_created_in_step_bodies_take_no_index() -> None:
    """A step body runs only live: tasks it creates must not shift the ids of user tasks."""

    async def fan_out() -> int:
        values = await asyncio.gather(*(slow(i, 1) for i in range(3)))
        return sum(values)

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[int]:
        total = await ctx.step(fan_out, name="fan-out")
        parts = await asyncio.gather(branch(ctx, 1), branch(ctx, 2))
        return [total, *parts]

    await replays_alike(handler, expected=[3, 1, 2])


async def test_a_replaying_task_is_silent_while_a_live_one_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def quick(ctx: DurableContext) -> None:
        await ctx.step(identity, 1, name="quick")
        ctx.logger.warning("quick done")

    async def slow_branch(ctx: DurableContext) -> None:
        await ctx.wait(10, name="long")
        ctx.logger.warning("long done")

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> None:
        await asyncio.gather(quick(ctx), slow_branch(ctx))

    with caplog.at_level("WARNING", logger="durable_async"):
        run = await LocalRunner(handler).run()
    assert run.status is InvocationStatus.SUCCEEDED
    assert run.invocations == 2
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    # The second invocation replays "quick" (silent) while "long" runs anew (it logs).
    assert messages == ["quick done", "long done"]


async def test_acting_on_whichever_finished_first_fails_loudly_naming_the_task() -> None:
    invocation = {"n": 0}

    async def pick(ctx: DurableContext) -> str:
        slow_one = asyncio.ensure_future(ctx.wait(5, name="slow"))
        fast_one = asyncio.ensure_future(ctx.step(identity, "fast", name="fast"))
        done, _ = await asyncio.wait({slow_one, fast_one}, return_when=asyncio.FIRST_COMPLETED)
        if slow_one in done:
            return str(await ctx.step(identity, "after-slow", name="after-slow"))
        return str(await ctx.step(identity, "after-fast", name="after-fast"))

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> Any:
        invocation["n"] += 1
        (value,) = await asyncio.gather(pick(ctx))
        await ctx.wait(100, name="end")
        return value

    run = await LocalRunner(handler).run()
    assert run.status is InvocationStatus.FAILED
    assert run.error is not None
    assert run.error.error_type == NonDeterministicExecutionError.__name__
    message = run.error.error_message or ""
    assert "operation #3 of task 1" in message
    assert "ctx.any or ctx.race" in message


async def test_a_task_made_without_the_loop_factory_is_refused_not_misnumbered() -> None:
    async def helper(ctx: DurableContext) -> int:
        return await ctx.step(identity, 1, name="inside")

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> int:
        await ctx.step(identity, 0, name="first")
        return await asyncio.Task(helper(ctx))  # bypasses the loop's task factory

    run = await LocalRunner(handler).run()
    assert run.status is InvocationStatus.FAILED
    assert run.error is not None
    assert "asyncio.Task() called directly" in (run.error.error_message or "")


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler


@pytest.mark.parametrize(
    ("example", "event", "expected"),
    [
        ("gather_helpers", {"branches": 6}, 150),
        ("nested_gathers", {"regions": ["eu", "us"]}, ["eu=603", "us=603"]),
    ],
)
async def test_the_documented_examples_replay_alike(
    example: str, event: Any, expected: Any
) -> None:
    await replays_alike(load_example(example), event, expected)


@pytest.mark.parametrize(
    ("example", "event"),
    [("gather_helpers", '{"branches": 6}'), ("nested_gathers", '{"regions": ["eu", "us"]}')],
)
def test_the_documented_examples_succeed_through_the_cli(
    example: str, event: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["run", f"{EXAMPLES / example}.py:handler", "--input", event]) == 0
    assert "status: SUCCEEDED" in capsys.readouterr().out
