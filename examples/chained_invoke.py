"""A chained invoke: the checkout workflow asks another Lambda function, the durable
`pricing` function, for a quote with `ctx.invoke`, then charges it.

The invoke is checkpointed: while the pricing function runs, this execution is suspended, and
on replay the recorded quote comes back without invoking it again. If the pricing function
fails (or does not exist), `ctx.invoke` raises `InvokeError` and the checkout falls back to the
list price.

    durable-async run examples/chained_invoke.py:handler --input '{"sku": "a-1", "quantity": 3}'

The command line registers no invoke targets, so there the invoke fails and the fallback runs.
In a test, `LocalRunner.register("pricing", pricing)` makes `pricing` the target. Deployed,
the `PRICING_FUNCTION` environment variable names the real function (its ARN, with a version
or alias), and the caller's role needs `lambda:InvokeFunction` on it: see
`examples/sam/template.yaml`.
"""

from __future__ import annotations

import os
from typing import Any

from durable_async import DurableContext, InvokeError, durable_execution

LIST_PRICE = 120
# Read once, at import: every invocation of a function version sees the same target.
PRICING_FUNCTION = os.environ.get("PRICING_FUNCTION", "pricing")


def lookup_discount(customer: str) -> int:
    """The customer's discount in percent (here: members get 10%)."""
    return 10 if customer.startswith("member-") else 0


@durable_execution
async def pricing(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    """The target: a durable function of its own, with its own history."""
    discount = await ctx.step(lookup_discount, event["customer"], name="discount")
    unit = LIST_PRICE * (100 - discount) // 100
    return {"unit_price": unit, "total": unit * event["quantity"], "discount": discount}


def charge(customer: str, total: int) -> str:
    return f"charge-{customer}-{total}"


@durable_execution
async def handler(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    customer = event.get("customer", "guest")
    request = {"sku": event["sku"], "quantity": event["quantity"], "customer": customer}
    try:
        quote = await ctx.invoke(PRICING_FUNCTION, request, name="quote")
        source = "pricing"
    except InvokeError:
        quote = {"unit_price": LIST_PRICE, "total": LIST_PRICE * event["quantity"], "discount": 0}
        source = "list price"
    receipt = await ctx.step(charge, customer, quote["total"], name="charge")
    return {"total": quote["total"], "price_from": source, "receipt": receipt}
