"""The conformance handlers: one durable handler per requirement of AWS's conformance suite.

The contract every suite module follows
---------------------------------------

Each suite has one module here, named after the suite's folder in
`aws-durable-execution-conformance-tests` (`step.py`, `wait.py`, `child.py`, `callback.py`,
`invoke.py`, `wait_for_condition.py`, `wait_for_callback.py`, `parallel.py`, `map.py`,
`plugin.py`). A module exports two names:

- `HANDLERS: dict[str, DurableHandler[Any, Any]]`: the handler of each requirement, keyed by
  the requirement id (`"1-3"`, the YAML file's stem). Write each one as the YAML's `handler`
  and `invocations` prose describe it: the same operations in the same order, with the names,
  sub-types and payloads the `ExpectedExecutionHistory` shows. Handlers double as examples of
  the SDK, so keep them typed and readable.
- `TARGETS: dict[str, DurableHandler[Any, Any] | Callable[[Any], Any]]`: the functions the
  handlers reach with `ctx.invoke(...)`, keyed by the function name they pass to it: a durable
  handler (run as a child execution) or a plain function, sync or async, called with the
  decoded payload. Empty when the suite invokes nothing. Names must be unique across suites.

The event. A handler's `event` is the requirement's `Input`, placeholders resolved, and
nothing else: `"World"`, `{"name": "Alice", "tags": [...]}`, or `None` when the YAML's
`Input:` is empty. The suite writes `{"Input": ...}` to an event file, but its invoker sends
only the `Input` member as the Invoke payload, and so do both of our backends.

Logs. For requirements with `ExpectedLogs`, log with the standard `logging` module (any
logger, level INFO or above) or `print`. What an invocation logs is captured, attributed to
its execution, and served to the suite as CloudWatch would: one JSON record per line, with
the text in `message` and the level in `level` (see docs/conformance.md).

Crashes. A requirement that needs the Lambda process to die mid-invocation (the JavaScript
handlers call `process.exit`) calls `crash_invocation()`: the invocation ends at once, without
returning an output, and the backend records it as a failed invocation
(`Runtime.ExitError`) and invokes the function again. What was checkpointed before stays.

This package imports every suite module that exists and merges them into `REGISTRY`
(requirement id -> handler) and `TARGETS` (function name -> target). A suite module that fails
to import is left out, with the error in `LOAD_ERRORS`, so the other suites still run.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NoReturn

from durable_async import DurableHandler

__all__ = [
    "LOAD_ERRORS",
    "REGISTRY",
    "SUITES",
    "TARGETS",
    "InvocationCrashed",
    "Sandbox",
    "crash_invocation",
    "current_sandbox",
    "sandbox",
]

SUITES: tuple[str, ...] = (
    "step",
    "wait",
    "child",
    "callback",
    "invoke",
    "wait_for_condition",
    "wait_for_callback",
    "parallel",
    "map",
    "plugin",
)
"""The suite modules, in the order of the requirement ids (suite 1 is `step`)."""


# -- the simulated Lambda sandbox ------------------------------------------------------------


class InvocationCrashed(BaseException):
    """The Lambda process died: not an `Exception`, so no step, retry or `except` catches it."""


@dataclass
class Sandbox:
    """What the backend running one invocation needs to know about it."""

    execution_arn: str
    crashed: bool = False


_sandbox: ContextVar[Sandbox | None] = ContextVar("conformance_sandbox", default=None)


@contextlib.contextmanager
def sandbox(execution_arn: str) -> Iterator[Sandbox]:
    """Run one invocation of `execution_arn` in a (simulated) Lambda sandbox.

    Everything the invocation logs while the sandbox is current is attributed to the execution,
    and `crash_invocation()` marks it crashed. Used by the backends, not by handlers.
    """
    box = Sandbox(execution_arn)
    token = _sandbox.set(box)
    try:
        yield box
    finally:
        _sandbox.reset(token)


def current_sandbox() -> Sandbox | None:
    """The sandbox of the invocation running in this task or thread, if any."""
    return _sandbox.get()


def crash_invocation(reason: str = "the Lambda process exited") -> NoReturn:
    """End the current invocation as if its process had exited (`Runtime.ExitError`)."""
    box = _sandbox.get()
    if box is not None:
        box.crashed = True
    raise InvocationCrashed(reason)


# -- the registry ----------------------------------------------------------------------------


def _load() -> tuple[
    dict[str, DurableHandler[Any, Any]],
    dict[str, DurableHandler[Any, Any] | Callable[[Any], Any]],
    dict[str, str],
]:
    registry: dict[str, DurableHandler[Any, Any]] = {}
    targets: dict[str, DurableHandler[Any, Any] | Callable[[Any], Any]] = {}
    errors: dict[str, str] = {}
    for suite in SUITES:
        try:
            module = importlib.import_module(f"{__name__}.{suite}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{suite}":
                errors[suite] = f"{suite}.py does not import: {exc!r}"
            continue  # not written yet
        except Exception as exc:
            errors[suite] = f"{suite}.py does not import: {exc!r}"
            continue
        handlers: dict[str, DurableHandler[Any, Any]] = getattr(module, "HANDLERS", {})
        for requirement, handler in handlers.items():
            if requirement in registry:
                raise RuntimeError(f"requirement {requirement} has two handlers")
            registry[requirement] = handler
        suite_targets: dict[str, Any] = getattr(module, "TARGETS", {})
        for name, target in suite_targets.items():
            if name in targets and targets[name] is not target:
                raise RuntimeError(f"two suites define the invoke target {name!r}")
            targets[name] = target
    return registry, targets, errors


REGISTRY, TARGETS, LOAD_ERRORS = _load()
"""`REGISTRY`: requirement id -> handler; `TARGETS`: function name -> chained-invoke target;
`LOAD_ERRORS`: suite -> why its module could not be imported."""
