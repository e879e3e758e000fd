"""Retry policies for steps: exponential backoff with jitter, and presets."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Union

from ._duration import MAX_SECONDS, DurationLike, to_capped_seconds, to_seconds
from ._errors import ValidationError

__all__ = [
    "Jitter",
    "RetryDecision",
    "RetryPolicy",
    "RetryStrategy",
    "backoff_seconds",
    "check_attempts",
    "check_backoff",
    "check_delay_seconds",
    "clamp_delay",
]

Jitter = Literal["full", "half", "none"]
_JITTERS = ("full", "half", "none")


@dataclass(frozen=True)
class RetryDecision:
    """Whether to retry a failed attempt, and after how many whole seconds.

    The step sends the delay clamped to what the service takes, 1 to 31,622,400 seconds.

    Raises:
        ValidationError: `delay_seconds` is not an `int`.
    """

    retry: bool
    delay_seconds: int = 1

    def __post_init__(self) -> None:
        check_delay_seconds(self.delay_seconds, "RetryDecision")

    @classmethod
    def stop(cls) -> RetryDecision:
        """Do not retry: the step fails."""
        return cls(False, 0)

    @classmethod
    def after(cls, delay: DurationLike) -> RetryDecision:
        """Retry after `delay`."""
        return cls(True, to_seconds(delay, what="retry delay"))


def check_delay_seconds(delay: object, owner: str) -> None:
    """Refuse a decision's delay that is not a whole number of seconds (an `int`)."""
    if not isinstance(delay, int) or isinstance(delay, bool):
        raise ValidationError(f"{owner} delay_seconds must be an int, got {delay!r}")


def clamp_delay(delay: int) -> int:
    """A decision's delay as the service takes it: 1 to 31,622,400 seconds."""
    return 1 if delay < 1 else min(delay, MAX_SECONDS)


def check_attempts(max_attempts: object, owner: str) -> None:
    """Refuse a `max_attempts` that is not an `int` of at least 1."""
    if not isinstance(max_attempts, int) or isinstance(max_attempts, bool) or max_attempts < 1:
        raise ValidationError(f"{owner} max_attempts must be an int >= 1, got {max_attempts!r}")


def check_backoff(
    owner: str,
    initial_delay: DurationLike,
    max_delay: DurationLike,
    backoff_rate: float,
    jitter: str,
) -> None:
    """Check a backoff's parameters, naming `owner` and the field at fault.

    `initial_delay` is 1 to 31,622,400 whole seconds; `max_delay` is at least `initial_delay`
    (larger values, infinity included, mean the service's maximum); `backoff_rate` is a finite
    number >= 1; `jitter` is `"full"`, `"half"` or `"none"`.

    Raises:
        ValidationError: a parameter is out of its range.
    """
    initial = to_seconds(initial_delay, what=f"{owner} initial_delay")
    cap = to_capped_seconds(max_delay, what=f"{owner} max_delay")
    if cap < initial:
        raise ValidationError(
            f"{owner} max_delay ({max_delay!r}) must not be below initial_delay ({initial_delay!r})"
        )
    if not _rate_ok(backoff_rate):
        raise ValidationError(
            f"{owner} backoff_rate must be a finite number >= 1, got {backoff_rate!r}"
        )
    if jitter not in _JITTERS:
        raise ValidationError(f"{owner} jitter must be 'full', 'half' or 'none', got {jitter!r}")


def _rate_ok(rate: object) -> bool:
    if not isinstance(rate, (int, float)) or isinstance(rate, bool):
        return False
    try:
        return math.isfinite(rate) and rate >= 1
    except OverflowError:  # an int too large for a float
        return False


def backoff_seconds(
    attempt: int,
    initial_delay: DurationLike,
    max_delay: DurationLike,
    backoff_rate: float,
    jitter: Jitter,
) -> int:
    """`initial_delay * backoff_rate**(attempt-1)`, capped, jittered, in whole seconds >= 1.

    The growth saturates at the cap (`max_delay`, itself at most 31,622,400 s) instead of
    overflowing, however large `attempt` or `backoff_rate`.
    """
    initial = to_seconds(initial_delay, what="initial_delay")
    cap = to_capped_seconds(max_delay, what="max_delay")
    delay = _grown(initial, float(backoff_rate), attempt - 1, cap)
    if jitter == "full":
        delay = random.uniform(0, delay)
    elif jitter == "half":
        delay = random.uniform(delay / 2, delay)
    return max(1, min(cap, math.ceil(delay)))


