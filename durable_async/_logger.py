"""`ctx.logger`: a logger whose records are dropped while the context replays."""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from typing import Any

__all__ = ["ReplayAwareLogger"]


class ReplayAwareLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Logs like `logging.Logger`, but stays silent while its context replays history.

    Records carry `execution_arn` in their `extra`, so log processors can correlate them.
    """

    def __init__(
        self, logger: logging.Logger, execution_arn: str, replaying: Callable[[], bool]
    ) -> None:
        super().__init__(logger, {"execution_arn": execution_arn})
        self._replaying = replaying

    def isEnabledFor(self, level: int) -> bool:
        """False while replaying; otherwise as the underlying logger says."""
        return not self._replaying() and self.logger.isEnabledFor(level)

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        """Attach the execution's identity to the record."""
        kwargs["extra"] = {**self.extra, **kwargs.get("extra", {})}  # type: ignore[dict-item]
        return msg, kwargs
