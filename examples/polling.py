"""Polling with `wait_for_condition`: start an export job, then check on it with growing
delays (10 s, 20 s, 40 s, ... capped at two minutes) until it is done, or give up after ten
checks. Between checks the function is not running and costs nothing; the poll state (job id,
checks so far, last status) is checkpointed, so no check is ever repeated on replay.

    durable-async run examples/polling.py:handler --input '{"table": "orders", "ready_after": 4}'

`ready_after` tells the simulated export service how many checks the job needs; above ten the
poll gives up and the execution fails with a `WaitForConditionError`.
"""

from __future__ import annotations

from typing import Any

from durable_async import DurableContext, WaitStrategy, durable_execution


def start_export(table: str) -> str:
    return f"export-{table}"


def export_status(job_id: str, check: int, ready_after: int) -> str:
    """Ask the export service about the job (here: it is done after `ready_after` checks)."""
    return "done" if check >= ready_after else "running"


def download_link(job_id: str) -> str:
    return f"s3://exports/{job_id}.csv.gz"


@durable_execution
async def handler(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    job_id = await ctx.step(start_export, event["table"], name="start-export")
    ready_after = int(event.get("ready_after", 3))

    def check(state: dict[str, Any]) -> dict[str, Any]:
        checks = state["checks"] + 1
        return {**state, "checks": checks, "status": export_status(job_id, checks, ready_after)}

    final = await ctx.wait_for_condition(
        check,
        initial_state={"job_id": job_id, "checks": 0, "status": "queued"},
        wait_strategy=WaitStrategy(
            until=lambda state: state["status"] == "done",
            initial_delay=10,
            backoff_rate=2.0,
            max_delay=120,
            max_attempts=10,
        ),
        name="export-done",
    )
    link = await ctx.step(download_link, job_id, name="link")
    return {"job_id": job_id, "checks": final["checks"], "link": link}
