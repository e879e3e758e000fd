"""The web viewer of `durable-async serve`: a page at `/` and the JSON API it reads and drives.

The page (plain HTML, CSS and JavaScript from `static/`, no build step) lists the executions of
the emulated service, shows one as a live timeline with its history, and answers its pending
callbacks or stops it. Live updates come from `/viewer/api/events`, a server-sent event stream
fed by the server's `ChangeFeed`.

The actions (`POST /viewer/api/...`) only accept `Content-Type: application/json`, which a web
page can only send to another origin after a CORS preflight this server never answers, and they
refuse a request whose `Origin` is not the server's own: another web site open in the browser
cannot drive them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import web

from .._backends.memory.service import MemoryBackend
from .._errors import CheckpointRejectedError
from .._models import ErrorObject
from .feed import ChangeFeed

__all__ = ["KEEPALIVE_SECONDS", "add_viewer_routes"]

KEEPALIVE_SECONDS = 15.0
"""How often an idle event stream sends a comment line, so proxies and browsers keep it open
and a client that went away is noticed."""

_ASSETS = {
    "index.html": "text/html",
    "app.js": "text/javascript",
    "style.css": "text/css",
}
"""The files under `static/` the server hands out, with their media types: nothing else."""

_PAGE_HEADERS = {
    # No inline script or style, nothing from elsewhere: payload text can never run as code.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

_CALLBACK_ACTIONS = ("succeed", "fail", "heartbeat")


def add_viewer_routes(
    app: web.Application,
    backend: MemoryBackend,
    feed: ChangeFeed,
    *,
    after_change: Callable[[], Awaitable[None]],
    keepalive: float = KEEPALIVE_SECONDS,
) -> None:
    """Add the viewer's page, assets and API to `app`.

    Args:
        app: the server's application (the routes are added to its router).
        backend: the emulated service whose executions the viewer shows and drives.
        feed: the change feed the event stream follows.
        after_change: awaited after each action (callback answer, stop) has changed the
            backend, so the change is persisted and published on `feed`.
        keepalive: seconds between the comment lines of an idle event stream.
    """
    closing = asyncio.Event()

    async def page(request: web.Request) -> web.StreamResponse:
        return _asset("index.html")

    async def static(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in _ASSETS:
            raise web.HTTPNotFound(text="no such file")
        return _asset(name)

    async def list_executions(request: web.Request) -> web.StreamResponse:
        status = request.query.get("status", "").strip().upper()
        function = request.query.get("function", "").strip()
        needle = request.query.get("q", "").strip().lower()
        found = []
        for arn in reversed(backend.executions()):
            summary = _summary(backend, arn)
            if status and summary["status"] != status:
                continue
            if function and summary["function"] != function:
                continue
            if needle and needle not in summary["name"].lower() and needle not in arn.lower():
                continue
            found.append(summary)
        return web.json_response(found)

    async def execution(request: web.Request) -> web.StreamResponse:
        arn = request.query.get("arn")
        if not arn:
            return _error(400, "give the execution's ARN: ?arn=...")
        if arn not in backend.executions():
            return _error(404, f"no execution {arn}")
        return web.json_response(_detail(backend, arn))

    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        version = feed.version
        try:
            await response.write(f"retry: 2000\n: version {version}\n\n".encode())
            while not closing.is_set():
                await _next_change(feed, version, closing, keepalive)
                if closing.is_set():
                    break
                if feed.version > version:
                    arns = feed.since(version)
                    version = feed.version
                    data = {"version": version, "arns": None if arns is None else sorted(arns)}
                    await response.write(f"data: {json.dumps(data)}\n\n".encode())
                else:
                    await response.write(b": keepalive\n\n")
        except ConnectionResetError:  # the client went away
            pass
        return response

    async def callback(request: web.Request) -> web.StreamResponse:
        action = request.match_info["action"]
        if action not in _CALLBACK_ACTIONS:
            return _error(
                404, f"unknown callback action {action!r}: {', '.join(_CALLBACK_ACTIONS)}"
            )
        body = await _json_body(request)
        if isinstance(body, web.Response):
            return body
        callback_id = body.get("callbackId")
        if not isinstance(callback_id, str) or not callback_id:
            return _error(400, "callbackId must be a non-empty string")
        try:
            if action == "succeed":
                backend.send_callback_success(callback_id, json.dumps(body.get("payload")))
            elif action == "fail":
                error = _error_object(body, "errorType", "errorMessage")
                if isinstance(error, web.Response):
                    return error
                backend.send_callback_failure(callback_id, error)
            else:
                backend.send_callback_heartbeat(callback_id)
        except CheckpointRejectedError as exc:
            return _rejected(exc)
        await after_change()
        return web.json_response({"ok": True, "action": action, "callbackId": callback_id})

    async def stop(request: web.Request) -> web.StreamResponse:
        body = await _json_body(request)
        if isinstance(body, web.Response):
            return body
        arn = body.get("arn")
        if not isinstance(arn, str) or not arn:
            return _error(400, "arn must be a non-empty string")
        if arn not in backend.executions():
            return _error(404, f"no execution {arn}")
        message = body.get("errorMessage")
        if message is not None and not isinstance(message, str):
            return _error(400, "errorMessage must be a string")
        error = ErrorObject(error_type="Stopped", error_message=message) if message else None
        try:
            backend.stop_execution(arn, error)
        except CheckpointRejectedError as exc:
            return _rejected(exc, conflict=True)
        await after_change()
        return web.json_response({"ok": True, "arn": arn, "status": "STOPPED"})

    async def wake_streams(app: web.Application) -> None:
        closing.set()

    app.on_shutdown.append(wake_streams)
    app.router.add_get("/", page)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/viewer/api/executions", list_executions)
    app.router.add_get("/viewer/api/execution", execution)
    app.router.add_get("/viewer/api/events", events)
    app.router.add_post("/viewer/api/callback/{action}", callback)
    app.router.add_post("/viewer/api/stop", stop)


# -- reading the backend ----------------------------------------------------------------------


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _plain(value: Any) -> Any:
    """`value` with every datetime in it turned into an ISO 8601 string."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _now(backend: MemoryBackend) -> dt.datetime:
    return dt.datetime.fromtimestamp(backend.clock.now(), tz=dt.UTC)


