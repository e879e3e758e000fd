"""Structured logs with Powertools for AWS Lambda: every record carries the execution's ARN and,
in step bodies, the step's id, name and attempt, beside Powertools' own keys.

Run it (the JSON log lines go to stdout, before the report):

    durable-async run examples/powertools_logging.py:handler --input '{"order_id": "o-1"}'
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

import durable_async
from durable_async import DurableContext, durable_execution

logger = Logger(service="orders")
durable_async.set_logger(logger)  # the SDK's records go through Powertools' logger


def reserve(order_id: str) -> str:
    """A step body: no ctx at hand, so it logs with `durable_async.logger`."""
    durable_async.logger.info("reserving stock", extra={"order_id": order_id})
    return f"reservation-{order_id}"


@durable_execution
@logger.inject_lambda_context  # adds function_name, cold_start, ... from the Lambda context
async def handler(event: dict[str, Any], ctx: DurableContext) -> dict[str, str]:
    order_id = event["order_id"]
    ctx.logger.info("order received", extra={"order_id": order_id})  # once, not on replay
    reservation = await ctx.step(reserve, order_id, name="reserve")
    await ctx.wait(60, name="settle")
    ctx.logger.info("order reserved", extra={"reservation": reservation})
    return {"order_id": order_id, "reservation": reservation}
