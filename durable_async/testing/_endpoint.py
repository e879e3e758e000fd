"""The Lambda Invoke API serving our functions: what AWS's local runner invokes.

`LambdaEndpoint` serves `POST /2015-03-31/functions/{name}/invocations`, an `aiohttp.web` app
on its own thread and event loop. A durable function's invocation runs
`handler.invoke_async(event, None, backend=AwsBackend(endpoint_url=<service>))`, so every
checkpoint crosses HTTP through our aiobotocore client; a plain function is called with the
payload. A function that raises is answered as Lambda answers it (`X-Amz-Function-Error`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import threading
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .._handler import DurableHandler
from .._invocations import Around, FunctionError, Invocation

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["CALL_TIMEOUT", "DUMMY_KEY", "HOST", "REGION", "LambdaEndpoint"]

HOST = "127.0.0.1"
REGION = "us-east-1"
DUMMY_KEY = "testing"
CALL_TIMEOUT = 10.0  # starting or stopping the endpoint (or the runner)
_INVOKE_ROUTE = "/2015-03-31/functions/{name}/invocations"

T = TypeVar("T")
OnError = Callable[[str, Exception], None]


def _error_body(exc: Exception) -> dict[str, Any]:
    """The body of Lambda's answer to an Invoke whose function raised `exc`.

    The stack trace holds the last three frames, formatted as the Python runtime does; a
    `FunctionError` has none.
    """
    if isinstance(exc, FunctionError):
        return {"errorType": exc.error_type, "errorMessage": exc.message, "stackTrace": []}
    frames = traceback.format_list(traceback.extract_tb(exc.__traceback__))
    return {"errorType": type(exc).__name__, "errorMessage": str(exc), "stackTrace": frames[-3:]}


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


class LambdaEndpoint:
    """The Lambda Invoke API serving our functions, on its own thread and event loop.

    Every durable invocation shares one `AwsBackend` pointed at the service, as in a warm
    sandbox. A durable invocation that raises is recorded (`errors`, `on_error`) and answered
    as a function error; so is a plain function's exception, without being recorded (a target
    that fails is a normal outcome). An unknown function is answered 404
    `ResourceNotFoundException`.

    Args:
        durable: durable handlers by function name.
        plain: plain functions (sync or async, called with the payload) by function name.
        around: runs each invocation: `await around(invocation, call)` must await `call()`
            and return its result, or raise (`FunctionError` to choose the error answered).
            Use it to run invocations in a context of your own (log capture, crash
            simulation).
        on_error: called with the function name and the exception when a durable
            invocation raised.
        region: the region of the `AwsBackend`'s client, and of the runner serving it.
    """

    def __init__(
        self,
        durable: Mapping[str, DurableHandler[Any, Any]],
        plain: Mapping[str, Callable[[Any], Any]] | None = None,
        *,
        around: Around | None = None,
        on_error: OnError | None = None,
        region: str = REGION,
    ) -> None:
        self.durable = dict(durable)
        self.plain = dict(plain or {})
        self.around = around
        self.on_error = on_error
        self.region = region
        self.service_url = ""
        self.url = ""
        self.invocations: list[tuple[str, str]] = []  # (durable function, output status)
        self.errors: list[str] = []  # "function: exception" of every durable invocation raised
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._app_runner: web.AppRunner | None = None
        self._backend: Any = None

    def start(self, service_url: str) -> str:
        """Start serving, with checkpoints going to `service_url`; return the endpoint's URL.

        A stopped endpoint can start again (on a new port).
        """
        if self._loop is not None and not self._loop.is_closed():
            raise RuntimeError("the endpoint is already running")
        self.service_url = service_url
        self._loop = loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._run, args=(loop,), name="lambda-endpoint", daemon=True
        )
        self._thread.start()
        try:
            self.url = self._call(self._setup())
        except BaseException:
            self.stop()
            raise
        return self.url

    def stop(self) -> None:
        """Stop serving, close the client and end the thread (each step bounded in time)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or loop.is_closed():
            return
        if thread.is_alive():
            with contextlib.suppress(Exception):
                self._call(self._teardown())
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=CALL_TIMEOUT)
        if not thread.is_alive():
            loop.close()

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(CALL_TIMEOUT)

    async def _setup(self) -> str:
        from aiohttp import web

        from ..aws import AwsBackend, Credentials

        self._backend = AwsBackend(
            endpoint_url=self.service_url,
            region_name=self.region,
            credentials=Credentials(DUMMY_KEY, DUMMY_KEY),
        )
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post(_INVOKE_ROUTE, self._invoke)
        self._app_runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._app_runner.setup()
        await web.TCPSite(self._app_runner, HOST, 0).start()
        return f"http://{HOST}:{self._app_runner.addresses[0][1]}"

    async def _teardown(self) -> None:
        if self._app_runner is not None:
            await self._app_runner.cleanup()
        if self._backend is not None:
            await self._backend.aclose()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)

    async def _invoke(self, request: web.Request) -> web.Response:
        from aiohttp import web

        name = request.match_info["name"].split(":", 1)[0]  # a qualified name routes by name
        body = await request.read()
        invocation = Invocation(name, json.loads(body) if body else None, name in self.durable)
        call = self._call_for(invocation)
        if call is None:
            return web.json_response(
                {"Type": "User", "Message": f"Function not found: {name}"},
                status=404,
                headers={"x-amzn-ErrorType": "ResourceNotFoundException"},
            )
        try:
            value = await (call() if self.around is None else self.around(invocation, call))
        except Exception as exc:
            if invocation.durable and not isinstance(exc, FunctionError):
                self.errors.append(f"{name}: {exc!r}")
                if self.on_error is not None:
                    self.on_error(name, exc)
            return web.json_response(
                _error_body(exc), headers={"X-Amz-Function-Error": "Unhandled"}
            )
        if invocation.durable and isinstance(value, dict):
            self.invocations.append((name, str(value.get("Status"))))
        return web.json_response(value, dumps=_dumps)

    def _call_for(self, invocation: Invocation) -> Callable[[], Awaitable[Any]] | None:
        """What runs the function: `None` for a function the endpoint does not serve."""
        payload = invocation.payload
        handler = self.durable.get(invocation.function)
        if handler is not None:
            event = payload if isinstance(payload, dict) else {}
            return lambda: handler.invoke_async(event, None, backend=self._backend)
        fn = self.plain.get(invocation.function)
        if fn is None:
            return None

        async def call() -> Any:
            value = fn(payload)
            return await value if inspect.isawaitable(value) else value

        return call
