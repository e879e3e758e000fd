"""Retry policies and wait strategies refuse absurd values when built, and their arithmetic
saturates: every delay they compute is whole seconds the service takes (1 to 31,622,400).

An absurd value used to surface only after a step body ran (a zero delay, a delay below the
initial one), as a raw `OverflowError` (a huge backoff rate), or never (an unknown jitter was
silently "none").
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from durable_async import (
    CheckpointRejectedError,
    DurableContext,
    InvocationStatus,
    OperationType,
    RetryDecision,
    RetryPolicy,
    ValidationError,
    WaitDecision,
    WaitStrategy,
    durable_execution,
)
from durable_async._duration import MAX_SECONDS
from durable_async._ids import operation_id
from durable_async._models import OperationAction, OperationUpdate, StepOptions, WaitOptions
from durable_async.testing import LocalRunner, MemoryBackend

pytestmark = pytest.mark.anyio

ABSURD: dict[str, tuple[dict[str, Any], str]] = {
    "nan-rate": ({"backoff_rate": math.nan}, "backoff_rate must be a finite number >= 1, got nan"),
    "infinite-rate": ({"backoff_rate": math.inf}, "backoff_rate must be a finite number >= 1"),
    "huge-int-rate": ({"backoff_rate": 10**400}, "backoff_rate must be a finite number >= 1"),
    "shrinking-rate": ({"backoff_rate": 0.5}, "backoff_rate must be a finite number >= 1, got 0.5"),
    "zero-initial": ({"initial_delay": 0}, "initial_delay must be between 1 and 31622400"),
    "nan-initial": ({"initial_delay": math.nan}, "initial_delay must be a whole number"),
    "infinite-initial": ({"initial_delay": math.inf}, "initial_delay must be a whole number"),
    "fractional-initial": ({"initial_delay": 2.5}, "initial_delay must be a whole number"),
    "nan-max": ({"max_delay": math.nan}, "max_delay must be a whole number of seconds, got nan"),
    "zero-max": ({"max_delay": 0}, "max_delay must be between 1 and 31622400"),
    "max-below-initial": (
        {"initial_delay": 10, "max_delay": 5},
        "max_delay (5) must not be below initial_delay (10)",
    ),
    "zero-attempts": ({"max_attempts": 0}, "max_attempts must be an int >= 1, got 0"),
    "negative-attempts": ({"max_attempts": -3}, "max_attempts must be an int >= 1, got -3"),
    "float-attempts": ({"max_attempts": 2.5}, "max_attempts must be an int >= 1, got 2.5"),
    "unknown-jitter": ({"jitter": "fulll"}, "jitter must be 'full', 'half' or 'none', got 'fulll'"),
}


@pytest.mark.parametrize(("fields", "says"), ABSURD.values(), ids=ABSURD.keys())
def test_an_absurd_retry_policy_is_refused_when_built(fields: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError, match=r"^RetryPolicy ") as info:
        RetryPolicy(**fields)
    assert says in str(info.value)


@pytest.mark.parametrize(("fields", "says"), ABSURD.values(), ids=ABSURD.keys())
def test_an_absurd_wait_strategy_is_refused_when_built(fields: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError, match=r"^WaitStrategy ") as info:
        WaitStrategy(until=bool, **fields)
    assert says in str(info.value)


def test_retry_on_must_hold_exception_classes() -> None:
    with pytest.raises(ValidationError, match="retry_on must be a tuple of exception classes"):
        RetryPolicy(retry_on=(ValueError, "TimeoutError"))  # type: ignore[arg-type]


def test_a_decision_delay_must_be_whole_seconds() -> None:
    with pytest.raises(ValidationError, match="RetryDecision delay_seconds must be an int"):
        RetryDecision(True, 2.5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="WaitDecision delay_seconds must be an int"):
        WaitDecision(False, math.nan)  # type: ignore[arg-type]


def test_a_huge_backoff_rate_saturates_at_max_delay() -> None:
    policy = RetryPolicy(max_attempts=1001, max_delay=600, backoff_rate=1e308, jitter="none")
    delays = [policy(ValueError(), attempt).delay_seconds for attempt in range(1, 1001)]
    assert delays == [5] + [600] * 999


def test_an_unbounded_max_delay_means_the_services_maximum() -> None:
    policy = RetryPolicy(max_attempts=1001, max_delay=math.inf, jitter="none")
    assert policy(ValueError(), 1000).delay_seconds == MAX_SECONDS == 31_622_400
    assert RetryPolicy(max_delay=10**12, jitter="none")(ValueError(), 5).delay_seconds == 80


anything = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.sampled_from([0, -1, MAX_SECONDS + 1, math.inf, -math.inf, math.nan, 10**400]),
)


def _mostly(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Plausible four times in five, so that many drawn policies are valid."""
    return st.integers(0, 4).flatmap(lambda roll: anything if roll == 0 else plausible)


attempts = _mostly(st.integers(1, 1000) | st.sampled_from([1, 2, 10**9]))
initial_delays = _mostly(st.integers(1, 3600) | st.sampled_from([1, MAX_SECONDS]))
max_delays = _mostly(
    st.integers(3600, 10 * MAX_SECONDS) | st.sampled_from([MAX_SECONDS, math.inf, 1e300])
)
rates = _mostly(st.floats(1, 1e308) | st.sampled_from([1, 1.0000001, 2, 10**300, 1e308]))
jitters = st.sampled_from(["full", "half", "none", "full", "half", "none", "fulll", ""])


def _is_service_delay(delay: object) -> bool:
    return type(delay) is int and 1 <= delay <= MAX_SECONDS


