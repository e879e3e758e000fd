"""Retry policies for steps: exponential backoff with jitter, and presets."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Union

from ._duration import DurationLike, to_seconds

__all__ = ["Jitter", "RetryDecision", "RetryPolicy", "RetryStrategy", "backoff_seconds"]

Jitter = Literal["full", "half", "none"]


@dataclass(frozen=True)
class RetryDecision:
    """Whether to retry a failed attempt, and after how many whole seconds (at least 1)."""

    retry: bool
    delay_seconds: int = 1

    @classmethod
    def stop(cls) -> RetryDecision:
        """Do not retry: the step fails."""
        return cls(False, 0)

    @classmethod
    def after(cls, delay: DurationLike) -> RetryDecision:
        """Retry after `delay`."""
        return cls(True, to_seconds(delay, what="retry delay"))


def backoff_seconds(
    attempt: int,
    initial_delay: DurationLike,
    max_delay: DurationLike,
    backoff_rate: float,
    jitter: Jitter,
) -> int:
    """`initial_delay * backoff_rate**(attempt-1)`, capped, jittered, in whole seconds >= 1."""
    initial = to_seconds(initial_delay, what="initial_delay")
    cap = to_seconds(max_delay, what="max_delay")
    delay = min(initial * backoff_rate ** (attempt - 1), cap)
    if jitter == "full":
        delay = random.uniform(0, delay)
    elif jitter == "half":
        delay = random.uniform(delay / 2, delay)
    return max(1, min(cap, -int(-delay // 1)))


RetryStrategy = Callable[[BaseException, int], RetryDecision]
"""A function `(error, attempt) -> RetryDecision`; `attempt` is the 1-based attempt that failed."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: attempt n waits `initial_delay * backoff_rate**(n-1)`, capped, jittered.

    Args:
        max_attempts: attempts in all, the first included (1 means never retry).
        initial_delay: delay after the first failed attempt.
        max_delay: upper bound of any delay.
        backoff_rate: growth factor between attempts.
        jitter: `"full"` picks uniformly in [0, delay], `"half"` in [delay/2, delay], `"none"`
            keeps it; delays are rounded up to whole seconds, at least 1.
        retry_on: only errors of these types are retried (default: every `Exception`).

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
