from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from durable_async import InvocationStatus, OperationType
from durable_async.testing import LocalRunner

pytestmark = pytest.mark.anyio


async def test_gather_helpers(example: Callable[[str], ModuleType], always_replay: bool) -> None:
    runner = LocalRunner(example("gather_helpers").handler, always_replay=always_replay)
    result = await runner.run({"branches": 6})
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == sum(10 * i for i in range(6))
    assert len(result.operations_of(OperationType.WAIT)) == 6


async def test_nested_gathers(example: Callable[[str], ModuleType], always_replay: bool) -> None:
    runner = LocalRunner(example("nested_gathers").handler, always_replay=always_replay)
    result = await runner.run({"regions": ["eu", "us"]})
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == ["eu=603", "us=603"]
    assert len(result.operations_of(OperationType.STEP)) == 8
