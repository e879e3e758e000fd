"""The `durable-async` command (see `main`): loading the handler, answering callbacks, the
progress line and the report."""

from __future__ import annotations

from .main import main
from .render import format_error, format_history

__all__ = ["format_error", "format_history", "main"]
