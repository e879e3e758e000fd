"""The embedded service, kept in memory and saved to SQLite: executions survive a restart.

`PersistentBackend` is a `MemoryBackend` that notes which executions each call touches and
saves what changed in them (new and replaced operations, new and amended history events, the
execution's own fields) in one transaction per `flush()`. A checkpoint returns only once its
changes are durable. Concurrent flushes share transactions (group commit): a flush whose changes
were written by a transaction another caller started returns as soon as that one commits.

SQLite is used only from one dedicated thread (see `store`); the objects are serialized on the
event loop, where they change.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from .._backends.memory.invokes import InvokeRequest
from .._backends.memory.service import MemoryBackend
from .._backends.memory.state import ExecutionRecord
from .._clock import Clock
from .._models import (
    CheckpointResponse,
    ErrorObject,
    InvocationInput,
    InvocationOutput,
    Operation,
    OperationUpdate,
)
from .codec import encode_event, operation_row, rebuild, summary_row
from .feed import ChangeFeed
from .store import MIGRATIONS, Batch, Migration, Snapshot, Store

__all__ = ["PersistentBackend"]

T = TypeVar("T")
_log = logging.getLogger("durable_async.server")


class PersistentBackend(MemoryBackend):
    """A `MemoryBackend` whose executions are saved in a SQLite database.

    Open one with `await PersistentBackend.open(path)`, which loads every saved execution, and
    close it with `await backend.aclose()`. Checkpoints are durable when they return; changes
    made by the synchronous calls (callbacks, `start_execution`, `complete_invocation`, ...)
    are durable once the next `flush()` returns.

    Durability: the database is in WAL mode with `synchronous=NORMAL`, so a committed
    transaction survives the process being killed, but an operating-system crash or power
    loss may lose the last transactions (the database stays consistent).
    """

    _store: Store
    _pool: ThreadPoolExecutor

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        clock: Clock | None = None,
        feed: ChangeFeed | None = None,
        migrations: Sequence[Migration] = MIGRATIONS,
        **memory_backend_kwargs: Any,
    ) -> PersistentBackend:
        """Open (creating, migrating) the database at `path` and load every execution into
        memory. `feed`, if given, is told the ARNs each flush wrote.

        Raises:
            SchemaVersionError: the database was written by a newer durable-async.
        """
        backend = cls(clock=clock, **memory_backend_kwargs)
        backend._feed = feed
        backend._store = Store(path, migrations)
        backend._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="durable-async-db")
        try:
            snapshot = await backend._in_thread(backend._store.open)
        except BaseException:
            backend._pool.shutdown(wait=True)
            raise
        backend._load(snapshot)
        return backend

    def __init__(self, *, clock: Clock | None = None, **memory_backend_kwargs: Any) -> None:
        """Use `PersistentBackend.open`: a backend built directly has no database yet."""
        super().__init__(clock=clock, **memory_backend_kwargs)
        self._feed: ChangeFeed | None = None
        self._touched: dict[str, None] = {}  # executions touched since their last save
        self._generation = 0  # bumped by every touch
        self._saved_generation = 0  # what the last committed transaction covered
        self._lock = asyncio.Lock()
        self._rows: dict[str, tuple[Any, ...]] = {}  # each saved execution's last saved row
        self._positions: dict[str, int] = {}  # each execution's place in creation order
        self._pos = itertools.count(1)  # places of executions and operations
        self._saved_seq: int | None = None
        self._closed = False
        self._background: set[asyncio.Task[None]] = set()

    # -- the API ----------------------------------------------------------------------------

    async def checkpoint(
        self,
        execution_arn: str,
        checkpoint_token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResponse:
        """Apply `updates` as `MemoryBackend.checkpoint` does, and return once they are
        durable (a refused checkpoint may have applied some updates: those are saved too)."""
        try:
            return await super().checkpoint(
                execution_arn, checkpoint_token, updates, client_token=client_token
            )
        finally:
            await self.flush()

    def start_execution(
        self,
        input: Any = None,
        *,
        name: str | None = None,
        input_payload: str | None = None,
        invoked_by: InvokeRequest | None = None,
        function_name: str = "local",
    ) -> InvocationInput:
        """Create an execution (see `MemoryBackend.start_execution`); the next `flush()`
        saves it."""
        before = len(self._executions)
        try:
            return super().start_execution(
                input,
                name=name,
                input_payload=input_payload,
                invoked_by=invoked_by,
                function_name=function_name,
            )
        finally:  # even if it raised after storing the record (an unknown caller, say)
            for arn in itertools.islice(reversed(self._executions), len(self._executions) - before):
                self._touch(arn)

    @property
    def transactions(self) -> int:
        """How many write transactions have committed since `open` (for tests and stats)."""
        return self._store.transactions

    # -- saving -----------------------------------------------------------------------------

    async def flush(self) -> None:
        """Write every change not yet saved, in one transaction; return once it is durable.

        Raises:
            RuntimeError: the backend is closed and has unsaved changes.
        """
        target = self._generation
        if self._saved_generation >= target:
            return
        # Shielded: a cancelled caller leaves the transaction (and the lock) to finish.
        await asyncio.shield(self._flush_to(target))

    async def _flush_to(self, target: int) -> None:
        async with self._lock:
            if self._saved_generation >= target:
                return  # a transaction started while we waited wrote our changes
            if self._closed:
                raise RuntimeError("the persistent backend is closed")
            generation = self._generation
            batch, arns = self._collect()
            if batch:
                try:
                    await self._in_thread(self._store.write, batch)
                except BaseException:
                    self._forget(arns)
                    raise
            self._saved_generation = generation
        if self._feed is not None and arns:
            self._feed.publish(arns)

    def _collect(self) -> tuple[Batch, list[str]]:
        """Serialize what changed in the touched executions, and mark it saved."""
        batch = Batch()
        written: list[str] = []
        touched, self._touched = self._touched, {}
        for arn in touched:
            ex = self._executions[arn]
            if arn not in self._positions:
                self._positions[arn] = next(self._pos)
            row = summary_row(ex, self._positions[arn])
            history = ex.history
            before = len(batch.operations) + len(batch.events)
            if arn not in self._rows:  # never saved (or its last save failed): all of it
                op_ids: Any = ex.ops
                indexes: Any = range(len(history.events))
            else:
                op_ids = ex.unsaved
                indexes = itertools.chain(
                    (i for i in sorted(history.changed) if i < history.saved),
                    range(history.saved, len(history.events)),
                )
            for op_id in op_ids:
                batch.operations.append(operation_row(ex, op_id, next(self._pos)))
            for i in indexes:
                batch.events.append((arn, i, encode_event(history.events[i])))
            ex.unsaved.clear()
            history.changed.clear()
            history.saved = len(history.events)
            if len(batch.operations) + len(batch.events) > before or self._rows.get(arn) != row:
                batch.executions.append(row)
                written.append(arn)
            self._rows[arn] = row
        seq = next(self._seq)  # peek at the next id: take it and start over from it
        self._seq = itertools.count(seq)
        if seq != self._saved_seq:
            batch.seq = self._saved_seq = seq
        return batch, written

    def _forget(self, arns: list[str]) -> None:
        """After a failed write: save these executions whole next time."""
        self._saved_seq = None
        for arn in arns:
            self._rows.pop(arn, None)
            self._touch(arn)

    # -- loading ----------------------------------------------------------------------------

    def _load(self, snapshot: Snapshot) -> None:
        """Take in every execution `open` read."""
        for arn, (ex, pos) in rebuild(snapshot).items():
            self._executions[arn] = ex
            self._positions[arn] = pos
            self._rows[arn] = summary_row(ex, pos)
        if snapshot.seq is not None:
            self._seq = itertools.count(snapshot.seq)
        self._saved_seq = snapshot.seq
        self._pos = itertools.count(snapshot.next_pos)

    # -- what the runner changes between checkpoints ------------------------------------------

    def invocation_event(self, arn: str) -> InvocationInput:
        """Issue the next invocation's event (timers that came due fire); saved soon after."""
        event = super().invocation_event(arn)
        self._flush_soon()
        return event

    def complete_invocation(
        self, arn: str, output: InvocationOutput, *, started: float, request_id: str = "local"
    ) -> None:
        """Record an invocation's output (it may end the execution); saved soon after."""
        super().complete_invocation(arn, output, started=started, request_id=request_id)
        self._flush_soon()

    def fail_invocation(
        self, arn: str, error: ErrorObject, *, started: float, request_id: str = "local"
    ) -> None:
        """Record a failed invocation; saved soon after."""
        super().fail_invocation(arn, error, started=started, request_id=request_id)
        self._flush_soon()

    def _flush_soon(self) -> None:
        """Save in the background what the runner just changed: nobody waits on it (a lost
        change is redone by the next invocation's replay), but the viewer hears of it."""
        if self._closed:
            return
        task = asyncio.get_running_loop().create_task(self.flush())
        self._background.add(task)
        task.add_done_callback(self._flushed)

    def _flushed(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("saving executions failed", exc_info=task.exception())

    # -- touching ---------------------------------------------------------------------------

    def _touch(self, arn: str) -> None:
        self._touched[arn] = None
        self._generation += 1

    def _get(self, arn: str) -> ExecutionRecord:
        ex = super()._get(arn)
        self._touch(arn)
        return ex

    def _callback(self, callback_id: str) -> tuple[ExecutionRecord, Operation]:
        ex, op = super()._callback(callback_id)
        self._touch(ex.arn)
        return ex, op

    # -- the thread -------------------------------------------------------------------------

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def aclose(self) -> None:
        """Flush, close the database and stop its thread (idempotent)."""
        if self._closed:
            return
        if self._background:
            await asyncio.wait(list(self._background))
        try:
            await self.flush()
        finally:
            self._closed = True
            try:
                await self._in_thread(self._store.close)
            finally:
                self._pool.shutdown(wait=True)

    async def __aenter__(self) -> PersistentBackend:
        """The backend itself: `async with await PersistentBackend.open(path) as backend:`."""
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close the backend (see `aclose`)."""
        await self.aclose()
