"""The pytest plugin of durable_async: fixtures that run workflows locally with time skipped, a
replay check, and assertions on what a run did.

pytest loads it through the package's `pytest11` entry point (named `durable_async`) once
durable_async is installed; `-p no:durable_async` turns it off. It is loaded in every pytest
session, so importing it stays cheap: the runner and the clock are imported when a fixture is
used.

- `durable_runner`: `durable_runner(handler, **options)` builds a `LocalRunner` on a new
  `MemoryBackend` and `ManualClock`. With the replay check on, its `run()` runs the workflow
  live and with `always_replay=True` and asserts both end the same.
- `manual_clock`: a new `ManualClock`.
- `@pytest.mark.durable_replay` (one test, class or module) and the ini option
  `durable_replay = true` (the whole suite) turn the replay check on;
  `@pytest.mark.durable_replay(False)` turns it off for one test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Protocol

import pytest

from ._assertions import (
    OperationLookupError,
    assert_failed,
    assert_operation,
    assert_ran_once,
    assert_succeeded,
    find_operation,
    operation_paths,
)

if TYPE_CHECKING:
    from .._clock import ManualClock
    from .._handler import DurableHandler
    from .._local import LocalRunner

__all__ = [
    "DurableRunnerFactory",
    "OperationLookupError",
    "assert_failed",
    "assert_operation",
    "assert_ran_once",
    "assert_succeeded",
    "find_operation",
    "operation_paths",
]

_OPTION: Final = "durable_replay"
_MARKER_HELP: Final = (
    "durable_replay(enabled=True): durable_runner's runners run each execution live and "
    "replayed at every checkpoint (always_replay=True), and fail the test when the two end "
    "differently; durable_replay(False) turns the check off for this test"
)
_INI_HELP: Final = (
    "turn durable_replay's replay check on for every test that uses durable_runner (a marker "
    "on a test overrides it)"
)


class DurableRunnerFactory(Protocol):
    """The `durable_runner` fixture: builds a `LocalRunner` for a durable handler.

    `options` are `LocalRunner`'s keyword arguments. `replay` turns the replay check on or off
    for this runner (default: the `durable_replay` marker, else the `durable_replay` ini
    option).
    """

    def __call__(
        self, handler: DurableHandler[Any, Any], /, *, replay: bool | None = None, **options: Any
    ) -> LocalRunner:
        """Build a runner for `handler`."""
        ...


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the `durable_replay` ini option."""
    parser.addini(_OPTION, help=_INI_HELP, type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    """Register the `durable_replay` marker (so `--strict-markers` accepts it)."""
    config.addinivalue_line("markers", _MARKER_HELP)


@pytest.fixture
def durable_runner(request: pytest.FixtureRequest) -> DurableRunnerFactory:
    """A factory of local runners: `durable_runner(handler, **options) -> LocalRunner`.

    Each runner has a `MemoryBackend` of its own on a `ManualClock`, so waits and retry delays
    take no time. With the replay check on (`@pytest.mark.durable_replay`, the
    `durable_replay` ini option, or `replay=True`), `run()` also runs the workflow with
    `always_replay=True` on a second backend, asserts both runs end with the same status,
    result and error type, and returns the live run's result. A runner given its own
    `backend=`, or `always_replay=True`, is a plain `LocalRunner`.
    """
    checked = _replay_requested(request)

    def make(
        handler: DurableHandler[Any, Any], /, *, replay: bool | None = None, **options: Any
    ) -> LocalRunner:
        from .._local import LocalRunner

        check = checked if replay is None else replay
        if replay and options.get("backend") is not None:
            raise ValueError(
                "durable_runner(replay=True) runs the workflow on backends of its own; "
                "it takes no backend="
            )
        if not check or options.get("backend") is not None or options.get("always_replay"):
            return LocalRunner(handler, **options)
        from ._replay_check import ReplayCheckedRunner

        return ReplayCheckedRunner(handler, **options)

    return make


@pytest.fixture
def manual_clock() -> ManualClock:
    """A new `ManualClock`: time moves only with `advance()` and `advance_to()`."""
    from .._clock import ManualClock

    return ManualClock()


def _replay_requested(request: pytest.FixtureRequest) -> bool:
    """Whether the test asks for the replay check: its closest marker, else the ini option."""
    marker = request.node.get_closest_marker(_OPTION)
    if marker is None:
        return bool(request.config.getini(_OPTION))
    args = dict(marker.kwargs)
    if marker.args:
        args.setdefault("enabled", marker.args[0])
    enabled = args.pop("enabled", True)
    if len(marker.args) > 1 or args or not isinstance(enabled, bool):
        raise TypeError(
            f"expected @pytest.mark.durable_replay, durable_replay(True) or "
            f"durable_replay(False); found durable_replay(*{marker.args!r}, **{marker.kwargs!r})"
        )
    return enabled
