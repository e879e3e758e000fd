"""Retry policies for steps: exponential or linear backoff with jitter, error filters, and the
presets of the official SDKs."""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Union

from ._duration import MAX_SECONDS, Duration, DurationLike, to_capped_seconds, to_seconds
from ._errors import ValidationError

__all__ = [
    "Jitter",
    "MessagePattern",
    "RetryDecision",
    "RetryPolicy",
    "RetryPresets",
    "RetryStrategy",
    "backoff_seconds",
    "check_attempts",
    "check_backoff",
    "check_delay_seconds",
    "clamp_delay",
    "increment_seconds",
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
    *,
    increment: DurationLike = 0,
) -> int:
    """`initial_delay * backoff_rate**(attempt-1)`, capped, jittered, in whole seconds >= 1.

    With an `increment` (linear growth, `backoff_rate` 1), the delay before jitter is
    `initial_delay + increment * (attempt-1)` instead. The growth saturates at the cap
    (`max_delay`, itself at most 31,622,400 s) instead of overflowing, however large `attempt`
    or `backoff_rate`.
    """
    initial = to_seconds(initial_delay, what="initial_delay")
    cap = to_capped_seconds(max_delay, what="max_delay")
    step = increment_seconds(increment, "increment")
    if step:
        delay: float = min(initial + step * max(0, attempt - 1), cap)
    else:
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


def increment_seconds(increment: DurationLike, what: str) -> int:
    """A linear policy's `increment` in whole seconds: 0 (no linear growth) or 1 to 31,622,400.

    Raises:
        ValidationError: the increment is neither zero nor a duration the service takes.
    """
    if not isinstance(increment, bool) and increment in (0, dt.timedelta(0), Duration(0)):
        return 0
    return to_seconds(increment, what=what)


MessagePattern = Union[str, "re.Pattern[str]"]
"""A message filter: a `str` matches a message containing it, a compiled pattern one in which
`pattern.search` finds a match."""


def _message_matches(message: str, patterns: tuple[MessagePattern, ...]) -> bool:
    return any(
        p in message if isinstance(p, str) else p.search(message) is not None for p in patterns
    )


def _as_tuple(value: object) -> object:
    """A list or set as a tuple; a single value as a 1-tuple; a tuple or `None` as is."""
    if value is None or isinstance(value, tuple):
        return value
    if isinstance(value, (list, set, frozenset)):
        return tuple(value)
    return (value,)


