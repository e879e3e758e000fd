"""The runner behind the pytest plugin's replay check: each `run()` runs the workflow twice, live
and replayed at every checkpoint, and fails when the two runs end differently."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from .._backends.memory.service import MemoryBackend
from .._clock import ManualClock
from .._handler import DurableHandler
from .._local import LocalRunner
from .._run_result import RunResult
from ._assertions import _error_text, _show

__all__ = ["ReplayCheckedRunner"]

_ADVICE: Final = (
    "Code outside steps must make the same durable calls, in the same order, on every replay: "
    "it may depend on its input and on the results of durable operations, not on module "
    "state, time or randomness read outside a step."
)


class ReplayCheckedRunner(LocalRunner):
    """A `LocalRunner` whose `run()` also runs the workflow with `always_replay=True`.

    Each of the two runs has a backend of its own, on a `ManualClock` starting at the same
    instant. `run()` asserts both ended with the same status, result and error type, and
    returns the live run's `RunResult`; the replayed run's is kept in `replayed`. `start()` and
    `resume()` drive the live run only.
    """

    def __init__(self, handler: DurableHandler[Any, Any], **options: Any) -> None:
        clock = ManualClock()
        super().__init__(handler, backend=MemoryBackend(clock=clock), **options)
        twin = MemoryBackend(clock=ManualClock(start=clock.now()))
        self.replay_runner = LocalRunner(handler, backend=twin, always_replay=True, **options)
        self.replay_runner.functions = self.functions  # `register()` serves both runs
        self.replayed: RunResult | None = None

    async def run(self, input: Any = None, *, name: str | None = None) -> RunResult:
        """Run the execution live, then replayed at every checkpoint; return the live result.

        Raises:
            AssertionError: the two runs ended with a different status, result or error type,
                or the replayed run raised.
        """
        live = await super().run(input, name=name)
        try:
            replayed = await self.replay_runner.run(input, name=name)
        except Exception as exc:
            raise AssertionError(
                "durable_replay: the live run ended, but the run replayed at every checkpoint "
                f"(always_replay=True) raised {type(exc).__name__}: {exc}\n"
                f"  live: {live.status.value}, result {_show(live.result)}, "
                f"error {_error_text(live.error)}\n{_ADVICE}"
            ) from exc
        self.replayed = replayed
        rows: list[tuple[str, Any, Any, Callable[[Any], str]]] = [
            ("status", live.status.value, replayed.status.value, str),
            ("result", live.result, replayed.result, _show),
            ("error type", _error_type(live), _error_type(replayed), str),
        ]
        if all(a == b for _, a, b, _ in rows):
            return live
        lines: list[str] = []
        for field, a, b, show in rows:
            shown_a, shown_b = show(a), show(b)
            if a == b:
                lines.append(f"  {field} (both): {shown_a}")
            else:
                lines.append(f"  {field} differs:")
                lines.append(f"    live:     {shown_a}\n    replayed: {shown_b}")
        if live.error or replayed.error:
            lines.append(
                f"  errors:\n    live:     {_error_text(live.error)}\n"
                f"    replayed: {_error_text(replayed.error)}"
            )
        raise AssertionError(
            "durable_replay: replayed at every checkpoint (always_replay=True), the workflow "
            "ended differently from the live run\n" + "\n".join(lines) + f"\n{_ADVICE}"
        )


def _error_type(result: RunResult) -> str | None:
    return result.error.error_type if result.error else None
