"""Durations for waits and retry delays: whole seconds, at least one."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Union

from ._errors import ValidationError

__all__ = ["Duration", "DurationLike", "to_seconds"]

MAX_SECONDS = 31_622_400  # the service's upper bound for WaitSeconds and NextAttemptDelaySeconds


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


def to_seconds(value: DurationLike, *, what: str = "duration") -> int:
    """Convert a duration to whole seconds, checking the service's bounds (1..31,622,400).

    Raises:
        ValidationError: the value is not a duration, is fractional, or is out of bounds.
    """
    if isinstance(value, Duration):
        seconds: float = value.seconds
    elif isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value
    else:
        raise ValidationError(
            f"{what} must be seconds, a timedelta or a Duration, got {type(value).__name__}"
        )
    if not math.isfinite(seconds) or seconds != int(seconds):
        raise ValidationError(f"{what} must be a whole number of seconds, got {seconds!r}")
    if not 1 <= seconds <= MAX_SECONDS:
        raise ValidationError(
            f"{what} must be between 1 and {MAX_SECONDS} seconds, got {seconds!r}"
        )
    return int(seconds)
