from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from durable_async import InvocationStatus
from durable_async.testing import CallbackAnswer, LocalRunner

pytestmark = pytest.mark.anyio


async def test_approved(example: Callable[[str], ModuleType], always_replay: bool) -> None:
    answers = [CallbackAnswer.succeed({"approved": True, "by": "sam"})]
    runner = LocalRunner(
        example("approval").handler, on_callback=answers, always_replay=always_replay
    )
    result = await runner.run({"amount": 250})
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == {"amount": 250, "approved": True, "by": "sam", "receipt": "paid-250"}


async def test_rejected(example: Callable[[str], ModuleType], always_replay: bool) -> None:
    answers = [CallbackAnswer.succeed({"approved": False, "reason": "over budget"})]
    runner = LocalRunner(
        example("approval").handler, on_callback=answers, always_replay=always_replay
    )
    result = await runner.run({"amount": 9000})
    assert result.result == {"amount": 9000, "approved": False, "reason": "over budget"}


async def test_no_answer_within_a_day(
    example: Callable[[str], ModuleType], always_replay: bool
) -> None:
    runner = LocalRunner(
        example("approval").handler,
        on_callback=[CallbackAnswer.time_out()],
        always_replay=always_replay,
    )
    result = await runner.run({"amount": 1})
    assert result.result == {"amount": 1, "approved": False, "reason": "no answer within a day"}
