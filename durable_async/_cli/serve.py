"""`durable-async serve`: the local durable-functions server, until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path
from typing import Any

from .load import CliError

__all__ = ["add_serve_parser", "serve_command", "split_spec"]


def add_serve_parser(sub: Any) -> None:
    """Add the `serve` subcommand to the command's subparsers."""
    serve = sub.add_parser(
        "serve",
        help="serve the durable execution API, Invoke and a web viewer for your handlers",
        description="Serve handlers as Lambda durable functions on a local stand-in for the "
        "service, with a web viewer. Executions persist in SQLite and resume on restart.",
    )
    serve.add_argument(
        "functions",
        nargs="+",
        metavar="[NAME=]TARGET",
        help="FILE.py:HANDLER or MODULE:HANDLER, served as NAME (default: the file or module name)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=9014, help="port (default 9014; 0: any)")
    serve.add_argument(
        "--db",
        type=Path,
        default=None,
        help="the SQLite file executions persist in (default .durable/executions.db)",
    )
    serve.add_argument(
        "--skip-time", action="store_true", help="skip waits and retry delays instead of waiting"
    )
    serve.add_argument(
        "--subprocess",
        action="store_true",
        help="run each invocation in a subprocess, as Lambda would",
    )
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host other than loopback (the server has no authentication)",
    )


def split_spec(spec: str) -> tuple[str, str]:
    """`NAME=TARGET` or `TARGET` → (name, target); the default name is the file's stem or the
    module's last part."""
    name, sep, target = spec.partition("=")
    if sep:
        if not name:
            raise CliError(f"empty function name in {spec!r}")
        return name, target
    path = spec.rpartition(":")[0]
    if not path:
        raise CliError(f"expected [NAME=]FILE.py:HANDLER or [NAME=]MODULE:HANDLER, got {spec!r}")
    stem = Path(path).stem if path.endswith(".py") or "/" in path else path.rpartition(".")[2]
    return stem, spec


def serve_command(args: argparse.Namespace) -> int:
    """Run the server until interrupted; exit status 0."""
    from .._server.app import DEFAULT_DB, DurableServer

    functions: dict[str, str] = {}
    for spec in args.functions:
        name, target = split_spec(spec)
        if name in functions:
            raise CliError(f"two functions named {name!r}: name one with NAME=TARGET")
        functions[name] = target
    try:
        server = DurableServer(
            functions,
            db=args.db or DEFAULT_DB,
            host=args.host,
            port=args.port,
            skip_time=args.skip_time,
            subprocess=args.subprocess,
            allow_remote=args.allow_remote,
        )
    except (ValueError, TypeError) as exc:
        raise CliError(str(exc)) from None
    if args.allow_remote:
        print(
            f"durable-async: warning: serving on {args.host} without authentication: anyone "
            "who reaches it can read and drive every execution",
            file=sys.stderr,
        )
    asyncio.run(_serve(server))
    return 0


async def _serve(server: Any) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await server.start()
    except OSError as exc:
        raise CliError(f"cannot listen on {server.host}:{server.port}: {exc.strerror}") from None
    names = ", ".join(f"{f.name} ({f.kind})" for f in server.functions)
    print(f"durable-async serve: {server.url}  (viewer and API)", flush=True)
    print(f"  functions: {names}", flush=True)
    print(f"  database:  {server.db}  ({server.resumed} running execution(s) resumed)", flush=True)
    print("  Ctrl-C stops; executions resume at the next start", flush=True)
    try:
        await stop.wait()
    finally:
        await server.aclose()