@settings(max_examples=200, deadline=None)
@given(
    max_attempts=attempts,
    initial_delay=initial_delays,
    max_delay=max_delays,
    backoff_rate=rates,
    jitter=jitters,
)
def test_a_retry_policy_is_refused_or_every_delay_is_one_the_service_takes(
    max_attempts: Any, initial_delay: Any, max_delay: Any, backoff_rate: Any, jitter: Any
) -> None:
    try:
        policy = RetryPolicy(
            max_attempts=max_attempts,
            initial_delay=initial_delay,
            max_delay=max_delay,
            backoff_rate=backoff_rate,
            jitter=jitter,
        )
    except ValidationError:
        return
    unbounded = RetryPolicy(
        max_attempts=1001,
        initial_delay=initial_delay,
        max_delay=max_delay,
        backoff_rate=backoff_rate,
        jitter=jitter,
    )
    for attempt in range(1, 1001):
        decision = policy(ValueError(), attempt)
        assert decision.retry == (attempt < max_attempts)
        assert _is_service_delay(unbounded(ValueError(), attempt).delay_seconds)


@settings(max_examples=200, deadline=None)
@given(initial_delay=initial_delays, max_delay=max_delays, backoff_rate=rates, jitter=jitters)
def test_a_wait_strategy_is_refused_or_every_delay_is_one_the_service_takes(
    initial_delay: Any, max_delay: Any, backoff_rate: Any, jitter: Any
) -> None:
    try:
        strategy = WaitStrategy(
            until=lambda state: False,
            initial_delay=initial_delay,
            max_delay=max_delay,
            backoff_rate=backoff_rate,
            jitter=jitter,
        )
    except ValidationError:
        return
    for attempt in range(1, 1001):
        assert _is_service_delay(strategy(None, attempt).delay_seconds)


async def test_a_custom_strategys_out_of_range_delay_is_clamped_to_the_service_maximum() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("first attempt fails")
        return "ok"

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        return await ctx.step(flaky, retry=lambda exc, attempt: RetryDecision(True, 10**12))

    result = await LocalRunner(handler).run()
    assert result.status is InvocationStatus.SUCCEEDED, result.error
    retried = next(e for e in result.history if e["EventType"] == "StepFailed")
    assert retried["StepFailedDetails"]["RetryDetails"]["NextAttemptDelaySeconds"] == MAX_SECONDS


async def test_a_polls_out_of_range_delay_is_clamped_to_the_service_maximum() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> int:
        return await ctx.wait_for_condition(
            lambda n: n + 1,
            initial_state=0,
            wait_strategy=lambda n, attempt: WaitDecision(n >= 2, 10**12),
        )

    result = await LocalRunner(handler).run()
    assert result.result == 2, result.error
    polled = next(e for e in result.history if e["EventType"] == "StepSucceeded")
    assert polled["StepSucceededDetails"]["RetryDetails"]["NextAttemptDelaySeconds"] == MAX_SECONDS


@pytest.mark.parametrize("max_attempts", [0, -1])
async def test_wait_for_condition_refuses_no_attempts_before_the_first_check(
    max_attempts: int,
) -> None:
    checks: list[int] = []

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        try:
            await ctx.wait_for_condition(
                checks.append,
                initial_state=0,
                wait_strategy=lambda s, attempt: WaitDecision(False, 1),
                max_attempts=max_attempts,
                name="poll",
            )
        except ValidationError as exc:
            return str(exc)
        return "polled"

    result = await LocalRunner(handler).run()
    assert result.result == (
        f"wait_for_condition 'poll' max_attempts must be an int >= 1, got {max_attempts}"
    )
    assert checks == []
    assert [op.type for op in result.operations] == [OperationType.EXECUTION]


async def test_wait_for_condition_refuses_bad_attempts_at_the_call_taking_no_id() -> None:
    # Refused where the call is written, as every other argument is: the operation never
    # exists, so the next one takes the id it would have had.
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        try:
            ctx.wait_for_condition(
                lambda s: s,
                initial_state=0,
                wait_strategy=lambda s, attempt: WaitDecision(True, 1),
                max_attempts=0,
            )
        except ValidationError as exc:
            said = str(exc)
        else:
            said = "accepted"
        await ctx.step(lambda: None, name="after")
        return said

    result = await LocalRunner(handler).run()
    assert result.result == "wait_for_condition max_attempts must be an int >= 1, got 0"
    assert result.operation("after").id == operation_id(None, 1)
    assert [op.type for op in result.operations] == [OperationType.EXECUTION, OperationType.STEP]


@pytest.mark.parametrize(
    ("update", "says"),
    [
        (
            OperationUpdate(
                id="w1",
                type=OperationType.WAIT,
                action=OperationAction.START,
                wait_options=WaitOptions(wait_seconds=MAX_SECONDS + 1),
            ),
            "WaitSeconds in 1..31622400",
        ),
        (
            OperationUpdate(
                id="s1",
                type=OperationType.STEP,
                action=OperationAction.RETRY,
                step_options=StepOptions(next_attempt_delay_seconds=MAX_SECONDS + 1),
            ),
            "NextAttemptDelaySeconds in 1..31622400",
        ),
    ],
    ids=["wait", "retry"],
)
async def test_the_embedded_backend_refuses_delays_the_service_refuses(
    update: OperationUpdate, says: str
) -> None:
    backend = MemoryBackend()
    event = backend.start_execution(None)
    arn, token = event.durable_execution_arn, event.checkpoint_token
    start = OperationUpdate(id="s1", type=OperationType.STEP, action=OperationAction.START)
    token = (await backend.checkpoint(arn, token, [start])).checkpoint_token or ""
    with pytest.raises(CheckpointRejectedError, match=says):
        await backend.checkpoint(arn, token, [update])
