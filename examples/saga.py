"""An order saga: reserve stock, charge the card, book shipping; when a step fails for good,
undo what was done, in reverse order, each undo a durable step of its own.

Every step is checkpointed, so a crash between "charge" and "ship" neither charges twice nor
forgets the refund: the next invocation replays the charge and carries on from there.

    durable-async run examples/saga.py:handler \\
        --input '{"order_id": "o-1", "sku": "a-1", "amount": 250, "ship_to": "FR"}'
    durable-async run examples/saga.py:handler \\
        --input '{"order_id": "o-2", "sku": "a-1", "amount": 250, "ship_to": "AQ"}'

The second order cannot be shipped (nobody delivers to Antarctica): the card is refunded and
the stock released, and the execution still succeeds, reporting what it undid.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from durable_async import DurableContext, RetryPolicy, StepError, durable_execution

SHIPPABLE = {"FR", "DE", "US", "JP"}


def reserve_stock(order_id: str, sku: str) -> str:
    return f"reservation-{order_id}-{sku}"


def charge_card(order_id: str, amount: int) -> str:
    return f"charge-{order_id}-{amount}"


def book_shipping(order_id: str, country: str) -> str:
    if country not in SHIPPABLE:
        raise ValueError(f"no carrier ships to {country}")
    return f"parcel-{order_id}-{country}"


def refund_card(charge_id: str) -> str:
    return f"refund-of-{charge_id}"


def release_stock(reservation_id: str) -> str:
    return f"released-{reservation_id}"


# A failed business step is not retried here: retrying "no carrier ships there" is pointless.
# Compensations keep the default policy (retried with backoff), since they must not give up.
ONCE = RetryPolicy.none()


@durable_execution
async def handler(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    order_id, sku = event["order_id"], event["sku"]
    # Each entry undoes one step that succeeded; they run last-in, first-out.
    undo: list[Callable[[], Awaitable[str]]] = []
    try:
        reservation = await ctx.step(reserve_stock, order_id, sku, name="reserve", retry=ONCE)
        undo.append(lambda: ctx.step(release_stock, reservation, name="release"))

        charge = await ctx.step(charge_card, order_id, event["amount"], name="charge", retry=ONCE)
        undo.append(lambda: ctx.step(refund_card, charge, name="refund"))

        parcel = await ctx.step(book_shipping, order_id, event["ship_to"], name="ship", retry=ONCE)
    except StepError as failure:
        undone = [await compensate() for compensate in reversed(undo)]
        return {
            "order_id": order_id,
            "status": "compensated",
            "failed_step": failure.operation_name,
            "reason": failure.error_message,
            "undone": undone,
        }
    return {"order_id": order_id, "status": "shipped", "parcel": parcel}
