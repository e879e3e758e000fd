from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from durable_async import InvocationStatus
from durable_async.testing import LocalRunner

pytestmark = pytest.mark.anyio


async def test_failures_within_the_budget_are_reported(
    example: Callable[[str], ModuleType], always_replay: bool
) -> None:
    runner = LocalRunner(example("fan_out").handler, always_replay=always_replay)
    images = ["a.png", "b.png", "broken.png", "c.png", "d.gif"]
    result = await runner.run({"images": images})
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == {
        "thumbnails": ["a-128.png", "b-128.png", "c-128.png"],
        "failed": ["broken.png", "d.gif"],
        "completion": "ALL_COMPLETED",
    }


async def test_a_third_failure_exceeds_the_budget(
    example: Callable[[str], ModuleType], always_replay: bool
) -> None:
    runner = LocalRunner(example("fan_out").handler, always_replay=always_replay)
    result = await runner.run({"images": ["x.bad", "y.bad", "z.bad", "ok.png"]})
    assert result.status is InvocationStatus.FAILED
    assert result.error is not None
    assert result.error.error_type == "ChildContextError"
    assert "cannot decode x.bad" in (result.error.error_message or "")