def _summary(backend: MemoryBackend, arn: str) -> dict[str, Any]:
    """One row of the execution list."""
    info = backend.get_execution(arn)
    start: dt.datetime = info["StartTimestamp"]
    end: dt.datetime | None = info.get("EndTimestamp")
    until = end if end is not None else _now(backend)
    return {
        "arn": arn,
        "name": info["DurableExecutionName"],
        "function": backend.function_of(arn),
        "status": info["Status"],
        "start": _iso(start),
        "end": _iso(end),
        "duration": max(0.0, (until - start).total_seconds()),
    }


def _detail(backend: MemoryBackend, arn: str) -> dict[str, Any]:
    """An execution with its operations, history, input, result and error."""
    info = backend.get_execution(arn)
    first = backend.execution_op(arn)
    details = first.execution_details
    return {
        **_summary(backend, arn),
        "now": _iso(_now(backend)),
        "input": details.input_payload if details else None,
        "result": info.get("Result"),
        "error": info.get("Error"),
        "operations": [
            op.model_dump(mode="json", by_alias=True, exclude_none=True)
            for op in backend.operations(arn)
        ],
        "history": _plain(backend.history(arn)),
    }


async def _next_change(
    feed: ChangeFeed, version: int, closing: asyncio.Event, keepalive: float
) -> None:
    """Return when `feed` moves past `version`, `closing` is set, or `keepalive` seconds pass."""
    changed = asyncio.ensure_future(feed.wait(version))
    closed = asyncio.ensure_future(closing.wait())
    try:
        await asyncio.wait(
            (changed, closed), timeout=keepalive, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for task in (changed, closed):
            task.cancel()
        await asyncio.gather(changed, closed, return_exceptions=True)


# -- answering ----------------------------------------------------------------------------------


def _asset(name: str) -> web.Response:
    data = resources.files(__package__).joinpath("static", name).read_bytes()
    return web.Response(
        body=data, content_type=_ASSETS[name], charset="utf-8", headers=_PAGE_HEADERS
    )


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _rejected(exc: CheckpointRejectedError, *, conflict: bool = False) -> web.Response:
    """The service's refusal as a 4xx: 404 for what is not (or no longer) there."""
    if exc.code == "ResourceNotFoundException":
        return _error(409 if conflict else 404, str(exc))
    return _error(400, str(exc))


async def _json_body(request: web.Request) -> dict[str, Any] | web.Response:
    """The request's JSON object, or the refusal to answer with.

    Refused: a body that is not `application/json` (a cross-site form or a "simple" `fetch`
    could send that without a preflight), a request from another origin, and anything that is
    not a JSON object.
    """
    if request.content_type != "application/json":
        return _error(415, "send the body as Content-Type: application/json")
    origin = request.headers.get("Origin")
    if origin is not None and origin.lower() != f"{request.scheme}://{request.host}".lower():
        return _error(403, f"requests from {origin} are refused")
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "the body is not valid JSON")
    if not isinstance(body, dict):
        return _error(400, "the body must be a JSON object")
    return body


def _error_object(
    body: dict[str, Any], type_key: str, message_key: str
) -> ErrorObject | web.Response:
    error_type, message = body.get(type_key), body.get(message_key)
    for key, value in ((type_key, error_type), (message_key, message)):
        if value is not None and not isinstance(value, str):
            return _error(400, f"{key} must be a string")
    return ErrorObject(error_type=error_type or None, error_message=message or None)
