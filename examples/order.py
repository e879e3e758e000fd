"""An order workflow: an async step, a durable wait, and a step raced against a cool-off wait.

Run it on the embedded backend:

    durable-async run examples/order.py:handler --input '{"sku": "a-1"}'
"""

from __future__ import annotations

import asyncio

from durable_async import DurableContext, durable_execution


async def fetch_price(sku: str) -> int:
    """Look the price up (an async step function)."""
    await asyncio.sleep(0)
    return 100 + len(sku)


def reserve(sku: str) -> str:
    """Reserve stock (a sync step function: it runs in a worker thread)."""
    return f"reservation-{sku}"


@durable_execution
async def handler(event: dict, ctx: DurableContext) -> dict:
    price = await ctx.step(fetch_price, event["sku"], name="price")
    await ctx.wait(5)
    a, _ = await asyncio.gather(ctx.step(reserve, event["sku"]), ctx.wait(10, name="cool-off"))
    return {"price": price, "reservation": a}
