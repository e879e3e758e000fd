"""The stand-in service over HTTP, for the real-wire benchmarks (B5, B6).

    python -m benchmarks.endpoint --port 0 --latency 0.02

A small aiohttp server around `StubService` that speaks the two operations of the Lambda durable
execution API the SDKs call, in botocore's rest-json form, so every SDK reaches it through its own
real client (request signing, HTTP connection pool, JSON parsing and all):

- `CheckpointDurableExecution`: `POST /2025-12-01/durable-executions/{arn}/checkpoint`, a JSON
  body with `CheckpointToken`, `Updates` and `ClientToken`;
- `GetDurableExecutionState`: `GET /2025-12-01/durable-executions/{arn}/state?CheckpointToken=
  ...&Marker=...&MaxItems=...`.

Timestamps in responses are epoch seconds (numbers), as rest-json sends them. Errors are rest-json
too: an `x-amzn-ErrorType` header and a JSON body with `message`; a stale token is a 400
`InvalidParameterValueException` "Invalid checkpoint token ...". Signatures are not checked.

`--latency` is the service's response time: each API request is answered `--latency` seconds
after it arrived (`asyncio.sleep` for what the endpoint's own work left of it), or as soon as its
work is done if that took longer. A service's response time includes its processing; the
stand-in's processing (1 to 3 ms of Python for a full 250-update request) is an artifact of the
stand-in, so at 20 ms it stays inside the latency instead of adding to every call.

The driver of a benchmark uses the control routes (JSON in, JSON out, no latency):

- `POST /bench/start` `{"input": ...}`: create an execution; returns its first invocation event;
- `POST /bench/finish` `{"arn": ..., "output": ...}`: record what an invocation returned;
- `POST /bench/skip` `{"arn": ...}`: skip past the execution's timers; returns the next event;
- `POST /bench/reset`: zero the counters (after a warm-up);
- `GET /bench/stats`: the counters (`ServiceStats`), the seconds the endpoint spent answering
  API requests (latency excluded), and the `time.monotonic()` at which each execution's first
  checkpoint request (and first API request of any kind) was received.

It binds 127.0.0.1 only, prints `PORT <n>` once listening, and exits when its standard input
closes or on SIGTERM, so it never outlives the process that started it (`wire.running` starts
one). It runs in a process of its own, under the harness's interpreter: its CPU is not the
client's.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import sys
import time
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from .service import ServiceStats, StaleTokenError, StubService

__all__ = ["API_PREFIX", "Endpoint", "main", "serve"]

API_PREFIX = "/2025-12-01/durable-executions/"
_JSON = "application/json"


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.timestamp()  # rest-json: epoch seconds
    raise TypeError(f"cannot encode {type(value).__name__}")


def _dumps(value: Any) -> bytes:
    return json.dumps(value, default=_encode, separators=(",", ":")).encode()


def _error(status: int, code: str, message: str) -> web.Response:
    return web.Response(
        status=status,
        body=_dumps({"Type": "User" if status < 500 else "Service", "message": message}),
        content_type=_JSON,
        headers={"x-amzn-ErrorType": code},
    )


class Endpoint:
    """The request handler: the API routes and the control routes over one `StubService`."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.service = StubService()
        self.requests = 0
        self.busy = 0.0
        self.first_checkpoint: dict[str, float] = {}
        self.first_request: dict[str, float] = {}

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        path = request.raw_path.split("?", 1)[0]
        if path.startswith(API_PREFIX):
            return await self._api(request, path[len(API_PREFIX) :])
        if path.startswith("/bench/"):
            return await self._control(request, path[len("/bench/") :])
        return _error(404, "UnknownOperationException", f"no route for {path}")

    # -- the API -------------------------------------------------------------------------------

    async def _api(self, request: web.BaseRequest, rest: str) -> web.StreamResponse:
        received = time.monotonic()
        quoted, _, action = rest.rpartition("/")
        arn = unquote(quoted)
        self.requests += 1
        self.first_request.setdefault(arn, received)
        began = time.perf_counter()
        try:
            response = await self._answer(request, arn, action, received)
        finally:
            self.busy += time.perf_counter() - began
        left = self.latency - (time.monotonic() - received)
        if left > 0:
            await asyncio.sleep(left)
        return response

    async def _answer(
        self, request: web.BaseRequest, arn: str, action: str, received: float
    ) -> web.StreamResponse:
        body = await request.read() if request.can_read_body else b""
        try:
            if action == "checkpoint" and request.method == "POST":
                self.first_checkpoint.setdefault(arn, received)
                args = json.loads(body) if body else {}
                out = self.service.checkpoint(
                    arn, str(args.get("CheckpointToken", "")), list(args.get("Updates") or [])
                )
            elif action == "state" and request.method == "GET":
                query = request.rel_url.query
                out = self.service.get_state(
                    arn, query.get("CheckpointToken", ""), query.get("Marker") or None
                )
            else:
                return _error(404, "UnknownOperationException", f"{request.method} {action}")
        except StaleTokenError as exc:
            return _error(400, "InvalidParameterValueException", f"Invalid checkpoint token: {exc}")
        except KeyError as exc:
            return _error(404, "ResourceNotFoundException", f"no durable execution {exc}")
        except (ValueError, TypeError) as exc:
            return _error(400, "InvalidParameterValueException", str(exc))
        return web.Response(body=_dumps(out), content_type=_JSON)

    # -- the driver's routes ---------------------------------------------------------------------

    async def _control(self, request: web.BaseRequest, name: str) -> web.StreamResponse:
        body = await request.read() if request.can_read_body else b""
        args: dict[str, Any] = json.loads(body) if body else {}
        service = self.service
        out: Any
        try:
            if name == "start":
                out = service.event(service.start(args.get("input")))
            elif name == "finish":
                service.finish(args["arn"], args.get("output") or {})
                out = {}
            elif name == "skip":
                fired = service.skip_time(args["arn"])
                out = {"fired": fired, "event": service.event(args["arn"])}
            elif name == "reset":
                service.stats = ServiceStats()
                self.requests = 0
                self.busy = 0.0
                self.first_checkpoint.clear()
                self.first_request.clear()
                out = {}
            elif name == "stats":
                out = {
                    **service.stats.as_dict(),
                    "requests": self.requests,
                    "endpoint_busy_s": self.busy,
                    "latency": self.latency,
                    "first_checkpoint": self.first_checkpoint,
                    "first_request": self.first_request,
                }
            else:
                return _error(404, "UnknownOperationException", f"no control route {name}")
        except KeyError as exc:
            return _error(404, "ResourceNotFoundException", f"missing {exc}")
        return web.Response(body=_dumps(out), content_type=_JSON)


async def serve(port: int, latency: float) -> None:
    """Listen on 127.0.0.1:`port` until stdin closes or SIGTERM arrives."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    server = web.Server(Endpoint(latency), access_log=None)
    listener = await loop.create_server(server, "127.0.0.1", port)
    bound = listener.sockets[0].getsockname()[1]
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    stdin = sys.stdin.fileno()

    def on_stdin() -> None:
        try:
            data = os.read(stdin, 4096)
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(stdin)
            stop.set()

    loop.add_reader(stdin, on_stdin)
    sys.stdout.write(f"PORT {bound}\n")
    sys.stdout.flush()
    await stop.wait()
    listener.close()
    await server.shutdown(0.5)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.endpoint", description=__doc__)
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to API requests")
    args = ap.parse_args(argv)
    asyncio.run(serve(args.port, args.latency))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
