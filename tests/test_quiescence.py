from __future__ import annotations

import asyncio

import pytest

from durable_async._quiescence import is_blocked, waiter_of

pytestmark = pytest.mark.anyio


async def test_interpreter_exposes_the_future_a_task_waits_on() -> None:
    # The suspension rule depends on this private CPython attribute: fail loudly if it is gone.
    fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(asyncio.wait_for(fut, None))
    await asyncio.sleep(0)
    assert hasattr(task, "_fut_waiter")
    assert waiter_of(task) is not None
    assert is_blocked(task)
    fut.set_result(None)
    # Done future, wake-up still queued: runnable, not blocked.
    assert not is_blocked(task)
    await task
    assert not is_blocked(task)


async def test_a_task_that_was_just_created_is_runnable() -> None:
    task = asyncio.create_task(asyncio.sleep(0))
    assert waiter_of(task) is None
    assert not is_blocked(task)
    await task
