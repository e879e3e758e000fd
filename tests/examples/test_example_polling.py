from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from durable_async import InvocationStatus
from durable_async.testing import LocalRunner

pytestmark = pytest.mark.anyio


async def test_polls_until_the_export_is_done(
    example: Callable[[str], ModuleType], always_replay: bool
) -> None:
    runner = LocalRunner(example("polling").handler, always_replay=always_replay)
    result = await runner.run({"table": "orders", "ready_after": 4})
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == {
        "job_id": "export-orders",
        "checks": 4,
        "link": "s3://exports/export-orders.csv.gz",
    }
    poll = result.operation("export-done")
    # three checks said "running": 10 s, 20 s and 40 s of backoff between them
    assert poll.end_timestamp is not None
    assert poll.start_timestamp is not None
    assert (poll.end_timestamp - poll.start_timestamp).total_seconds() == 70


async def test_gives_up_after_ten_checks(
    example: Callable[[str], ModuleType], always_replay: bool
) -> None:
    runner = LocalRunner(example("polling").handler, always_replay=always_replay)
    result = await runner.run({"table": "orders", "ready_after": 11})
    assert result.status is InvocationStatus.FAILED
    assert result.error is not None
    assert result.error.error_type == "WaitForConditionError"
