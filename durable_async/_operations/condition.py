"""wait_for_condition: poll a check with durable state and backoff until it says done."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .._duration import DurationLike
from .._errors import SerdesError, ValidationError, WaitForConditionError
from .._lifecycle import OperationHandle, settled_or_ready
from .._models import ErrorObject, OperationAction, OperationStatus, OperationType, StepOptions
from .._operation import DurableOperation
from .._retry import (
    Jitter,
    backoff_seconds,
    check_attempts,
    check_backoff,
    check_delay_seconds,
    clamp_delay,
)
from .._scope import IdScope
from .._serdes import Serdes, round_trip
from .step import run_attempt

__all__ = ["WaitDecision", "WaitStrategy", "condition_operation", "run_wait_for_condition"]

S = TypeVar("S")
_S = OperationStatus


@dataclass(frozen=True)
class WaitDecision:
    """Stop polling (`done`), or check again after `delay_seconds`.

    The delay is sent clamped to what the service takes, 1 to 31,622,400 seconds.

    Raises:
        ValidationError: `delay_seconds` is not an `int`.
    """

    done: bool
    delay_seconds: int = 1

    def __post_init__(self) -> None:
        check_delay_seconds(self.delay_seconds, "WaitDecision")


@dataclass(frozen=True)
class WaitStrategy(Generic[S]):
    """When a polled condition is met, and how long to wait between checks.

    Args:
        until: returns True when the state means "done".
        max_attempts: checks in all before giving up with `WaitForConditionError`; an int >= 1.
        initial_delay: delay after the first check: 1 to 31,622,400 whole seconds.
        max_delay: upper bound of any delay, at least `initial_delay`; anything above the
            service's maximum of 31,622,400 s (`math.inf` included) means that maximum.
        backoff_rate: growth factor between checks, a finite number >= 1 (growth saturates at
            `max_delay`).
        jitter: `"full"`, `"half"` or `"none"` (as for `RetryPolicy`).

    Raises:
        ValidationError: at construction, naming the field, when a value is out of its range.

    Example:
        ```python
        job = await ctx.wait_for_condition(
            poll_job, initial_state={"id": job_id, "done": False},
            wait_strategy=WaitStrategy(until=lambda s: s["done"], initial_delay=10),
        )
        ```
    """

    until: Callable[[S], bool]
    max_attempts: int = 60
    initial_delay: DurationLike = 5
    max_delay: DurationLike = 300
    backoff_rate: float = 1.5
    jitter: Jitter = "none"

    def __post_init__(self) -> None:
        if not callable(self.until):
            raise ValidationError(f"WaitStrategy until must be callable, got {self.until!r}")
        check_attempts(self.max_attempts, "WaitStrategy")
        check_backoff(
            "WaitStrategy", self.initial_delay, self.max_delay, self.backoff_rate, self.jitter
        )

    def __call__(self, state: S, attempt: int) -> WaitDecision:
        """Decide after check number `attempt` (1-based) produced `state`."""
        if self.until(state):
            return WaitDecision(True)
        delay = backoff_seconds(
            attempt, self.initial_delay, self.max_delay, self.backoff_rate, self.jitter
        )
        return WaitDecision(False, delay)


def condition_operation(
    scope: IdScope,
    check: Callable[[Any], Any],
    initial_state: Any,
    strategy: Callable[[Any, int], WaitDecision],
    name: str | None,
    max_attempts: int | None,
    result_type: Any,
    serdes: Serdes | None,
) -> DurableOperation[Any]:
    """A `WaitForCondition` STEP of `scope`; `max_attempts` is checked now, at the call."""
    if max_attempts is not None:
        check_attempts(max_attempts, "wait_for_condition" + (f" {name!r}" if name else ""))
    serdes = serdes or scope.runtime.serdes
    return scope.operation(
        OperationType.STEP,
        "WaitForCondition",
        name,
        lambda op: run_wait_for_condition(
            op,
            check,
            initial_state=initial_state,
            strategy=strategy,
            max_attempts=max_attempts,
            result_type=result_type,
            serdes=serdes,
        ),
    )


async def run_wait_for_condition(
    op: OperationHandle,
    check: Callable[[Any], Any],
    *,
    initial_state: Any,
    strategy: Callable[[Any, int], WaitDecision],
    max_attempts: int | None,
    result_type: Any,
    serdes: Serdes,
) -> Any:
    """Run checks, carrying the state in the operation's RETRY payloads, until done."""
    limit = max_attempts if max_attempts is not None else getattr(strategy, "max_attempts", None)
    current = op.state()
    while True:
        details = current.step_details if current is not None else None
        if current is not None and current.status is _S.SUCCEEDED:
            return serdes.deserialize(details.result if details else None, result_type)
        if current is not None and current.status.is_terminal:
            raise op.error(WaitForConditionError, details.error if details else None)
        if current is not None and current.status is _S.PENDING:
            nxt = details.next_attempt_timestamp if details else None
            current = await op.park(settled_or_ready, due=nxt.timestamp() if nxt else None)
            continue
        attempt = ((details.attempt or 0) if details else 0) + 1
        # After a recorded poll the payload is the state, even an empty one (a `None` state).
        state = (
            serdes.deserialize(details.result if details else None, result_type)
            if attempt > 1
            else initial_state
        )
        if current is None or current.status is not _S.STARTED:
            op.queue(OperationAction.START)
        new_state, failure = await run_attempt(op, attempt, check, (state,))
        if failure is not None:
            await op.fail(WaitForConditionError, failure)
        try:
            payload, checked = round_trip(serdes, new_state, result_type, f"check {op.label}")
        except SerdesError as exc:
            await op.fail(WaitForConditionError, exc)
        decision = strategy(checked, attempt)
        if decision.done:
            await op.send(OperationAction.SUCCEED, payload=payload)
            return checked
        if limit is not None and attempt >= limit:
            error = ErrorObject(
                error_type="WaitForConditionError",
                error_message=f"condition not met after {attempt} checks",
            )
            await op.send(OperationAction.FAIL, error=error)
            raise op.error(WaitForConditionError, error)
        opts = StepOptions(next_attempt_delay_seconds=clamp_delay(decision.delay_seconds))
        current = await op.send(OperationAction.RETRY, payload=payload, step_options=opts)
