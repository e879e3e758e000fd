"""The local server: the durable execution API, Invoke and the viewer in one aiohttp app, on a
persistent emulated service, driving the executions of the functions it serves."""

from __future__ import annotations

import ipaddress
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from .._clock import Clock, SkippingClock, SystemClock
from .api import add_api_routes
from .core import ServerCore
from .feed import ChangeFeed
from .functions import Function, SubprocessHandler, classify
from .persistent import PersistentBackend
from .viewer import add_viewer_routes
from .wire import error_response

__all__ = ["DEFAULT_DB", "DurableServer"]

DEFAULT_DB = Path(".durable") / "executions.db"
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
_log = logging.getLogger("durable_async.server")


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class DurableServer:
    """A local stand-in for the Lambda durable execution service, with a web viewer.

    It serves the durable execution API (checkpoint, state, executions, history, callbacks,
    stop) and Lambda's Invoke for its functions over HTTP, so any client given its `url` as
    endpoint works: this SDK's `AwsBackend`, boto3, the AWS CLI. Executions persist in SQLite
    and resume when the server starts again. The viewer is at `url`.

    Args:
        functions: the functions to serve by name: a `@durable_execution` handler (run in
            this process), another SDK's durable handler (run in a subprocess), a plain
            function (sync or async, called with the payload), or a `FILE.py:HANDLER` /
            `MODULE:HANDLER` string naming one of those.
        db: the SQLite file executions persist in (created with its folder).
        host: the address to listen on. Anything but loopback needs `allow_remote`.
        port: the port (`0`: any free one; see `url`).
        skip_time: skip waits and retry delays (the clock jumps ahead) instead of waiting in
            real time.
        subprocess: run every durable function in a subprocess, as Lambda would, rather than
            on the server's event loop (needs functions given as strings).
        allow_remote: allow a non-loopback `host`. The server has no authentication: anyone
            who reaches it can read every execution and drive it.

    Example:
        ```python
        async with DurableServer({"approval": handler}, db="runs.db") as server:
            backend = AwsBackend(endpoint_url=server.url)
        ```
    """

    def __init__(
        self,
        functions: Mapping[str, Any],
        *,
        db: str | os.PathLike[str] = DEFAULT_DB,
        host: str = "127.0.0.1",
        port: int = 0,
        skip_time: bool = False,
        subprocess: bool = False,
        allow_remote: bool = False,
    ) -> None:
        if not _is_loopback(host) and not allow_remote:
            raise ValueError(
                f"host {host!r} is not loopback: the server has no authentication, so binding "
                "it elsewhere needs allow_remote=True (--allow-remote)"
            )
        self.functions = [self._function(name, obj, subprocess) for name, obj in functions.items()]
        self.db = Path(db)
        self.host = host
        self.port = port
        self.clock: Clock = SkippingClock() if skip_time else SystemClock()
        self.url = ""
        self.feed: ChangeFeed | None = None
        self.backend: PersistentBackend | None = None
        self.core: ServerCore | None = None
        self.resumed = 0
        self.started_in = 0.0
        self._runner: web.AppRunner | None = None

    @staticmethod
    def _function(name: str, obj: Any, subprocess: bool) -> Function:
        spec: str | None = None
        if isinstance(obj, Function):
            return obj
        if isinstance(obj, str):
            from .._cli.load import load_object

            spec, obj = obj, load_object(obj)
            if not callable(obj) and not hasattr(obj, "invoke_output"):
                raise TypeError(f"{spec} is a {type(obj).__name__}, not a function")
        return classify(name, obj, spec, subprocess=subprocess)

    async def start(self) -> str:
        """Open the database, resume pending executions, start listening; return the URL."""
        began = time.perf_counter()
        self.feed = ChangeFeed()
        self.backend = backend = await PersistentBackend.open(
            self.db, clock=self.clock, feed=self.feed
        )
        self.core = core = ServerCore(backend, self.functions, persist=backend.flush)
        app = web.Application(
            client_max_size=8 * 1024 * 1024, middlewares=[_same_origin_only(self)]
        )
        add_api_routes(app, core)
        add_viewer_routes(app, backend, self.feed, after_change=backend.flush)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        address = self._runner.addresses[0]
        host = f"[{address[0]}]" if ":" in address[0] else address[0]
        self.url = f"http://{host}:{address[1]}"
        for function in self.functions:
            if isinstance(function.target, SubprocessHandler):
                function.target.service_url = self.url
        self.resumed = core.resume_all()
        self.started_in = time.perf_counter() - began
        return self.url

    async def aclose(self) -> None:
        """Stop driving executions, stop listening, and close the database. Executions keep
        their state and resume at the next start."""
        if self.core is not None:
            await self.core.aclose()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.backend is not None:
            await self.backend.aclose()
            self.backend = None

    async def __aenter__(self) -> DurableServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _same_origin_only(server: DurableServer) -> Any:
    """Refuse what a web page of another site could make a browser send: a request naming a
    host that is not the server's loopback name (DNS rebinding), and a change whose `Origin`
    is not the server's own page."""

    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
        if _is_loopback(server.host) and not _is_loopback(host):
            return error_response("AccessDeniedException", f"host {host!r} is not served here")
        origin = request.headers.get("Origin")
        changes = request.method not in ("GET", "HEAD", "OPTIONS")
        if changes and origin is not None and origin != f"{request.scheme}://{request.host}":
            return error_response("AccessDeniedException", f"requests from {origin} are refused")
        return await handler(request)

    return middleware
