from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from durable_async import InvocationStatus, OperationStatus
from durable_async.testing import LocalRunner, assert_ran_once

pytestmark = pytest.mark.anyio

ORDER = {"order_id": "o-1", "sku": "a-1", "amount": 250}


async def test_a_shippable_order_is_shipped(
    example: Callable[[str], ModuleType], always_replay: bool
) -> None:
    runner = LocalRunner(example("saga").handler, always_replay=always_replay)
    result = await runner.run({**ORDER, "ship_to": "FR"})
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == {"order_id": "o-1", "status": "shipped", "parcel": "parcel-o-1-FR"}
    assert [op.name for op in result.operations[1:]] == ["reserve", "charge", "ship"]


async def test_a_failed_step_is_compensated_in_reverse(
    example: Callable[[str], ModuleType], always_replay: bool
) -> None:
    runner = LocalRunner(example("saga").handler, always_replay=always_replay)
    result = await runner.run({**ORDER, "ship_to": "AQ"})
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == {
        "order_id": "o-1",
        "status": "compensated",
        "failed_step": "ship",
        "reason": "no carrier ships to AQ",
        "undone": ["refund-of-charge-o-1-250", "released-reservation-o-1-a-1"],
    }
    names = [op.name for op in result.operations[1:]]
    assert names == ["reserve", "charge", "ship", "refund", "release"]
    assert result.operation("ship").status is OperationStatus.FAILED
    for name in ("charge", "refund", "release"):
        assert_ran_once(result, name)
