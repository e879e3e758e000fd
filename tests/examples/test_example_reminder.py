from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from durable_async import InvocationStatus, OperationType
from durable_async.testing import LocalRunner

pytestmark = pytest.mark.anyio

DAY = 24 * 3600


async def test_reminders_are_sent_days_apart(
    example: Callable[[str], ModuleType], always_replay: bool
) -> None:
    runner = LocalRunner(example("reminder").handler, always_replay=always_replay)
    result = await runner.run({"customer": "c-42", "trial_days": 14})
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == {
        "customer": "c-42",
        "sent": ["welcome-c-42-day-0", "reminder-c-42-day-11", "last-day-c-42-day-13"],
    }
    waits = {op.name: op for op in result.operations_of(OperationType.WAIT)}
    for name, days in {"until-reminder": 11, "until-last-day": 2}.items():
        op = waits[name]
        assert op.start_timestamp is not None
        assert op.end_timestamp is not None
        assert (op.end_timestamp - op.start_timestamp).total_seconds() == days * DAY


async def test_a_too_short_trial_is_refused(
    example: Callable[[str], ModuleType], always_replay: bool
) -> None:
    runner = LocalRunner(example("reminder").handler, always_replay=always_replay)
    result = await runner.run({"customer": "c-1", "trial_days": 2})
    assert result.status is InvocationStatus.FAILED
    assert result.error is not None
    assert result.error.error_type == "ValueError"
