"""Where the command's answers to waiting callbacks come from: `--callback` flags, then
`--callback-timeout`, then a prompt on a terminal. A run with none of them stops at once and
names the callbacks (the runner's `CallbacksPendingError`)."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import TextIO

from .._answers import CallbackAnswer, describe
from .._models import ErrorObject, Operation
from .load import CliError

__all__ = ["Answers", "TerminalPrompt", "parse_answers"]

Prompt = Callable[[Operation], Awaitable[CallbackAnswer | None]]


def parse_answers(succeed: Sequence[str], fail: Sequence[str]) -> dict[str, list[CallbackAnswer]]:
    """`NAME=JSON` and `NAME=MESSAGE` flags, in order, by callback name (`*`: any callback).

    Raises:
        CliError: a flag has no `=`, or its JSON does not parse.
    """
    answers: dict[str, list[CallbackAnswer]] = {}
    for flag, values in (("--callback", succeed), ("--callback-fail", fail)):
        for value in values:
            name, sep, text = value.partition("=")
            if not sep or not name:
                raise CliError(f"{flag} expects NAME=VALUE, got {value!r}")
            if flag == "--callback":
                try:
                    json.loads(text)
                except ValueError as exc:
                    raise CliError(f"{flag} {name}: the result is not valid JSON: {exc}") from None
                answer = CallbackAnswer("succeed", payload=text)
            else:
                error = ErrorObject(error_type="CallbackError", error_message=text)
                answer = CallbackAnswer("fail", error=error)
            answers.setdefault(name, []).append(answer)
    return answers


class Answers:
    """The runner's `on_callback` hook for the command: flags first (each answers one callback
    of its name; the last one of a name answers every later one), then `--callback-timeout`,
    then the prompt; `None` when nothing answers."""

    def __init__(
        self,
        by_name: dict[str, list[CallbackAnswer]] | None = None,
        *,
        timeout_all: bool = False,
        prompt: Prompt | None = None,
    ) -> None:
        self._by_name = by_name or {}
        self._timeout_all = timeout_all
        self._prompt = prompt

    async def __call__(self, op: Operation) -> CallbackAnswer | None:
        """The answer to the waiting callback `op`."""
        for key in (op.name, "*"):
            queue = self._by_name.get(key or "")
            if queue:
                return queue.pop(0) if len(queue) > 1 else queue[0]
        if self._timeout_all:
            return CallbackAnswer.time_out()
        if self._prompt is not None:
            return await self._prompt(op)
        return None


class TerminalPrompt:
    """Asks on the terminal what to do with each waiting callback; "quit" is Ctrl-C.

    Input is read on a daemon thread, so Ctrl-C while a prompt waits ends the run at once.
    """

    def __init__(
        self,
        out: TextIO | None = None,
        read: Callable[[str], str] | None = None,
        before: Callable[[], None] | None = None,
    ) -> None:
        self._out = out or sys.stderr
        self._read = read or input
        self._before = before

    async def __call__(self, op: Operation) -> CallbackAnswer | None:
        """Ask until the answer is valid; `None` at the end of input."""
        if self._before is not None:
            self._before()
        print(f"\ncallback {describe(op)} is waiting.", file=self._out)
        while True:
            choice = await self._ask("[s]ucceed with a JSON result, [f]ail, [t]ime out, [q]uit: ")
            if choice is None:
                return None
            choice = choice.strip().lower()[:1]
            if choice == "s":
                text = await self._ask("result (JSON): ")
                if text is None:
                    return None
                try:
                    json.loads(text)
                except ValueError as exc:
                    print(f"not valid JSON: {exc}", file=self._out)
                    continue
                return CallbackAnswer("succeed", payload=text)
            if choice == "f":
                message = await self._ask("error message: ")
                return None if message is None else CallbackAnswer.fail(message)
            if choice == "t":
                return CallbackAnswer.time_out()
            if choice == "q":
                raise KeyboardInterrupt

    async def _ask(self, prompt: str) -> str | None:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[str | None] = loop.create_future()

        def read() -> None:
            try:
                value: str | None = self._read(prompt)
            except (EOFError, OSError, KeyboardInterrupt):
                value = None
            if not loop.is_closed():
                loop.call_soon_threadsafe(_settle, answer, value)

        threading.Thread(target=read, name="durable-async-prompt", daemon=True).start()
        return await answer


def _settle(fut: asyncio.Future[str | None], value: str | None) -> None:
    if not fut.done():
        fut.set_result(value)
