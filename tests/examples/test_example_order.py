from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from durable_async import InvocationStatus, OperationType
from durable_async.testing import LocalRunner

pytestmark = pytest.mark.anyio


async def test_order(example: Callable[[str], ModuleType], always_replay: bool) -> None:
    runner = LocalRunner(example("order").handler, always_replay=always_replay)
    result = await runner.run({"sku": "a-1"})
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == {"price": 103, "reservation": "reservation-a-1"}
    assert len(result.operations_of(OperationType.WAIT)) == 2
