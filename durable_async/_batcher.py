"""Group commit of checkpoint updates: one request in flight, FIFO, bounded batches.

A caller blocked on its own update (a step result, a wait start) triggers an immediate flush; only
fire-and-forget updates (observability STARTs) may wait up to `window` seconds to coalesce. While a
request is in flight, new updates queue and go out together in the next request as soon as it
returns. Each blocking caller awaits a future of its own update, resolved only after the response's
new state has been applied (with a `lookup`, it resolves to the operation's new state).

When a response arrives with a full request already queued, that request leaves at once and the
response is applied while it is in flight (responses are still applied in order, each before its
waiters resume); otherwise the batcher lets the woken tasks run one loop hop first, so their
follow-up updates ride in the next request. A full request with nothing in flight makes the
batcher `backlogged`: durable operations about to start yield to the loop once, so the request
leaves before the rest of a large fan-out is set up.

An update is referenced only while it is queued: once its request is sent, the batcher keeps just
its id, so a fan-out of thousands of operations does not keep thousands of sent updates alive.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

from ._backends.protocol import Backend
from ._compact import Compactor
from ._errors import StaleCheckpointTokenError, SuspendExecution
from ._lineage import spawn
from ._models import Operation, OperationUpdate

_Waiter = asyncio.Future[Any]
_Settlement = tuple[list[Operation] | None, list[tuple[_Waiter, str]], list[asyncio.Future[None]]]

__all__ = ["CheckpointBatcher"]

MAX_UPDATES = 250
MAX_BYTES = 750 * 1024
DEFAULT_WINDOW = 0.002


def _utf8_len(text: str) -> int:
    """The UTF-8 size of `text`; for ASCII (most payloads) `isascii` reads a flag, no copy."""
    return len(text) if text.isascii() else len(text.encode())


def _size(update: OperationUpdate) -> int:
    """The bytes `update` adds to a request: its strings as UTF-8 (a character count would let
    non-ASCII text, 2 to 4 bytes a character, overflow the request), plus 200 for the ids, the
    sub-type and the envelope."""
    size = 200 + (len(update.name) if update.name else 0)  # names are ASCII: checked at the call
    if update.payload:
        size += _utf8_len(update.payload)
    error = update.error
    if error is not None:
        for text in (error.error_type, error.error_message, error.error_data):
            if text:
                size += _utf8_len(text)
        if error.stack_trace:
            size += sum(_utf8_len(line) + 4 for line in error.stack_trace)
    return size


class CheckpointBatcher:
    """Sends checkpoint updates of one execution, coalescing what can wait.

    Args:
        backend: the service.
        execution_arn: the execution.
        token: the invocation's first checkpoint token.
        apply_state: called with the operations of every response, before waiters resume.
        on_idle: called whenever the queue empties and no request is in flight.
        window: how long fire-and-forget updates may wait to coalesce, in seconds.
        lookup: the operation of an id after a response was applied; when given, the future of
            a blocking update resolves to its operation (and fails with `SuspendExecution` if the
            service did not return it), else to `None`.
    """

    def __init__(
        self,
        backend: Backend,
        execution_arn: str,
        token: str,
        *,
        apply_state: Callable[[list[Operation]], None],
        on_idle: Callable[[], None] = lambda: None,
        window: float = DEFAULT_WINDOW,
        lookup: Callable[[str], Operation | None] | None = None,
    ) -> None:
        self._backend = backend
        self._arn = execution_arn
        self.token: str | None = token
        self._apply_state = apply_state
        self._on_idle = on_idle
        self.window = window
        self._lookup = lookup
        self._compact = Compactor()
        self._loop = asyncio.get_running_loop()
        self._queue: deque[tuple[OperationUpdate, _Waiter | None, int]] = deque()
        self._pollers: list[asyncio.Future[None]] = []
        # Responses not yet applied, in order: (operations, waiters, pollers).
        self._unsettled: deque[_Settlement] = deque()
        self._urgent = False
        self._in_flight = False
        self._timer: asyncio.TimerHandle | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.failure: BaseException | None = None
        self.closed = False

    @property
    def idle(self) -> bool:
        """True when nothing is queued, no request is in flight and every response is applied."""
        return not self._queue and not self._in_flight and not self._pollers and not self._unsettled

    @property
    def backlogged(self) -> bool:
        """A full request is queued and none is in flight: it should leave before more work."""
        return len(self._queue) >= MAX_UPDATES and not self._in_flight and self.failure is None

    def queue(self, update: OperationUpdate) -> None:
        """Queue a fire-and-forget `update`: it leaves with the next request, or when its
        window ends."""
        self._admit(update)
        self._queue.append((update, None, _size(update)))
        if len(self._queue) >= MAX_UPDATES:
            self._kick()  # a full request does not wait for the window
        elif self._timer is None and not self._urgent:
            self._timer = self._loop.call_later(self.window, self._window_ended)

    def submit(self, update: OperationUpdate) -> _Waiter:
        """Queue `update`, flush now, and return a future of its acknowledgement."""
        self._admit(update)
        fut = self._loop.create_future()
        self._queue.append((update, fut, _size(update)))
        self._urgent = True
        self._kick()
        return fut

    def _admit(self, update: OperationUpdate) -> None:
        self._check_open()
        if len(self._queue) >= MAX_UPDATES:
            self._compact(update)  # it waits at least one round trip, maybe behind thousands

    def poll(self) -> asyncio.Future[None]:
        """Ask for a request even with nothing queued, to read state the service changed."""
        self._check_open()
        fut: asyncio.Future[None] = self._loop.create_future()
        self._pollers.append(fut)
        self._kick()
        return fut

    async def drain(self) -> None:
        """Send everything queued now and wait until the batcher is idle."""
        if self._queue:
            self._urgent = True
            self._kick()
        while not self.idle and self.failure is None:
            try:
                await self.poll()
            except SuspendExecution:
                return

    def _check_open(self) -> None:
        if self.failure is not None:
            raise SuspendExecution(f"checkpointing failed: {self.failure}")
        if self.closed:
            raise SuspendExecution("the invocation has ended: nothing more is checkpointed")

    def close(self) -> None:
        """Stop the flusher and refuse new updates; queued fire-and-forget updates are
        dropped."""
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
        if self._flusher is not None:
            self._flusher.cancel()

    def release(self) -> None:
        """Let go of the flusher task and whatever is queued (after `close`, at the end)."""
        self._queue.clear()
        self._pollers = []
        self._timer = None
        self._flusher = None
        self._compact.clear()

    def _window_ended(self) -> None:
        self._timer = None
        self._urgent = True  # what waited for the window leaves now
        self._kick()

    def _kick(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wake.set()
        flusher = self._flusher
        if flusher is None or flusher.done():
            self._flusher = spawn(self._run(), detached=True)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._has_request() and self.failure is None:
                if not await self._send_batch():
                    continue
                if len(self._queue) >= MAX_UPDATES and len(self._unsettled) == 1:
                    # A full request is waiting: send it at once, and take in this response
                    # while it is in flight (in order, before any later response). A backend
                    # that answered without yielding to the loop gets no such overlap: its
                    # responses are taken in here, two at a time at most.
                    self._loop.call_soon(self._settle)
                    continue
                if len(self._queue) >= MAX_UPDATES:
                    self._settle()
                    continue
                self._settle()
                # Let the tasks this response woke queue their follow-up updates, so they
                # ride in the next request instead of the one after it.
                await asyncio.sleep(0)
            if self._queue and self._timer is None and not self._urgent and self.failure is None:
                # Fire-and-forget updates left behind (a full request took the ones before
                # them): they wait for their window from now on.
                self._timer = self._loop.call_later(self.window, self._window_ended)
            if self.idle:
                self._on_idle()

    def _has_request(self) -> bool:
        """Whether a request should leave now: a blocking update, a poll, a full request, or
        fire-and-forget updates whose window has run out. (Fire-and-forget updates queued by
        the tasks a response woke wait for their window, like any others.)"""
        queue = self._queue
        return bool(self._pollers) or bool(queue and (self._urgent or len(queue) >= MAX_UPDATES))

    def _take_batch(self) -> tuple[list[OperationUpdate], list[tuple[_Waiter, str]]]:
        """The next request's updates (FIFO, bounded by count and bytes) and their waiters."""
        batch: list[OperationUpdate] = []
        waiters: list[tuple[_Waiter, str]] = []
        size = 0
        queue = self._queue
        while queue and len(batch) < MAX_UPDATES:
            update, fut, n = queue[0]
            if batch and size + n > MAX_BYTES:
                break
            queue.popleft()
            batch.append(update)
            size += n
            if fut is not None:
                waiters.append((fut, update.id))
        if not queue:
            self._urgent = False
        return batch, waiters

    async def _send_batch(self) -> bool:
        """Send the next request; queue its response for `_settle` (False if it failed)."""
        batch, waiters = self._take_batch()
        pollers, self._pollers = self._pollers, []
        self._in_flight = True
        try:
            if self.token is None:
                raise StaleCheckpointTokenError("the execution's checkpoint token was revoked")
            response = await self._backend.checkpoint(self._arn, self.token, batch)
        except BaseException as exc:
            self._in_flight = False
            self._fail(exc, [fut for fut, _ in waiters] + pollers)
            if not isinstance(exc, Exception):
                raise
            return False
        del batch  # sent: the updates are not needed any more
        self._in_flight = False
        self.token = response.checkpoint_token
        state = response.new_execution_state
        self._unsettled.append((state.operations if state else None, waiters, pollers))
        return True

    def _settle(self) -> None:
        """Apply the responses received so far, in order, then resolve their waiters."""
        lookup = self._lookup
        while self._unsettled:
            operations, waiters, pollers = self._unsettled.popleft()
            if operations is not None:
                self._apply_state(operations)
            for fut, op_id in waiters:
                if fut.done():
                    continue
                if lookup is None:
                    fut.set_result(None)
                    continue
                op = lookup(op_id)
                if op is None:  # a service that acknowledged without returning the operation
                    fut.set_exception(
                        SuspendExecution(f"the service did not return operation {op_id}")
                    )
                else:
                    fut.set_result(op)
            for poller in pollers:
                if not poller.done():
                    poller.set_result(None)

    def _fail(self, exc: BaseException, waiters: list[asyncio.Future[Any]]) -> None:
        self._settle()  # what was acknowledged before the failure stands
        self.failure = exc
        waiters += [fut for _, fut, _ in self._queue if fut is not None]
        waiters += self._pollers
        self._queue.clear()
        self._pollers = []
        # Waiters end as cancelled: user code cannot catch a checkpoint failure and go on; the
        # runtime reads `failure` and decides the invocation's outcome.
        for fut in waiters:
            if not fut.done():
                fut.set_exception(SuspendExecution(f"checkpointing failed: {exc}"))
        self._on_idle()
