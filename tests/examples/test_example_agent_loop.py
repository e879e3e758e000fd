from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from durable_async import InvocationStatus, OperationType
from durable_async.testing import LocalRunner

pytestmark = pytest.mark.anyio


async def test_the_agent_reaches_its_goal(
    example: Callable[[str], ModuleType], always_replay: bool
) -> None:
    runner = LocalRunner(example("agent_loop").handler, always_replay=always_replay)
    result = await runner.run({"start": 3, "goal": 40, "max_turns": 10})
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == {
        "value": 40,
        "reached": True,
        "turns": 7,
        "trace": [
            "double -> 6",
            "double -> 12",
            "double -> 24",
            "add -> 29",
            "add -> 34",
            "add -> 39",
            "add -> 40",
        ],
    }
    # the tool asked for a pause after turns 2 and 5
    waits = result.operations_of(OperationType.WAIT)
    assert [op.name for op in waits] == ["back-off-2", "back-off-5"]


async def test_the_loop_is_bounded(
    example: Callable[[str], ModuleType], always_replay: bool
) -> None:
    runner = LocalRunner(example("agent_loop").handler, always_replay=always_replay)
    result = await runner.run({"start": 3, "goal": 40, "max_turns": 5})
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result["reached"] is False
    assert result.result["turns"] == 5
    assert result.result["value"] == 34
