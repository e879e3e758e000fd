"""The viewer app served on 127.0.0.1 by its own event loop in a background thread.

For browser tests and the docs screenshot: the browser (Playwright's sync API) runs on the
test's thread, the server and the workflows it shows on the harness's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from durable_async._server.feed import ChangeFeed
from durable_async._server.viewer import add_viewer_routes
from durable_async.testing import MemoryBackend, RunningExecution

T = TypeVar("T")

Setup = Callable[["ViewerServer"], Awaitable[None]]


class ViewerServer:
    """Serves the viewer over a `MemoryBackend` until the `with` block ends.

    `setup(server)` runs on the server's loop once it listens: start workflows there with
    `LocalRunner(handler, backend=server.backend).start(...)` and hand each to `follow()`, so
    the viewer hears when it ends. `call(fn)` runs a coroutine function on that loop.
    """

    def __init__(self, setup: Setup | None = None, *, backend: MemoryBackend | None = None) -> None:
        self.backend = backend or MemoryBackend()
        self.url = ""
        self._setup = setup
        self.feed: ChangeFeed | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._thread = threading.Thread(target=self._serve, name="viewer-server", daemon=True)

    def __enter__(self) -> ViewerServer:
        self._thread.start()
        self._ready.wait(timeout=20)
        if self._error is not None:
            self._thread.join(timeout=20)
            raise RuntimeError("the viewer server did not start") from self._error
        if not self.url:
            raise RuntimeError("the viewer server did not start in time")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout=20)
        if self._thread.is_alive():
            raise RuntimeError("the viewer server did not stop")
        if self._error is not None and kind is None:
            raise RuntimeError("the viewer server failed") from self._error

    def call(self, fn: Callable[[], Coroutine[Any, Any, T]], timeout: float = 20) -> T:
        """Run `fn()` on the server's loop and return its result."""
        assert self._loop is not None
        future: Future[T] = asyncio.run_coroutine_threadsafe(fn(), self._loop)
        return future.result(timeout)

    def follow(self, run: RunningExecution) -> None:
        """Publish the execution's end on the feed once `run` ends (call on the server's loop)."""

        async def wait_for_the_end() -> None:
            with contextlib.suppress(Exception):  # the viewer shows how it ended
                await run.result()
            self.publish([run.execution_arn])

        task = asyncio.get_running_loop().create_task(wait_for_the_end())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def publish(self, arns: list[str] | None = None) -> None:
        """Tell the viewer that `arns` (default: every execution) changed."""
        assert self.feed is not None
        self.feed.publish(self.backend.executions() if arns is None else arns)

    def _serve(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.feed = ChangeFeed()

        async def after_change() -> None:
            self.publish()

        app = web.Application()
        add_viewer_routes(app, self.backend, self.feed, after_change=after_change)
        runner = web.AppRunner(app)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            host, port = runner.addresses[0][:2]
            if self._setup is not None:
                await self._setup(self)
            self.url = f"http://{host}:{port}/"
            self._ready.set()
            await self._stop.wait()
        finally:
            await runner.cleanup()
