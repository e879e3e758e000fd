"""The lineage task factory: which tasks take an index, chaining, and putting things back."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from typing import Any

import pytest

from durable_async import DurableContext, InvocationStatus, durable_execution
from durable_async._lineage import Lineage, current_lineage, fresh_root, spawn, task_lineage
from durable_async._task_context import StepScope, current_step
from durable_async.testing import LocalRunner

pytestmark = pytest.mark.anyio


async def lineage_of_new_task(**kwargs: Any) -> tuple[int, ...] | None:
    async def probe() -> tuple[int, ...] | None:
        node = current_lineage.get()
        return node.path if node is not None else None

    return await asyncio.get_running_loop().create_task(probe(), **kwargs)


async def test_tasks_created_by_a_durable_task_take_indices_in_creation_order() -> None:
    with task_lineage(asyncio.get_running_loop()):
        root = Lineage(None)
        token = current_lineage.set(root)
        try:
            assert await lineage_of_new_task() == (1,)
            assert await lineage_of_new_task() == (2,)
            assert await lineage_of_new_task(context=contextvars.copy_context()) == (3,)
            assert root.created == 3
        finally:
            current_lineage.reset(token)


async def test_nested_tasks_extend_their_parents_path() -> None:
    async def outer() -> tuple[int, ...] | None:
        await lineage_of_new_task()
        return await lineage_of_new_task()

    with task_lineage(asyncio.get_running_loop()), fresh_root(None):
        await lineage_of_new_task()
        assert await asyncio.create_task(outer()) == (2, 2)


async def test_runtime_tasks_and_step_bodies_take_no_index() -> None:
    with task_lineage(asyncio.get_running_loop()), fresh_root(None) as root:
        assert await spawn(lineage_of_new_task()) is None
        token = current_step.set(StepScope(None, "op", "body", 1))  # type: ignore[arg-type]
        try:
            assert await lineage_of_new_task() is None
        finally:
            current_step.reset(token)
        assert root.created == 0
        assert await spawn(lineage_of_new_task(), Lineage("x", (7,))) == (7, 1)


async def test_tasks_outside_durable_code_are_left_alone() -> None:
    with task_lineage(asyncio.get_running_loop()):
        assert await lineage_of_new_task() is None


async def test_the_factory_chains_the_previous_one_and_is_put_back() -> None:
    loop = asyncio.get_running_loop()
    made: list[Coroutine[Any, Any, Any]] = []

    def legacy_factory(loop: asyncio.AbstractEventLoop, coro: Any) -> asyncio.Task[Any]:
        made.append(coro)  # a factory of the old form: no context argument
        return asyncio.Task(coro, loop=loop)

    loop.set_task_factory(legacy_factory)
    try:
        with task_lineage(loop):
            with task_lineage(loop):  # a second invocation on the same loop
                assert loop.get_task_factory() is not legacy_factory
                with fresh_root(None):
                    assert await lineage_of_new_task() == (1,)
            assert loop.get_task_factory() is not legacy_factory  # one invocation still runs
        assert loop.get_task_factory() is legacy_factory
        assert len(made) == 1
    finally:
        loop.set_task_factory(None)


async def test_a_factory_installed_over_ours_keeps_working_and_ours_goes_inert() -> None:
    loop = asyncio.get_running_loop()
    try:
        with task_lineage(loop):
            ours = loop.get_task_factory()
            assert ours is not None

            def wrapper(loop: asyncio.AbstractEventLoop, coro: Any, **kw: Any) -> Any:
                return ours(loop, coro, **kw)

            loop.set_task_factory(wrapper)
        assert loop.get_task_factory() is wrapper
        with fresh_root(None) as root:
            assert await lineage_of_new_task() == ()  # inert: the task shares its parent's
            assert root.created == 0
    finally:
        loop.set_task_factory(None)


async def test_the_factory_is_removed_after_an_invocation() -> None:
    loop = asyncio.get_running_loop()

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> int:
        assert loop.get_task_factory() is not None
        return await ctx.step(lambda: 1, name="one")

    result = await LocalRunner(handler).run()
    assert result.status is InvocationStatus.SUCCEEDED
    assert loop.get_task_factory() is None


async def test_concurrent_executions_on_one_loop_keep_their_own_numbering() -> None:
    async def branch(ctx: DurableContext, i: int) -> int:
        await ctx.wait(2 - i % 2, name=f"w{i}")
        return await ctx.step(lambda: i, name=f"s{i}")

    @durable_execution
    async def handler(event: int, ctx: DurableContext) -> int:
        return sum(await asyncio.gather(*(branch(ctx, event + i) for i in range(2))))

    runs = await asyncio.gather(
        *(LocalRunner(handler, always_replay=True).run(n) for n in range(3))
    )
    assert [r.result for r in runs] == [1, 3, 5]
    assert asyncio.get_running_loop().get_task_factory() is None
