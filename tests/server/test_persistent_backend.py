"""`PersistentBackend`: executions saved to SQLite survive closing, reopening and SIGKILL."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from durable_async import DurableContext, InvocationStatus, OperationType, durable_execution
from durable_async._answers import CallbacksPendingError
from durable_async._models import OperationAction, OperationUpdate
from durable_async._server.feed import ChangeFeed
from durable_async._server.persistent import PersistentBackend
from durable_async.testing import LocalRunner

pytestmark = pytest.mark.anyio


@durable_execution
async def approval(event: dict[str, int], ctx: DurableContext) -> str:
    doubled = await ctx.step(lambda: event["n"] * 2, name="double")
    await ctx.wait(3600, name="nap")
    callback = await ctx.create_callback(name="approve", timeout=86_400)
    answer: str = await callback
    return await ctx.step(lambda: f"{answer}: {doubled}", name="record")


@durable_execution
async def doubler(event: dict[str, int], ctx: DurableContext) -> int:
    return await ctx.step(lambda: event["n"] * 2, name="double")


@durable_execution
async def caller(event: None, ctx: DurableContext) -> object:
    return await ctx.invoke("doubler", {"n": 21}, name="call")


def state(backend: PersistentBackend) -> dict[str, Any]:
    """Everything the service answers about every execution, and its inner bookkeeping."""
    out: dict[str, Any] = {}
    for arn in backend.executions():
        ex = backend._executions[arn]
        armed = {(d, i) for d, i in ex.timers if ex.due(ex.ops[i]) == d}
        out[arn] = {
            "summary": backend.get_execution(arn),
            "operations": backend.operations(arn),
            "order": list(ex.ops),
            "history": backend.history(arn),
            "token": ex.token,
            "callbacks": ex.callbacks,
            "callback_timers": ex.callback_timers,
            "timers": sorted(armed),
            "changes": ex.changes,
            "next_wake": backend.next_wake_time(arn),
        }
    return out


def datetimes(value: object) -> list[dt.datetime]:
    """Every datetime inside nested dicts and lists."""
    if isinstance(value, dt.datetime):
        return [value]
    if isinstance(value, dict):
        return [d for v in value.values() for d in datetimes(v)]
    if isinstance(value, list):
        return [d for v in value for d in datetimes(v)]
    return []


async def test_an_execution_waiting_on_a_callback_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "x.db"  # `open` creates the directory
    backend = await PersistentBackend.open(path)
    with pytest.raises(CallbacksPendingError):
        await LocalRunner(approval, backend=backend).run({"n": 21})
    (arn,) = backend.executions()
    assert backend.running() == [arn]
    before = state(backend)
    await backend.aclose()

    reopened = await PersistentBackend.open(path)
    assert state(reopened) == before
    assert reopened.running() == [arn]
    (callback,) = [op for op in reopened.operations(arn) if op.type is OperationType.CALLBACK]
    assert callback.callback_details is not None
    assert callback.callback_details.callback_id is not None
    reopened.send_callback_success(callback.callback_details.callback_id, json.dumps("approved"))
    result = await LocalRunner(approval, backend=reopened).resume(arn).result()
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == "approved: 42"
    assert reopened.running() == []

    # A new execution gets an ARN, an id and tokens no earlier one had.
    old_ids = {op.id for op in reopened.operations(arn)}
    event = reopened.start_execution({"n": 1})
    fresh = event.durable_execution_arn
    assert fresh != arn
    assert reopened.execution_op(fresh).id not in old_ids
    assert event.checkpoint_token not in {before[arn]["token"], reopened._executions[arn].token}
    after = state(reopened)
    await reopened.aclose()  # flushes what the synchronous calls changed

    third = await PersistentBackend.open(path)
    assert state(third) == after
    assert third.get_execution(arn)["Status"] == "SUCCEEDED"
    assert third.executions() == [arn, fresh]
    await third.aclose()


async def test_a_history_event_amended_after_it_was_saved_is_saved_again(tmp_path: Path) -> None:
    backend = await PersistentBackend.open(tmp_path / "x.db")
    runner = LocalRunner(caller, backend=backend)
    runner.register("doubler", doubler)
    result = await runner.run()
    assert result.result == 42
    before = state(backend)
    await backend.aclose()
    reopened = await PersistentBackend.open(tmp_path / "x.db")
    assert state(reopened) == before
    (parent, child) = reopened.executions()
    started = next(e for e in reopened.history(parent) if e["EventType"] == "ChainedInvokeStarted")
    assert started["ChainedInvokeStartedDetails"]["DurableExecutionArn"] == child
    await reopened.aclose()


async def test_timestamps_and_paging_survive_a_reload(tmp_path: Path) -> None:
    backend = await PersistentBackend.open(tmp_path / "x.db", page_size=2)
    with pytest.raises(CallbacksPendingError):
        await LocalRunner(approval, backend=backend).run({"n": 1})
    (arn,) = backend.executions()
    history = backend.history(arn)
    stamps = datetimes(history)
    assert len(stamps) >= len(history)
    event = backend.invocation_event(arn)
    pages = [event.initial_execution_state]
    while pages[-1].next_marker is not None:
        pages.append(
            await backend.get_state(arn, event.checkpoint_token, marker=pages[-1].next_marker)
        )
    await backend.aclose()

    reopened = await PersistentBackend.open(tmp_path / "x.db", page_size=2)
    reloaded = datetimes(reopened.history(arn))
    assert reloaded == stamps
    assert all(d.utcoffset() == dt.timedelta(0) for d in reloaded)
    assert reopened.history(arn) == history
    token = reopened._executions[arn].token
    assert token == event.checkpoint_token  # the saved token is still the current one
    again = [reopened.operations(arn)[:2]]
    marker = pages[0].next_marker
    while marker is not None:
        page = await reopened.get_state(arn, token, marker=marker)
        again.append(page.operations)
        marker = page.next_marker
    assert again == [p.operations for p in pages]
    assert len(again) > 1
    await reopened.aclose()


async def test_concurrent_checkpoints_share_transactions(tmp_path: Path) -> None:
    feed = ChangeFeed()
    backend = await PersistentBackend.open(tmp_path / "x.db", feed=feed)
    events = [backend.start_execution(i) for i in range(20)]
    await backend.flush()
    assert feed.since(0) == {e.durable_execution_arn for e in events}
    start = backend.transactions

    async def step(arn: str, token: str, i: int) -> None:
        updates = [
            OperationUpdate(id="s", type=OperationType.STEP, action=OperationAction.START),
            OperationUpdate(
                id="s",
                type=OperationType.STEP,
                action=OperationAction.SUCCEED,
                payload=json.dumps(i),
            ),
        ]
        await backend.checkpoint(arn, token, updates)

    await asyncio.gather(
        *(step(e.durable_execution_arn, e.checkpoint_token, i) for i, e in enumerate(events))
    )
    used = backend.transactions - start
    assert 1 <= used < len(events)
    await backend.flush()  # nothing left to write: no transaction
    assert backend.transactions - start == used
    await backend.aclose()

    reopened = await PersistentBackend.open(tmp_path / "x.db")
    for i, e in enumerate(events):
        step_op = reopened.operations(e.durable_execution_arn)[1]
        assert step_op.status.value == "SUCCEEDED"
        assert step_op.step_details is not None
        assert step_op.step_details.result == json.dumps(i)
    await reopened.aclose()


async def test_a_failed_write_is_retried_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = await PersistentBackend.open(tmp_path / "x.db")
    event = backend.start_execution(None)
    arn = event.durable_execution_arn
    await backend.flush()

    def broken(batch: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(backend._store, "write", broken)
    start = OperationUpdate(id="s", type=OperationType.STEP, action=OperationAction.START)
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        await backend.checkpoint(arn, event.checkpoint_token, [start])
    monkeypatch.undo()
    await backend.flush()  # the changes the failed transaction lost are written now
    before = state(backend)
    await backend.aclose()
    reopened = await PersistentBackend.open(tmp_path / "x.db")
    assert state(reopened) == before
    assert [op.id for op in reopened.operations(arn)][1:] == ["s"]
    await reopened.aclose()


CHILD = """
import asyncio, itertools, sys
from durable_async._models import OperationAction, OperationType, OperationUpdate
from durable_async._server.persistent import PersistentBackend

