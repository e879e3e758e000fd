"""The `durable-async` command: run a durable handler locally on the embedded backend.

Exit status: 0 the execution SUCCEEDED, 1 it FAILED, 2 the command was called wrongly (or the
user's module cannot be imported), 3 it is still pending (callbacks nothing answers, or a
runaway loop), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import threading
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TextIO

from .._answers import CallbacksPendingError, describe
from .._errors import DurableError
from .._handler import DurableHandler
from .._local import LocalRunner
from .._models import InvocationStatus
from .._run_result import RunResult
from .answers import Answers, TerminalPrompt, parse_answers
from .load import CliError, load_handler, where
from .progress import Progress
from .render import TIMES_NOTE, format_error, format_history, to_json

__all__ = ["EXIT_FAILED", "EXIT_PENDING", "EXIT_USAGE", "main"]

EXIT_SUCCEEDED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PENDING = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


def _version() -> str:
    try:
        return version("durable-async")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="durable-async",
        description="Run durable_async workflows locally.",
        epilog="exit status: 0 succeeded, 1 failed, 2 usage error, 3 still pending, "
        "130 interrupted",
    )
    parser.add_argument("--version", action="version", version=f"durable-async {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="run a handler to its end on the embedded backend, skipping waits",
        description="Run a handler to its end on the embedded backend, skipping waits.",
    )
    run.add_argument("target", help="FILE.py:HANDLER or MODULE:HANDLER")
    source = run.add_mutually_exclusive_group()
    source.add_argument("--input", help="the execution input as JSON; '-' reads it from stdin")
    source.add_argument("--input-file", type=Path, help="read the execution input from a file")
    run.add_argument("--json", action="store_true", help="print one JSON document")
    run.add_argument("--no-color", action="store_true", help="never colour the output")
    run.add_argument(
        "--callback",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="succeed the callback named NAME ('*': any) with a JSON result; repeatable",
    )
    run.add_argument(
        "--callback-fail",
        action="append",
        default=[],
        metavar="NAME=MESSAGE",
        help="fail the callback named NAME ('*': any) with a message; repeatable",
    )
    run.add_argument(
        "--callback-timeout",
        action="store_true",
        help="let callbacks nothing else answers time out",
    )
    run.add_argument(
        "--max-invocations",
        type=int,
        default=1000,
        help="stop a workflow still running after this many invocations (default 1000)",
    )
    return parser


def _read_input(args: argparse.Namespace) -> Any:
    if args.input_file is not None:
        try:
            text, source = args.input_file.read_text(), str(args.input_file)
        except OSError as exc:
            raise CliError(f"cannot read --input-file: {exc}") from None
    elif args.input == "-":
        text, source = sys.stdin.read(), "stdin"
    else:
        text, source = (args.input if args.input is not None else "null"), "--input"
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CliError(f"the input ({source}) is not valid JSON: {exc}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `durable-async` command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except CliError as exc:
        print(f"durable-async: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ndurable-async: interrupted", file=sys.stderr)
        if argv is None:  # the command itself, not a caller in the same process
            _leave_running_bodies(EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): say nothing more, and let Python's exit-time flush
        # of stdout find /dev/null rather than the closed pipe.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _leave_running_bodies(status: int) -> None:
    """Exit now if a step body still runs in a worker thread: a thread cannot be stopped, and
    the interpreter would wait for it before exiting, so Ctrl-C would seem to do nothing."""
    if any(
        thread.is_alive() and not thread.daemon
        for thread in threading.enumerate()
        if thread is not threading.main_thread()
    ):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _run(args: argparse.Namespace) -> int:
    payload = _read_input(args)
    if args.max_invocations < 1:
        raise CliError("--max-invocations must be at least 1")
    handler = load_handler(args.target)
    by_name = parse_answers(args.callback, args.callback_fail)
    terminal = sys.stdin.isatty() and sys.stderr.isatty()
    try:
        result, wall = asyncio.run(_drive(handler, payload, args, by_name, terminal))
    except CallbacksPendingError as exc:
        if exc.reason:
            print(f"durable-async: {exc}", file=sys.stderr)
            return EXIT_PENDING
        names = ", ".join(describe(op) for op in exc.pending)
        example = exc.pending[0].name or "*" if exc.pending else "NAME"
        print(
            f"durable-async: the execution is waiting on {len(exc.pending)} callback(s) nothing "
            f"answers: {names}. Answer with --callback {example}=JSON, --callback-fail "
            f"{example}=MESSAGE or --callback-timeout, or run in a terminal to be asked",
            file=sys.stderr,
        )
        return EXIT_PENDING
    except DurableError as exc:  # the runner gave up: a runaway loop
        print(f"durable-async: {exc}", file=sys.stderr)
        return EXIT_PENDING
    out = sys.stdout
    if args.json:
        print(to_json(result, wall), file=out)
    else:
        _report(result, handler, wall, out, colour=out.isatty() and not args.no_color)
    out.flush()
    return EXIT_SUCCEEDED if result.status is InvocationStatus.SUCCEEDED else EXIT_FAILED


async def _drive(
    handler: DurableHandler[Any, Any],
    payload: Any,
    args: argparse.Namespace,
    by_name: dict[str, Any],
    terminal: bool,
) -> tuple[RunResult, dict[str, float]]:
    progress: Progress | None = None
    prompt = None
    if terminal:
        prompt = TerminalPrompt(before=lambda: progress.pause() if progress else None)
    runner = LocalRunner(
        handler,
        max_invocations=args.max_invocations,
        on_callback=Answers(by_name, timeout_all=args.callback_timeout, prompt=prompt),
        unawaited="warn",
    )
    running = runner.start(payload, wait_for_answers=False)
    drawing = None
    if terminal and not args.json:
        progress = Progress(runner.backend, sys.stderr)
        progress.arn = running.execution_arn
        drawing = asyncio.get_running_loop().create_task(progress.run())
    try:
        result = await running.result()
    finally:
        if drawing is not None:
            drawing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drawing
    return result, runner.backend.wall_times(result.execution_arn)


def _report(
    result: RunResult,
    handler: DurableHandler[Any, Any],
    wall: dict[str, float],
    out: TextIO,
    *,
    colour: bool,
) -> None:
    print(f"status: {result.status.value} after {result.invocations} invocation(s)", file=out)
    if result.error is not None:
        hint = None
        if (result.error.error_message or "").startswith("the handler's result"):
            hint = f"the handler is defined at {where(handler.fn)}"
        print(format_error(result.error, hint=hint), file=out)
    else:
        print(f"result: {json.dumps(result.result)}", file=out)
    print(file=out)
    print(format_history(result.operations, colour=colour, wall=wall), file=out)
    print(f"\n{TIMES_NOTE}", file=out)
