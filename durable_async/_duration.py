"""Durations for waits and retry delays: whole seconds, at least one."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Union

from ._errors import ValidationError
from ._limits import WAIT_SECONDS

__all__ = ["MAX_SECONDS", "Duration", "DurationLike", "to_capped_seconds", "to_seconds"]

MAX_SECONDS = WAIT_SECONDS.max  # the bound of WaitSeconds and NextAttemptDelaySeconds


@dataclass(frozen=True, order=True)
class Duration:
    """A span of time in whole seconds.

    Example:
        ```python
        await ctx.wait(Duration.minutes(5))
        ```
    """

    seconds: int

    @classmethod
    def of(cls, *, days: int = 0, hours: int = 0, minutes: int = 0, seconds: int = 0) -> Duration:
        """Build a duration from parts."""
        return cls(((days * 24 + hours) * 60 + minutes) * 60 + seconds)

    @classmethod
    def minutes(cls, n: int) -> Duration:
        """`n` minutes."""
        return cls(n * 60)

    @classmethod
    def hours(cls, n: int) -> Duration:
        """`n` hours."""
        return cls(n * 3600)

    @classmethod
    def days(cls, n: int) -> Duration:
        """`n` days."""
        return cls(n * 86400)


DurationLike = Union[int, float, dt.timedelta, Duration]
"""Seconds as a number, a `datetime.timedelta`, or a `Duration`."""


def to_seconds(value: DurationLike, *, what: str = "duration", maximum: int = MAX_SECONDS) -> int:
    """Convert a duration to whole seconds, checking the service's bounds (1..`maximum`,
    31,622,400 unless the value has a bound of its own, such as a callback's timeout).

    Raises:
        ValidationError: the value is not a duration, is fractional, or is out of bounds.
    """
    return _bounded(_as_seconds(value, what), what, maximum)


def to_capped_seconds(value: DurationLike, *, what: str = "duration") -> int:
    """Like `to_seconds`, but a value above the service's maximum (infinity included) means the
    maximum, 31,622,400 s: for upper bounds such as a retry policy's `max_delay`.

    Raises:
        ValidationError: the value is not a duration, is NaN, fractional, or below 1 s.
    """
    seconds = _as_seconds(value, what)
    return MAX_SECONDS if seconds > MAX_SECONDS else _bounded(seconds, what)


def _as_seconds(value: DurationLike, what: str) -> float:
    if isinstance(value, Duration):
        return value.seconds
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    raise ValidationError(
        f"{what} must be seconds, a timedelta or a Duration, got {type(value).__name__}"
    )


def _bounded(seconds: float, what: str, maximum: int = MAX_SECONDS) -> int:
    if isinstance(seconds, float) and not (math.isfinite(seconds) and seconds.is_integer()):
        raise ValidationError(f"{what} must be a whole number of seconds, got {seconds!r}")
    if not 1 <= seconds <= maximum:
        raise ValidationError(f"{what} must be between 1 and {maximum} seconds, got {seconds!r}")
    return int(seconds)
