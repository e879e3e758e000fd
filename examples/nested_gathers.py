"""Nested gathers of helpers: regions in a TaskGroup, shards of each region gathered.

Every shard step takes a different time, and a wait follows it, so live and replayed runs
interleave the tasks in different orders; the execution replays all the same.

    durable-async run examples/nested_gathers.py:handler --input '{"regions": ["eu", "us"]}'
"""

from __future__ import annotations

import asyncio

from durable_async import DurableContext, durable_execution


async def count_rows(region: str, shard: int) -> int:
    await asyncio.sleep(0.001 * (3 - shard))  # the later shards answer first
    return len(region) * 100 + shard


def publish(region: str, total: int) -> str:
    return f"{region}={total}"


async def shard_rows(ctx: DurableContext, region: str, shard: int) -> int:
    rows = await ctx.step(count_rows, region, shard, name=f"count-{region}-{shard}")
    await ctx.wait(1 + shard, name=f"settle-{region}-{shard}")
    return rows


async def region_report(ctx: DurableContext, region: str) -> str:
    counts = await asyncio.gather(*(shard_rows(ctx, region, shard) for shard in range(3)))
    return await ctx.step(publish, region, sum(counts), name=f"publish-{region}")


@durable_execution
async def handler(event: dict[str, list[str]], ctx: DurableContext) -> list[str]:
    async with asyncio.TaskGroup() as group:
        reports = [group.create_task(region_report(ctx, r)) for r in event["regions"]]
    return [report.result() for report in reports]
