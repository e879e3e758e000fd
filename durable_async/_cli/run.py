"""`durable-async run`: run a handler to its end on the embedded backend and report it."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from typing import Any

from .._answers import CallbacksPendingError, describe
from .._errors import DurableError
from .._handler import DurableHandler
from .._local import LocalRunner
from .._models import InvocationStatus
from .._run_result import RunResult
from .answers import Answers, TerminalPrompt, parse_answers
from .load import CliError, load_handler, where
from .progress import Progress
from .render import format_report, to_json
from .saved import save_run

__all__ = ["EXIT_FAILED", "EXIT_PENDING", "EXIT_SUCCEEDED", "run_command", "status_code"]

EXIT_SUCCEEDED = 0
EXIT_FAILED = 1
EXIT_PENDING = 3


def status_code(status: str) -> int:
    """The exit status for an execution's status."""
    return EXIT_SUCCEEDED if status == InvocationStatus.SUCCEEDED.value else EXIT_FAILED


def read_input(args: argparse.Namespace) -> Any:
    """The execution input from `--input` (JSON, or `-` for stdin) or `--input-file`.

    Raises:
        CliError: the file cannot be read, or the text is not JSON.
    """
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


def run_command(args: argparse.Namespace) -> int:
    """Run the handler; print the report (or the JSON document) and keep the run."""
    payload = read_input(args)
    if args.max_invocations < 1:
        raise CliError("--max-invocations must be at least 1")
    handler = load_handler(args.target)
    by_name = parse_answers(args.callback, args.callback_fail)
    terminal = sys.stdin.isatty() and sys.stderr.isatty()
    try:
        result, wall = asyncio.run(_drive(handler, payload, args, by_name, terminal))
    except CallbacksPendingError as exc:
        print(f"durable-async: {_unanswered(exc)}", file=sys.stderr)
        return EXIT_PENDING
    except DurableError as exc:  # the runner gave up: a runaway loop
        print(f"durable-async: {exc}", file=sys.stderr)
        return EXIT_PENDING
    document = to_json(result, wall)
    if not args.no_save:
        save_run(document, result.execution_arn.rsplit("/", 2)[-2])
    out = sys.stdout
    if args.json:
        print(document, file=out)
    else:
        hint = None
        if result.error and (result.error.error_message or "").startswith("the handler's result"):
            hint = f"the handler is defined at {where(handler.fn)}"
        colour = out.isatty() and not args.no_color
        print(format_report(json.loads(document), wall, hint=hint, colour=colour), file=out)
    out.flush()
    return status_code(result.status.value)


def _unanswered(exc: CallbacksPendingError) -> str:
    if exc.reason:
        return str(exc)
    names = ", ".join(describe(op) for op in exc.pending)
    example = exc.pending[0].name or "*" if exc.pending else "NAME"
    return (
        f"the execution is waiting on {len(exc.pending)} callback(s) nothing answers: {names}. "
        f"Answer with --callback {example}=JSON, --callback-fail {example}=MESSAGE or "
        "--callback-timeout, or run in a terminal to be asked"
    )


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
