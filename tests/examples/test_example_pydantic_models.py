from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from durable_async import InvocationStatus
from durable_async.testing import LocalRunner

pytestmark = pytest.mark.anyio

ORDER = {
    "customer_id": "c-7",
    "lines": [{"sku": "a-1", "quantity": 2}, {"sku": "b-22", "quantity": 1}],
}


async def test_models_in_and_out(example: Callable[[str], ModuleType], always_replay: bool) -> None:
    module = example("pydantic_models")
    runner = LocalRunner(module.handler, always_replay=always_replay)
    result = await runner.run(ORDER)
    assert result.status is InvocationStatus.SUCCEEDED
    # 2 x 130 + 1 x 140 = 400, under 500: shipping 25
    assert result.result == {
        "invoice_id": "inv-c-7-425",
        "customer_id": "c-7",
        "total": 425,
        "lines": 2,
    }
    assert module.Invoice.model_validate(result.result).total == 425


async def test_a_malformed_order_fails_before_any_step(
    example: Callable[[str], ModuleType], always_replay: bool
) -> None:
    runner = LocalRunner(example("pydantic_models").handler, always_replay=always_replay)
    result = await runner.run({"customer_id": "c-7", "lines": [{"sku": "a-1", "quantity": 0}]})
    assert result.status is InvocationStatus.FAILED
    assert result.error is not None
    assert result.error.error_type == "ValidationError"
    assert len(result.operations) == 1  # the execution only
