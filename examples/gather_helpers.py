"""Helper coroutines holding several durable operations, combined with `asyncio.gather`.

Each branch waits, then runs a step. Live, the branches reach their steps in the order their
waits end; on replay every recorded wait ends at once. The ids do not care: each branch's
operations are numbered within its own task.

    durable-async run examples/gather_helpers.py:handler --input '{"branches": 6}'
"""

from __future__ import annotations

import asyncio

from durable_async import DurableContext, durable_execution


def price_of(i: int) -> int:
    return 10 * i


async def branch(ctx: DurableContext, i: int) -> int:
    await ctx.wait(1 + i, name=f"cool-off-{i}")
    return await ctx.step(price_of, i, name=f"price-{i}")


@durable_execution
async def handler(event: dict[str, int], ctx: DurableContext) -> int:
    prices = await asyncio.gather(*(branch(ctx, i) for i in range(event["branches"])))
    return sum(prices)
