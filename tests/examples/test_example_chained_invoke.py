from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from durable_async import InvocationStatus, OperationType
from durable_async.testing import LocalRunner

pytestmark = pytest.mark.anyio


async def test_the_quote_comes_from_the_pricing_function(
    example: Callable[[str], ModuleType], always_replay: bool
) -> None:
    module = example("chained_invoke")
    runner = LocalRunner(module.handler, always_replay=always_replay)
    runner.register("pricing", module.pricing)
    result = await runner.run({"sku": "a-1", "quantity": 3, "customer": "member-9"})
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == {
        "total": 324,
        "price_from": "pricing",
        "receipt": "charge-member-9-324",
    }
    assert len(result.operations_of(OperationType.CHAINED_INVOKE)) == 1


async def test_without_the_pricing_function_the_list_price_applies(
    example: Callable[[str], ModuleType], always_replay: bool
) -> None:
    runner = LocalRunner(example("chained_invoke").handler, always_replay=always_replay)
    result = await runner.run({"sku": "a-1", "quantity": 2})
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == {
        "total": 240,
        "price_from": "list price",
        "receipt": "charge-guest-240",
    }
