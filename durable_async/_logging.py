"""The SDK's loggers: `ctx.logger` and `durable_async.logger`, which put the durable identity of
the code that logs on every record, and stay silent while that code replays.

Every record carries, in its `extra` (so as attributes of the `LogRecord`, and as keys of the
JSON a structured logger such as Powertools' writes):

- `executionArn`: the execution;
- `replaying`: whether the code that logs re-runs an earlier invocation's code;
- inside a step body: `operationId`, `operationName` and `attempt` (counting from 1);
- in a child context (and its map items and parallel branches): `parentId`, the context's id.

The keys are the official Python SDK's, so queries written for its records (a CloudWatch
filter on `$.executionArn`, say) find ours too.

`set_logger()` chooses what records go through: a `logging.Logger` (the default is the
`durable_async` one), a `LoggerAdapter`, or any logger with the same methods, such as
Powertools' `Logger`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ._task_context import current_runtime, current_step

__all__ = ["DurableLogger", "LoggerLike", "get_logger", "logger", "set_logger"]


class LoggerLike(Protocol):
    """What `set_logger` accepts: the logging methods of `logging.Logger`."""

    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> Any: ...
    def info(self, msg: Any, *args: Any, **kwargs: Any) -> Any: ...
    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> Any: ...
    def error(self, msg: Any, *args: Any, **kwargs: Any) -> Any: ...
    def exception(self, msg: Any, *args: Any, **kwargs: Any) -> Any: ...
    def critical(self, msg: Any, *args: Any, **kwargs: Any) -> Any: ...


_target: LoggerLike = logging.getLogger("durable_async")


def set_logger(target: LoggerLike) -> LoggerLike:
    """Send the SDK's records (`ctx.logger`, `durable_async.logger`) through `target`; return
    the logger used before.

    Example:
        ```python
        from aws_lambda_powertools import Logger
        import durable_async

        durable_async.set_logger(Logger(service="orders"))
        ```
    """
    global _target
    previous, _target = _target, target
    return previous


def get_logger() -> LoggerLike:
    """The logger the SDK's records go through (see `set_logger`)."""
    return _target


_LEVELS = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
    logging.CRITICAL: "critical",
}


class DurableLogger:
    """Logs like `logging.Logger` (`debug` ... `critical`, `exception`, `log`), adding the
    durable identity of the code that logs, and dropping records while it replays.

    `fields()` gives the identity of the context; inside a step body the step's own
    (`operationId`, `operationName`, `attempt`) is added. `replaying()` says whether the
    context's code re-runs an earlier invocation's; a step body never replays.
    """

    def __init__(
        self,
        fields: Callable[[], dict[str, Any]],
        replaying: Callable[[], bool],
    ) -> None:
        self._fields = fields
        self._replaying = replaying

    def _extra(self) -> dict[str, Any] | None:
        step = current_step.get()
        if step is not None:
            return {
                **self._fields(),
                "executionArn": step.runtime.arn,
                "operationId": step.operation_id,
                "operationName": step.name,
                "attempt": step.attempt,
                "replaying": False,
            }
        if self._replaying():
            return None
        return {**self._fields(), "replaying": False}

    def isEnabledFor(self, level: int) -> bool:
        """False while the code that logs replays; otherwise as the target logger says."""
        if current_step.get() is None and self._replaying():
            return False
        check = getattr(_target, "isEnabledFor", None)
        return bool(check(level)) if check is not None else True

    def _emit(self, method: str, msg: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        extra = self._extra()
        if extra is None:
            return
        given: Mapping[str, Any] | None = kwargs.pop("extra", None)
        kwargs["extra"] = {**extra, **given} if given else extra
        kwargs.setdefault("stacklevel", 3)
        getattr(_target, method)(msg, *args, **kwargs)

    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """Log at DEBUG."""
        self._emit("debug", msg, args, kwargs)

    def info(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """Log at INFO."""
        self._emit("info", msg, args, kwargs)

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """Log at WARNING."""
        self._emit("warning", msg, args, kwargs)

    def error(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """Log at ERROR."""
        self._emit("error", msg, args, kwargs)

    def exception(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """Log at ERROR with the exception being handled."""
        self._emit("exception", msg, args, kwargs)

    def critical(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        """Log at CRITICAL."""
        self._emit("critical", msg, args, kwargs)

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        """Log at `level` (one of `logging`'s levels)."""
        method = _LEVELS.get(level)
        if method is None:
            raise ValueError(f"unknown log level {level!r}")
        self._emit(method, msg, args, kwargs)


def _ambient_fields() -> dict[str, Any]:
    runtime = current_runtime.get()
    return {} if runtime is None else {"executionArn": runtime.arn}


logger = DurableLogger(_ambient_fields, lambda: False)
"""A logger for code that has no `ctx` at hand, step bodies above all: inside a step body its
records carry the step's identity (`executionArn`, `operationId`, `operationName`, `attempt`);
elsewhere in handler code, the execution's ARN; outside durable code, nothing added. Unlike
`ctx.logger` it does not know which context's replay it is in, so outside step bodies it logs
on replay too."""
