"""Pydantic models throughout: the input is validated into a model, each step returns a model
that `result_type` restores on replay (the checkpoint holds JSON), and the output is a model.

    durable-async run examples/pydantic_models.py:handler \\
        --input '{"customer_id": "c-7", "lines": [{"sku": "a-1", "quantity": 2}]}'

A malformed input fails the execution at once with pydantic's `ValidationError`, before any
step runs.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from durable_async import DurableContext, durable_execution


class OrderLine(BaseModel):
    sku: str
    quantity: int = Field(gt=0)


class Order(BaseModel):
    customer_id: str
    lines: list[OrderLine] = Field(min_length=1)


class Quote(BaseModel):
    subtotal: int
    shipping: int

    @property
    def total(self) -> int:
        return self.subtotal + self.shipping


class Invoice(BaseModel):
    invoice_id: str
    customer_id: str
    total: int
    lines: int


def unit_price(sku: str) -> int:
    return 100 + 10 * len(sku)


def quote_order(order: Order) -> Quote:
    subtotal = sum(unit_price(line.sku) * line.quantity for line in order.lines)
    return Quote(subtotal=subtotal, shipping=0 if subtotal >= 500 else 25)


def issue_invoice(order: Order, quote: Quote) -> Invoice:
    return Invoice(
        invoice_id=f"inv-{order.customer_id}-{quote.total}",
        customer_id=order.customer_id,
        total=quote.total,
        lines=len(order.lines),
    )


@durable_execution
async def handler(event: dict[str, object], ctx: DurableContext) -> Invoice:
    order = Order.model_validate(event)
    # On replay the step's JSON checkpoint is validated back into a Quote, so `quote.total`
    # (a property, not stored) works the same on the first run and after any restart.
    quote = await ctx.step(quote_order, order, name="quote", result_type=Quote)
    return await ctx.step(issue_invoice, order, quote, name="invoice", result_type=Invoice)
