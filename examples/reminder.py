"""A scheduled reminder: a trial starts today; three days before it ends the customer gets a
reminder, and on the last day a final notice. Weeks pass in a handful of invocations, and
none of them runs (or is billed) while the waits last.

    durable-async run examples/reminder.py:handler --input '{"customer": "c-42", "trial_days": 14}'

Locally the clock is skipped, so the fourteen days take milliseconds. Deployed, the
execution's timeout (`DurableConfig.ExecutionTimeout`) must outlast the trial.
"""

from __future__ import annotations

from typing import Any

from durable_async import DurableContext, Duration, durable_execution


def send_email(customer: str, template: str, day: int) -> str:
    """Send one email (here: return its id)."""
    return f"{template}-{customer}-day-{day}"


@durable_execution
async def handler(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    customer, trial_days = event["customer"], int(event.get("trial_days", 14))
    if trial_days < 4:
        raise ValueError("a trial lasts at least four days")
    sent = [await ctx.step(send_email, customer, "welcome", 0, name="welcome")]

    await ctx.wait(Duration.days(trial_days - 3), name="until-reminder")
    sent.append(await ctx.step(send_email, customer, "reminder", trial_days - 3, name="reminder"))

    await ctx.wait(Duration.days(2), name="until-last-day")
    sent.append(await ctx.step(send_email, customer, "last-day", trial_days - 1, name="last-day"))
    return {"customer": customer, "sent": sent}
