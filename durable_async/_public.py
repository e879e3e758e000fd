"""Public names carry the module users import them from, in reprs, tracebacks and pickles."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["publish"]


def publish(namespace: dict[str, Any], names: Iterable[str], module: str) -> None:
    """Set `__module__` to `module` on the classes and functions `names` re-exports from a
    private module (`durable_async._errors.StepError` shows as `durable_async.StepError`)."""
    for name in names:
        obj = namespace[name]
        home = getattr(obj, "__module__", None) or ""
        private = any(part.startswith("_") for part in home.split("."))
        ours = home.startswith("durable_async")
        if (isinstance(obj, type) or callable(obj)) and ours and private:
            obj.__module__ = module