async def main() -> None:
    backend = await PersistentBackend.open(sys.argv[1])
    event = backend.start_execution(None)
    arn, token = event.durable_execution_arn, event.checkpoint_token
    print("arn", arn, flush=True)
    for i in itertools.count():
        updates = [
            OperationUpdate(id=f"s{i}", type=OperationType.STEP, action=OperationAction.START),
            OperationUpdate(
                id=f"s{i}", type=OperationType.STEP, action=OperationAction.SUCCEED,
                payload=str(i),
            ),
        ]
        response = await backend.checkpoint(arn, token, updates)
        token = response.checkpoint_token
        print("ack", i, flush=True)

asyncio.run(main())
"""


def test_every_acknowledged_checkpoint_survives_sigkill(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(CHILD))
    db = tmp_path / "x.db"
    with subprocess.Popen(
        [sys.executable, str(script), str(db)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    ) as proc:
        assert proc.stdout is not None
        lines = [proc.stdout.readline()]
        assert lines[0].startswith("arn "), lines
        while len(lines) < 1 + 25:  # wait for 25 acknowledged checkpoints
            line = proc.stdout.readline()
            assert line, "the child ended early"
            lines.append(line)
        proc.send_signal(signal.SIGKILL)
        lines += proc.stdout.readlines()  # whatever it acknowledged before it died
    assert proc.returncode == -signal.SIGKILL
    arn = lines[0].split()[1]
    acked = [int(line.split()[1]) for line in lines[1:] if line.startswith("ack ")]
    assert acked == list(range(len(acked)))

    async def check() -> None:
        backend = await PersistentBackend.open(db)
        ops = {op.id: op for op in backend.operations(arn)}
        for i in acked:
            op = ops[f"s{i}"]
            assert op.status.value == "SUCCEEDED"
            assert op.step_details is not None
            assert op.step_details.result == str(i)
        await backend.aclose()

    asyncio.run(check())
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()
