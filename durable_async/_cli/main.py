"""The `durable-async` command: run durable handlers locally on the embedded backend, or serve
them (`serve`).

Exit status: 0 the execution SUCCEEDED, 1 it FAILED, 2 the command was called wrongly (or the
user's module cannot be imported), 3 it is still pending (callbacks nothing answers, or a
runaway loop), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .load import CliError
from .run import run_command
from .serve import add_serve_parser, serve_command
from .show import runs_command, show_command

__all__ = ["EXIT_INTERRUPTED", "EXIT_USAGE", "main"]

EXIT_USAGE = 2
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
    _output_options(run)
    run.add_argument("--no-save", action="store_true", help="do not keep the run for `show`")
    for flag, metavar, what in (
        ("--callback", "NAME=JSON", "succeed the callback named NAME ('*': any) with a result"),
        ("--callback-fail", "NAME=MESSAGE", "fail the callback named NAME ('*': any)"),
    ):
        run.add_argument(flag, action="append", default=[], metavar=metavar, help=what)
    run.add_argument(
        "--callback-timeout", action="store_true", help="let unanswered callbacks time out"
    )
    run.add_argument(
        "--max-invocations",
        type=int,
        default=1000,
        help="stop a workflow still running after this many invocations (default 1000)",
    )
    show = sub.add_parser("show", help="show a kept run again (default: the latest)")
    show.add_argument("run", nargs="?", help="a run's file, or the start of its name")
    _output_options(show)
    runs = sub.add_parser("runs", help="list the kept runs")
    runs.add_argument("--last", type=int, default=20, help="how many (default 20)")
    add_serve_parser(sub)
    return parser


def _output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--no-color", action="store_true", help="never colour the output")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `durable-async` command; returns the exit status."""
    args = _parser().parse_args(argv)
    command = {
        "run": run_command,
        "show": show_command,
        "runs": runs_command,
        "serve": serve_command,
    }[args.command]
    try:
        return command(args)
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
