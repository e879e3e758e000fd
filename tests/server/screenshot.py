"""Regenerate `docs/img/server-viewer.png`: the viewer's timeline of a demo workflow.

Run from the repository's root: `python -m tests.server.screenshot [OUTPUT.png]`
(or `nox -s screenshot`). Needs Playwright (`pip install playwright`) and Chromium at
`/usr/bin/chromium`; no browser is downloaded.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from durable_async import (
    DurableContext,
    OperationType,
    RetryPolicy,
    StepSemantics,
    durable_execution,
)
from durable_async.testing import LocalRunner, ManualClock, MemoryBackend

from ._browser import save_screenshot
from ._harness import ViewerServer

DEFAULT_OUTPUT = Path(__file__).resolve().parents[2] / "docs" / "img" / "server-viewer.png"
START = 1_767_261_600.0  # 2026-01-01 10:00 UTC: the same picture on every run
# Steps checkpoint their START before the body runs, so their bars show how long they took.
ONCE = StepSemantics.AT_MOST_ONCE_PER_RETRY


def order_workflow(clock: ManualClock) -> Any:
    """A workflow with a bit of everything: steps (one retried), waits, a child context, a map
    of three items and, last, a callback left pending. Its steps take time on `clock`."""
    charges = {"attempts": 0}

    async def work(seconds: float, value: Any) -> Any:
        clock.advance(seconds)
        return value

    async def charge_card() -> dict[str, Any]:
        clock.advance(1.5)
        charges["attempts"] += 1
        if charges["attempts"] < 3:
            raise ConnectionError("payment gateway timed out")
        return {"charge": "ch_1042", "amount": 129.0}

    async def fulfilment(ctx: DurableContext) -> str:
        await ctx.step(work, 2.0, ["sku-1", "sku-7"], name="pick-items", semantics=ONCE)
        await ctx.wait(6, name="courier-slot")
        return str(await ctx.step(work, 1.0, "label-17", name="print-label", semantics=ONCE))

    async def notify(ctx: DurableContext, channel: str, index: int) -> str:
        seconds = 1.0 + index
        sent = await ctx.step(work, seconds, f"sent via {channel}", name=channel, semantics=ONCE)
        return str(sent)

    @durable_execution
    async def place_order(event: Any, ctx: DurableContext) -> dict[str, Any]:
        order = await ctx.step(
            work, 1.0, {"order": event["order"], "ok": True}, name="validate", semantics=ONCE
        )
        charge = await ctx.step(
            charge_card,
            name="charge-card",
            retry=RetryPolicy.fixed(max_attempts=5, delay=3),
            semantics=ONCE,
        )
        label = await ctx.run_in_child_context(fulfilment, name="fulfilment")
        await ctx.map(
            ["email", "sms", "push"], notify, name="notify", item_namer=lambda item, i: item
        )
        await ctx.wait(5, name="cool-off")
        approval = await ctx.wait_for_callback(
            lambda callback_id: None, name="manager-approval", timeout=86_400
        )
        return {"order": order, "charge": charge, "label": label, "approval": approval}

    return place_order


def suspended(backend: MemoryBackend, arn: str) -> bool:
    """Whether the execution's last invocation has ended with every step done."""
    history = backend.history(arn)
    steps_done = all(
        op.status.is_terminal for op in backend.operations(arn) if op.type is OperationType.STEP
    )
    return steps_done and bool(history) and history[-1]["EventType"] == "InvocationCompleted"


def main(argv: list[str]) -> int:
    """Serve the demo workflow, open its timeline in Chromium, save the PNG."""
    out = Path(argv[0]) if argv else DEFAULT_OUTPUT
    clock = ManualClock(start=START)
    arns: list[str] = []

    async def setup(server: ViewerServer) -> None:
        runner = LocalRunner(order_workflow(clock), backend=server.backend)
        run = runner.start({"order": "A-1042", "items": 2}, name="order-A-1042")
        await run.callback_id()  # the workflow has reached its pending callback,
        # and its invocation has suspended (the runner has no event to wait on for that):
        while not suspended(server.backend, run.execution_arn):  # noqa: ASYNC110
            await asyncio.sleep(0.001)
        clock.advance(4)  # ... and it has waited a little for the answer
        server.follow(run)
        arns.append(run.execution_arn)

    with ViewerServer(setup, backend=MemoryBackend(clock=clock)) as server:
        save_screenshot(f"{server.url}#/execution/{quote(arns[0], safe='')}", out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
