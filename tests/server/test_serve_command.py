"""`durable-async serve` as a process: killed with SIGKILL and started again, it loses nothing it
acknowledged and resumes every pending execution."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from .lambda_client import Lambda

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(90)]

APP = """
from durable_async import durable_execution

@durable_execution
async def approval(event, ctx):
    answer = await ctx.wait_for_callback(lambda callback_id: None, name="answer")
    return {"n": event["n"], "answer": answer}

@durable_execution
async def pause(event, ctx):
    await ctx.wait(event["seconds"], name="pause")
    return "woke"
"""


@asynccontextmanager
async def serve(app: Path, db: Path) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """Run `durable-async serve` on a free port; yield the process and its URL."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "durable_async",
        "serve",
        f"approval={app}:approval",
        f"pause={app}:pause",
        "--port",
        "0",
        "--db",
        str(db),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    banner = (await process.stdout.readline()).decode()
    assert banner.startswith("durable-async serve: http://127.0.0.1:"), banner
    try:
        yield process, banner.split()[2]
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def test_a_killed_server_loses_nothing_it_acknowledged(tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(textwrap.dedent(APP))
    db = tmp_path / "executions.db"
    async with serve(app, db) as (process, url):
        client = Lambda(url)
        arns = [await client.start("approval", {"n": n}) for n in range(3)]
        callbacks = [await client.callback_id(arn) for arn in arns]
        pause = await client.start("pause", {"seconds": 1})
        waits = [e for e in await client.events(pause) if e["EventType"] == "WaitStarted"]
        while not waits:
            waits = [e for e in await client.events(pause) if e["EventType"] == "WaitStarted"]
        due = waits[0]["WaitStartedDetails"]["ScheduledEndTimestamp"].timestamp()
        # Acknowledged just before the kill: the answer must survive it.
        await client.call(
            "send_durable_execution_callback_success", CallbackId=callbacks[0], Result=b'"a"'
        )
        process.send_signal(signal.SIGKILL)
        await process.wait()

    await asyncio.sleep(max(0.0, due - time.time()))  # the timer comes due while no server runs

    async with serve(app, db) as (process, url):
        assert process.stdout is not None
        lines = [(await process.stdout.readline()).decode() for _ in range(2)]
        assert "execution(s) resumed" in lines[1]
        client = Lambda(url)
        assert (await client.status(pause, until={"SUCCEEDED"}))["Result"] == '"woke"'
        for n, callback_id in enumerate(callbacks[1:], start=1):
            await client.call(
                "send_durable_execution_callback_success",
                CallbackId=callback_id,
                Result=json.dumps(str(n)).encode(),
            )
        for n, arn in enumerate(arns):
            summary = await client.status(arn, until={"SUCCEEDED", "FAILED"})
            expected = "a" if n == 0 else str(n)
            assert json.loads(summary["Result"]) == {"n": n, "answer": expected}
        process.send_signal(signal.SIGINT)
        assert await process.wait() == 0