def _grown(initial: int, rate: float, steps: int, cap: int) -> float:
    """`initial * rate**steps`, at most `cap`."""
    if steps <= 0 or rate <= 1:
        return min(initial, cap)
    try:
        return min(initial * rate**steps, cap)
    except OverflowError:  # rate**steps is past any float: far past the cap
        return cap


RetryStrategy = Callable[[BaseException, int], RetryDecision]
"""A function `(error, attempt) -> RetryDecision`; `attempt` is the 1-based attempt that failed."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: attempt n waits `initial_delay * backoff_rate**(n-1)`, capped, jittered.

    Args:
        max_attempts: attempts in all, the first included (1 means never retry); an int >= 1.
        initial_delay: delay after the first failed attempt: 1 to 31,622,400 whole seconds.
        max_delay: upper bound of any delay, at least `initial_delay`; anything above the
            service's maximum of 31,622,400 s (`math.inf` included) means that maximum.
        backoff_rate: growth factor between attempts, a finite number >= 1. Growth saturates
            at `max_delay`: it never overflows, however many attempts.
        jitter: `"full"` picks uniformly in [0, delay], `"half"` in [delay/2, delay], `"none"`
            keeps it; delays are rounded up to whole seconds, at least 1.
        retry_on: only errors of these types are retried (default: every `Exception`).

    Raises:
        ValidationError: at construction, naming the field, when a value is out of its range
            (NaN, an overflowing rate, a zero delay, no attempts, an unknown jitter, ...).

    Example:
        ```python
        await ctx.step(call_api, retry=RetryPolicy(max_attempts=5, initial_delay=2))
        ```
    """

    max_attempts: int = 6
    initial_delay: DurationLike = 5
    max_delay: DurationLike = 300
    backoff_rate: float = 2.0
    jitter: Jitter = "full"
    retry_on: tuple[type[BaseException], ...] = (Exception,)

    def __post_init__(self) -> None:
        check_attempts(self.max_attempts, "RetryPolicy")
        check_backoff(
            "RetryPolicy", self.initial_delay, self.max_delay, self.backoff_rate, self.jitter
        )
        retry_on = self.retry_on if isinstance(self.retry_on, tuple) else (self.retry_on,)
        if not all(isinstance(t, type) and issubclass(t, BaseException) for t in retry_on):
            raise ValidationError(
                f"RetryPolicy retry_on must be a tuple of exception classes, got {self.retry_on!r}"
            )

    def __call__(self, error: BaseException, attempt: int) -> RetryDecision:
        """Decide for the failed 1-based `attempt`."""
        if attempt >= self.max_attempts or not isinstance(error, self.retry_on):
            return RetryDecision.stop()
        delay = backoff_seconds(
            attempt, self.initial_delay, self.max_delay, self.backoff_rate, self.jitter
        )
        return RetryDecision(True, delay)

    @classmethod
    def default(cls) -> RetryPolicy:
        """6 attempts, 5 s initial delay doubling up to 300 s, full jitter (the step default)."""
        return cls()

    @classmethod
    def none(cls) -> RetryPolicy:
        """A single attempt: never retry."""
        return cls(max_attempts=1)

    @classmethod
    def transient(cls) -> RetryPolicy:
        """3 attempts, 5 s doubling, half jitter: for brief network hiccups."""
        return cls(max_attempts=3, jitter="half")

    @classmethod
    def fixed(cls, max_attempts: int, delay: DurationLike) -> RetryPolicy:
        """`max_attempts` attempts with the same `delay` between them, no jitter."""
        return cls(
            max_attempts=max_attempts,
            initial_delay=delay,
            max_delay=delay,
            backoff_rate=1.0,
            jitter="none",
        )


RetryLike = Union[RetryPolicy, RetryStrategy]
