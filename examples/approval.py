"""An approval workflow: ask a person by sending them a callback id, wait up to a day for the
answer, then act on it.

Run it and answer the prompt (in a terminal), or answer from the command line:

    durable-async run examples/approval.py:handler --input '{"amount": 250}'
    durable-async run examples/approval.py:handler --input '{"amount": 250}' \\
        --callback 'approval={"approved": true, "by": "sam"}'
"""

from __future__ import annotations

from typing import Any

from durable_async import CallbackTimeoutError, DurableContext, durable_execution


# --8<-- [start:workflow]
def send_request(amount: int, callback_id: str) -> str:
    """Ask for an approval (here: log it; in production, an email or a chat message holding
    the callback id, which the approver's tool passes to SendDurableExecutionCallbackSuccess)."""
    print(f"please approve {amount}: callback id {callback_id}")
    return callback_id


@durable_execution
async def handler(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    amount = int(event["amount"])
    try:
        decision = await ctx.wait_for_callback(
            lambda callback_id: send_request(amount, callback_id),
            name="approval",
            timeout=24 * 3600,
        )
    except CallbackTimeoutError:
        return {"amount": amount, "approved": False, "reason": "no answer within a day"}
    if not decision.get("approved"):
        return {"amount": amount, "approved": False, "reason": decision.get("reason", "")}
    receipt = await ctx.step(lambda: f"paid-{amount}", name="pay")
    return {"amount": amount, "approved": True, "by": decision.get("by"), "receipt": receipt}


# --8<-- [end:workflow]
