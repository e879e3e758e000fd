from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

import durable_async
from durable_async.testing import LocalRunner

pytestmark = pytest.mark.anyio


async def test_powertools_logging(
    example: Callable[[str], ModuleType], always_replay: bool
) -> None:
    previous = durable_async.get_logger()  # importing the example sets Powertools' logger
    module = example("powertools_logging")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(module.logger.registered_formatter)
    module.logger.addHandler(handler)
    durable_async.set_logger(module.logger)
    try:
        result = await LocalRunner(module.handler, always_replay=always_replay).run(
            {"order_id": "o-1"}
        )
    finally:
        module.logger.removeHandler(handler)
        durable_async.set_logger(previous)
    assert result.result == {"order_id": "o-1", "reservation": "reservation-o-1"}
    lines: list[dict[str, Any]] = [json.loads(x) for x in stream.getvalue().splitlines() if x]
    messages = [line["message"] for line in lines]
    # ctx.logger's lines once each, though the workflow replays after the wait; the step body
    # once live (at least once when an invocation ends before its result was checkpointed)
    assert messages.count("order received") == messages.count("order reserved") == 1
    runs = messages.count("reserving stock")
    assert runs == 1 if not always_replay else runs >= 1
    step = next(line for line in lines if line["message"] == "reserving stock")
    assert step["operationName"] == "reserve"
    assert step["attempt"] == 1
    assert step["order_id"] == "o-1"
    assert all(line["executionArn"] == result.execution_arn for line in lines)
    assert all(line["service"] == "orders" for line in lines)
    assert lines[0]["function_name"] == "handler"  # from the local Lambda context