RetryStrategy = Callable[[BaseException, int], RetryDecision]
"""A function `(error, attempt) -> RetryDecision`; `attempt` is the 1-based attempt that failed."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: attempt n waits `initial_delay * backoff_rate**(n-1)`, capped, jittered.

    With an `increment` the growth is linear instead: attempt n waits
    `initial_delay + increment * (n-1)`, capped and jittered alike (see `RetryPolicy.linear`).

    Which errors are retried follows the official SDKs' `retryableErrorTypes` and
    `retryableErrors`: with neither `retry_on` nor `retry_on_message` given, every error is;
    with one of them, only the errors it matches; with both, an error matching either one.

    Args:
        max_attempts: attempts in all, the first included (1 means never retry); an int >= 1.
        initial_delay: delay after the first failed attempt: 1 to 31,622,400 whole seconds.
        max_delay: upper bound of any delay, at least `initial_delay`; anything above the
            service's maximum of 31,622,400 s (`math.inf` included) means that maximum.
        backoff_rate: growth factor between attempts, a finite number >= 1. Growth saturates
            at `max_delay`: it never overflows, however many attempts.
        jitter: `"full"` picks uniformly in [0, delay], `"half"` in [delay/2, delay], `"none"`
            keeps it; delays are rounded up to whole seconds, at least 1.
        retry_on: retry errors that are instances of these types (a tuple of exception
            classes; a single class is taken as a 1-tuple).
        retry_on_message: retry errors whose message (`str(error)`) matches one of these: a
            `str` matches a message containing it, a compiled `re.Pattern` one in which
            `pattern.search` finds a match (a single pattern is taken as a 1-tuple).
        increment: linear growth: seconds added to the delay after each further attempt
            (0, the default, means exponential growth; otherwise 1 to 31,622,400 whole
            seconds, with `backoff_rate` 1).

    Raises:
        ValidationError: at construction, naming the field, when a value is out of its range
            (NaN, an overflowing rate, a zero delay, no attempts, an unknown jitter, a filter
            that is not an exception class or a pattern, ...).

    Example:
        ```python
        await ctx.step(call_api, retry=RetryPolicy(max_attempts=5, initial_delay=2))
        await ctx.step(call_api, retry=RetryPolicy(retry_on_message=re.compile("[Tt]hrottl")))
        ```
    """

    max_attempts: int = 6
    initial_delay: DurationLike = 5
    max_delay: DurationLike = 60
    backoff_rate: float = 2.0
    jitter: Jitter = "full"
    retry_on: type[BaseException] | tuple[type[BaseException], ...] | None = None
    retry_on_message: MessagePattern | tuple[MessagePattern, ...] | None = None
    increment: DurationLike = 0

    def __post_init__(self) -> None:
        check_attempts(self.max_attempts, "RetryPolicy")
        check_backoff(
            "RetryPolicy", self.initial_delay, self.max_delay, self.backoff_rate, self.jitter
        )
        retry_on = _as_tuple(self.retry_on)
        if retry_on is not None and not (
            isinstance(retry_on, tuple)
            and all(isinstance(t, type) and issubclass(t, BaseException) for t in retry_on)
        ):
            raise ValidationError(
                f"RetryPolicy retry_on must be a tuple of exception classes, got {self.retry_on!r}"
            )
        messages = _as_tuple(self.retry_on_message)
        if messages is not None and not (
            isinstance(messages, tuple)
            and all(
                isinstance(m, str) or (isinstance(m, re.Pattern) and isinstance(m.pattern, str))
                for m in messages
            )
        ):
            raise ValidationError(
                "RetryPolicy retry_on_message must be a tuple of strings or compiled str "
                f"patterns, got {self.retry_on_message!r}"
            )
        if increment_seconds(self.increment, "RetryPolicy increment") and self.backoff_rate != 1:
            raise ValidationError(
                "RetryPolicy increment (linear growth) needs backoff_rate=1, got backoff_rate="
                f"{self.backoff_rate!r}; RetryPolicy.linear(...) builds a linear policy"
            )
        object.__setattr__(self, "retry_on", retry_on)
        object.__setattr__(self, "retry_on_message", messages)

    def retries(self, error: BaseException) -> bool:
        """Whether the filters (`retry_on`, `retry_on_message`) let `error` be retried."""
        types, messages = self.retry_on, self.retry_on_message
        if types is None and messages is None:
            return True
        if types and isinstance(error, types):
            return True
        if isinstance(messages, (str, re.Pattern)):
            messages = (messages,)
        return bool(messages) and _message_matches(str(error), messages or ())

    def __call__(self, error: BaseException, attempt: int) -> RetryDecision:
        """Decide for the failed 1-based `attempt`."""
        if attempt >= self.max_attempts or not self.retries(error):
            return RetryDecision.stop()
        delay = backoff_seconds(
            attempt,
            self.initial_delay,
            self.max_delay,
            self.backoff_rate,
            self.jitter,
            increment=self.increment,
        )
        return RetryDecision(True, delay)

    @classmethod
    def default(cls) -> RetryPolicy:
        """6 attempts, 5 s initial delay doubling up to 60 s, full jitter (the step default)."""
        return cls()

    @classmethod
    def none(cls) -> RetryPolicy:
        """A single attempt: never retry."""
        return cls(max_attempts=1)

    @classmethod
    def transient(cls) -> RetryPolicy:
        """3 attempts, 5 s doubling up to 300 s, half jitter: for brief network hiccups."""
        return cls(max_attempts=3, max_delay=300, jitter="half")

    @classmethod
    def resource_availability(cls) -> RetryPolicy:
        """5 attempts, 5 s doubling up to 300 s, full jitter: for a resource that takes a while
        to become available."""
        return cls(max_attempts=5, initial_delay=5, max_delay=300, backoff_rate=2.0)

    @classmethod
    def critical(cls) -> RetryPolicy:
        """10 attempts, 1 s growing by 1.5x up to 60 s, no jitter: for critical operations."""
        return cls(max_attempts=10, initial_delay=1, max_delay=60, backoff_rate=1.5, jitter="none")

    @classmethod
    def fixed(cls, max_attempts: int = 5, delay: DurationLike = 5) -> RetryPolicy:
        """`max_attempts` attempts with the same `delay` between them, no jitter (default: 5
        attempts, 5 s apart)."""
        return cls(
            max_attempts=max_attempts,
            initial_delay=delay,
            max_delay=delay,
            backoff_rate=1.0,
            jitter="none",
        )

    @classmethod
    def linear(
        cls,
        max_attempts: int = 6,
        initial_delay: DurationLike = 1,
        increment: DurationLike = 1,
        max_delay: DurationLike = 300,
        jitter: Jitter = "none",
    ) -> RetryPolicy:
        """Linear growth: attempt n waits `initial_delay + increment * (n-1)`, capped at
        `max_delay`, jittered (default: 6 attempts, 1 s, 2 s, 3 s, 4 s, 5 s apart, no jitter).
        """
        return cls(
            max_attempts=max_attempts,
            initial_delay=initial_delay,
            max_delay=max_delay,
            backoff_rate=1.0,
            jitter=jitter,
            increment=increment,
        )


class RetryPresets:
    """The official SDKs' retry presets, under their names: each returns a `RetryPolicy`.

    `RetryPresets.default()` is `RetryPolicy.default()`, and so on; the numbers are those of
    the official Python SDK's `RetryPresets`.
    """

    @classmethod
    def none(cls) -> RetryPolicy:
        """A single attempt: never retry."""
        return RetryPolicy.none()

    @classmethod
    def default(cls) -> RetryPolicy:
        """6 attempts, 5 s initial delay doubling up to 60 s, full jitter (the step default)."""
        return RetryPolicy.default()

    @classmethod
    def transient(cls) -> RetryPolicy:
        """3 attempts, 5 s doubling up to 300 s, half jitter."""
        return RetryPolicy.transient()

    @classmethod
    def resource_availability(cls) -> RetryPolicy:
        """5 attempts, 5 s doubling up to 300 s, full jitter."""
        return RetryPolicy.resource_availability()

    @classmethod
    def critical(cls) -> RetryPolicy:
        """10 attempts, 1 s growing by 1.5x up to 60 s, no jitter."""
        return RetryPolicy.critical()

    @classmethod
    def linear(cls) -> RetryPolicy:
        """6 attempts, 1 s, 2 s, 3 s, 4 s, 5 s apart (up to 300 s), no jitter."""
        return RetryPolicy.linear()

    @classmethod
    def fixed(cls, interval: DurationLike = 5) -> RetryPolicy:
        """5 attempts, `interval` apart (default 5 s), no jitter."""
        return RetryPolicy.fixed(5, interval)


RetryLike = Union[RetryPolicy, RetryStrategy]
