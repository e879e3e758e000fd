"""Retry parity with the official Python SDK (its presets' numbers, its error filters), the
linear preset, and the per-step `timeout`.

The presets are compared with those of the installed `aws_durable_execution_sdk_python`:
field by field (read from the configuration each of its strategies closes over), then decision
by decision, with the random generator seeded alike for both, so jitter draws the same numbers.
Timeouts run on a `ManualClock`: nothing here sleeps in real time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import math
import random
import re
import threading
from typing import Any

import pytest
from aws_durable_execution_sdk_python.retries import (
    RetryPresets as OfficialPresets,
)
from aws_durable_execution_sdk_python.retries import (
    RetryStrategyConfig,
    create_retry_strategy,
)

from durable_async import (
    DurableContext,
    Duration,
    InvocationStatus,
    RetryDecision,
    RetryPolicy,
    RetryPresets,
    StepError,
    StepTimeoutError,
    ValidationError,
    durable_execution,
)
from durable_async._duration import MAX_SECONDS
from durable_async._ids import operation_id
from durable_async.testing import LocalRunner, ManualClock, MemoryBackend, RunResult

pytestmark = pytest.mark.anyio

PRESETS = ["none", "default", "transient", "resource_availability", "critical", "linear", "fixed"]
JITTER = {"FULL": "full", "HALF": "half", "NONE": "none"}


def _official_numbers(name: str) -> dict[str, Any]:
    """The numbers of the official preset `name`, from the configuration its strategy uses."""
    config = inspect.getclosurevars(getattr(OfficialPresets, name)()).nonlocals["config"]
    numbers = {
        "max_attempts": config.max_attempts,
        "initial_delay": config.initial_delay_seconds,
        "max_delay": config.max_delay_seconds,
        "backoff_rate": getattr(config, "backoff_rate", 1),
        "jitter": JITTER[config.jitter_strategy.value],
        "increment": getattr(config, "increment_seconds", 0),
    }
    return numbers


def _our_numbers(policy: RetryPolicy) -> dict[str, Any]:
    return {
        "max_attempts": policy.max_attempts,
        "initial_delay": policy.initial_delay,
        "max_delay": policy.max_delay,
        "backoff_rate": policy.backoff_rate,
        "jitter": policy.jitter,
        "increment": policy.increment,
    }


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_has_the_official_numbers(name: str) -> None:
    ours = _our_numbers(getattr(RetryPolicy, name)())
    theirs = _official_numbers(name)
    if name == "none":
        # A single attempt never waits: only the number of attempts means anything. (Theirs
        # keeps its configuration's 300 s cap; ours keeps the class default of 60 s.)
        assert ours["max_attempts"] == theirs["max_attempts"] == 1
    else:
        assert ours == theirs
    assert getattr(RetryPresets, name)() == getattr(RetryPolicy, name)()


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_decides_as_the_official_one(name: str) -> None:
    ours = getattr(RetryPolicy, name)()
    theirs = getattr(OfficialPresets, name)()
    error = ConnectionError("reset by peer")
    for attempt in range(1, ours.max_attempts + 2):
        for seed in range(5):
            random.seed(seed)
            mine = ours(error, attempt)
            random.seed(seed)
            official = theirs(error, attempt)
            assert (mine.retry, mine.delay_seconds) == (
                official.should_retry,
                official.delay_seconds,
            ), (name, attempt, seed)


def test_the_default_policy_is_the_default_preset_with_the_official_60_s_cap() -> None:
    assert RetryPolicy() == RetryPolicy.default() == RetryPresets.default()
    assert _our_numbers(RetryPolicy()) == _official_numbers("default")
    delays = [RetryPolicy(jitter="none")(ValueError(), n).delay_seconds for n in range(1, 6)]
    assert delays == [5, 10, 20, 40, 60]


def test_the_presets_namespace_takes_the_official_fixed_interval() -> None:
    assert RetryPresets.fixed() == RetryPolicy.fixed() == RetryPolicy.fixed(5, 5)
    assert RetryPresets.fixed(Duration(9)) == RetryPolicy.fixed(5, Duration(9))
    policy = RetryPresets.fixed(dt.timedelta(seconds=9))
    assert [policy(ValueError(), n) for n in range(1, 6)] == [RetryDecision(True, 9)] * 4 + [
        RetryDecision.stop()
    ]


# -- error filters -----------------------------------------------------------------------------


class Throttled(Exception):
    pass


ERRORS = [
    ValueError("bad input"),
    ConnectionError("connection reset"),
    Throttled("Rate exceeded"),
    RuntimeError("service unavailable: HTTP 503"),
    RuntimeError("HTTP 404"),
    KeyError("throttle"),
]

FILTERS: dict[str, tuple[list[type[Exception]] | None, list[str | re.Pattern[str]] | None]] = {
    "neither": (None, None),
    "types": ([ConnectionError, Throttled], None),
    "substring": (None, ["unavailable"]),
    "pattern": (None, [re.compile(r"HTTP 5\d\d")]),
    "anchored-pattern": (None, [re.compile(r"^Rate")]),
    "types-and-messages": ([ConnectionError], ["Rate", re.compile(r"HTTP 5\d\d")]),
    "no-types": ([], None),
    "no-messages": (None, []),
    "regex-like-substring": (None, ["HTTP 5.."]),
}


@pytest.mark.parametrize(("types", "messages"), FILTERS.values(), ids=FILTERS.keys())
def test_filters_retry_the_errors_the_official_filters_retry(
    types: list[type[Exception]] | None, messages: list[str | re.Pattern[str]] | None
) -> None:
    ours = RetryPolicy(
        retry_on=None if types is None else tuple(types),
        retry_on_message=None if messages is None else tuple(messages),
    )
    theirs = create_retry_strategy(
        RetryStrategyConfig(retryable_errors=messages, retryable_error_types=types)
    )
    for error in ERRORS:
        assert ours(error, 1).retry == theirs(error, 1).should_retry, error


def test_a_message_pattern_matches_anywhere_and_a_string_literally() -> None:
    policy = RetryPolicy(retry_on_message=re.compile(r"HTTP 5\d\d"))
    assert policy(RuntimeError("upstream said HTTP 503, giving up"), 1).retry
    assert not policy(RuntimeError("upstream said HTTP 404"), 1).retry
    literal = RetryPolicy(retry_on_message="HTTP 5..")
    assert literal(RuntimeError("got HTTP 5.. from somewhere"), 1).retry
    assert not literal(RuntimeError("got HTTP 503"), 1).retry


def test_type_and_message_filters_retry_an_error_matching_either() -> None:
    policy = RetryPolicy(retry_on=(ConnectionError,), retry_on_message=("throttl",))
    assert policy(ConnectionError("reset"), 1).retry  # the type matches
    assert policy(ValueError("request throttled"), 1).retry  # the message matches
    assert not policy(ValueError("bad input"), 1).retry  # neither does
    assert not policy(ConnectionError("reset"), policy.max_attempts).retry  # attempts ran out


def test_single_filters_and_lists_are_taken_as_tuples() -> None:
    pattern = re.compile("x")
    assert RetryPolicy(retry_on=ValueError).retry_on == (ValueError,)
    assert RetryPolicy(retry_on=[ValueError]).retry_on == (ValueError,)  # type: ignore[arg-type]
    assert RetryPolicy(retry_on_message="x").retry_on_message == ("x",)
    policy = RetryPolicy(retry_on_message=[pattern, "y"])  # type: ignore[arg-type]
    assert policy.retry_on_message == (pattern, "y")
    assert policy == RetryPolicy(retry_on_message=(pattern, "y"))


@pytest.mark.parametrize(
    "messages",
    [(1,), (re.compile(b"bytes"),), ("ok", None)],
    ids=["int", "bytes-pattern", "none-inside"],
)
def test_a_message_filter_must_hold_strings_or_patterns(messages: Any) -> None:
    with pytest.raises(ValidationError, match="RetryPolicy retry_on_message must be a tuple"):
        RetryPolicy(retry_on_message=messages)


async def test_a_step_retries_only_the_messages_its_policy_names() -> None:
    failures = iter(["Rate exceeded", "Rate exceeded", "quota used up"])
    calls: list[int] = []

    def call_api() -> str:
        calls.append(1)
        raise RuntimeError(next(failures))

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        policy = RetryPolicy(retry_on_message=re.compile("^Rate"), jitter="none")
        try:
            return await ctx.step(call_api, retry=policy)
        except StepError as exc:
            return f"{exc.error_type}: {exc.error_message}"

    result = await LocalRunner(handler).run()
    assert result.result == "RuntimeError: quota used up"
    assert len(calls) == 3


# -- the linear preset -------------------------------------------------------------------------


def test_the_linear_preset_grows_by_a_fixed_step() -> None:
    policy = RetryPolicy.linear()
    assert [policy(ValueError(), n) for n in range(1, 7)] == [
        RetryDecision(True, d) for d in (1, 2, 3, 4, 5)
    ] + [RetryDecision.stop()]


def test_a_linear_policy_saturates_at_its_cap() -> None:
    policy = RetryPolicy.linear(max_attempts=6, initial_delay=2, increment=Duration(3), max_delay=9)
    assert [policy(ValueError(), n).delay_seconds for n in range(1, 6)] == [2, 5, 8, 9, 9]
    unbounded = RetryPolicy.linear(max_attempts=10**9, increment=MAX_SECONDS, max_delay=math.inf)
    assert unbounded(ValueError(), 10**8).delay_seconds == MAX_SECONDS


def test_a_jittered_linear_policy_stays_within_its_band() -> None:
    policy = RetryPolicy.linear(max_attempts=20, initial_delay=10, increment=10, jitter="half")
    for attempt in range(1, 20):
        base = 10 * attempt
        for seed in range(5):
            random.seed(seed)
            assert base / 2 <= policy(ValueError(), attempt).delay_seconds <= base


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"increment": 2}, "increment (linear growth) needs backoff_rate=1, got backoff_rate=2.0"),
        ({"increment": -1, "backoff_rate": 1}, "increment must be between 1 and 31622400"),
        ({"increment": 1.5, "backoff_rate": 1}, "increment must be a whole number of seconds"),
        ({"increment": "1", "backoff_rate": 1}, "increment must be seconds, a timedelta"),
    ],
    ids=["exponential-rate", "negative", "fractional", "string"],
)
def test_an_absurd_increment_is_refused(fields: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError, match=r"^RetryPolicy ") as info:
        RetryPolicy(**fields)
    assert says in str(info.value)


def test_a_zero_increment_means_exponential_growth() -> None:
    for zero in (0, 0.0, dt.timedelta(0), Duration(0)):
        policy = RetryPolicy(increment=zero, jitter="none")
        assert [policy(ValueError(), n).delay_seconds for n in (1, 2, 3)] == [5, 10, 20]


# -- per-step timeouts -------------------------------------------------------------------------


def _runner(handler: Any, clock: ManualClock, **options: Any) -> LocalRunner:
    return LocalRunner(handler, backend=MemoryBackend(clock=clock), **options)


def _failed_attempts(result: RunResult) -> list[str]:
    return [
        e["StepFailedDetails"]["Error"]["Payload"]["ErrorType"]
        for e in result.history
        if e["EventType"] == "StepFailed"
    ]


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_an_async_body_that_overruns_is_cancelled_on_the_runtimes_clock() -> None:
    clock = ManualClock(start=1_000_000.0)
    started, never = asyncio.Event(), asyncio.Event()
    seen: list[str] = []

    async def slow() -> str:
        started.set()
        try:
            await never.wait()
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        return "late"

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        try:
            return await ctx.step(slow, timeout=30, retry=RetryPolicy.none())
        except StepError as exc:
            return f"{exc.error_type}: {exc.error_message}"

    running = _runner(handler, clock).start()
    await started.wait()
    clock.advance(29)
    await _settle()
    assert seen == []  # not yet: the timeout is on the runtime's clock
    clock.advance(1)
    result = await running.result()
    assert seen == ["cancelled"]
    assert result.result == (
        "StepTimeoutError: step 'slow' attempt 1 did not finish within its timeout of 30 s"
    )
    assert _failed_attempts(result) == ["StepTimeoutError"]


async def test_a_timed_out_attempt_goes_to_the_retry_policy_like_any_error() -> None:
    clock = ManualClock(start=0.0)
    decided: list[tuple[str, int]] = []
    attempts: list[int] = []

    async def sometimes_slow() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            clock.advance(dt.timedelta(minutes=1).total_seconds())
            await asyncio.Event().wait()
        return f"done on attempt {len(attempts)}"

    def policy(error: BaseException, attempt: int) -> RetryDecision:
        decided.append((type(error).__name__, attempt))
        return RetryPolicy.fixed(3, 2)(error, attempt)

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        return await ctx.step(sometimes_slow, timeout=dt.timedelta(minutes=1), retry=policy)

    result = await _runner(handler, clock).run()
    assert result.status is InvocationStatus.SUCCEEDED, result.error
    assert result.result == "done on attempt 3"
    assert decided == [("StepTimeoutError", 1), ("StepTimeoutError", 2)]
    assert _failed_attempts(result) == ["StepTimeoutError", "StepTimeoutError"]


async def test_an_async_body_that_swallows_the_cancellation_still_times_out() -> None:
    clock = ManualClock(start=0.0)

    async def stubborn() -> str:
        clock.advance(5)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            return "swallowed"
        return "never"

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        try:
            return await ctx.step(stubborn, timeout=Duration(5), retry=RetryPolicy.none())
        except StepError as exc:
            return exc.error_type

    result = await _runner(handler, clock).run()
    assert result.result == "StepTimeoutError"


@pytest.mark.parametrize(
    ("policy", "outcome"),
    [
        (RetryPolicy.fixed(2, 5), "attempt 2"),
        (RetryPolicy(retry_on=(ConnectionError,)), "StepError: StepTimeoutError"),
        (RetryPolicy(retry_on=(StepTimeoutError,), max_attempts=2), "attempt 2"),
    ],
    ids=["retried", "not-retried-by-type", "retried-by-type"],
)
async def test_a_sync_body_that_overruns_is_abandoned_and_its_late_result_ignored(
    policy: RetryPolicy, outcome: str
) -> None:
    clock = ManualClock(start=0.0)
    loop = asyncio.get_running_loop()
    started = asyncio.Event()
    release, finished = threading.Event(), threading.Event()
    calls: list[int] = []

    def blocking() -> str:
        calls.append(1)
        attempt = len(calls)
        if attempt == 1:
            loop.call_soon_threadsafe(started.set)
            release.wait()
            finished.set()
            return "attempt 1 (late)"
        return f"attempt {attempt}"

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        try:
            return await ctx.step(blocking, timeout=10, retry=policy)
        except StepError as exc:
            return f"StepError: {exc.error_type}"

    running = _runner(handler, clock).start()
    try:
        await started.wait()
        clock.advance(10)
        result = await running.result()
    finally:
        release.set()
    await asyncio.to_thread(finished.wait)  # the abandoned thread ran to its end
    await _settle()
    assert result.result == outcome
    assert _failed_attempts(result)[0] == "StepTimeoutError"
    assert "late" not in str(result.history)
    assert result.operations[1].status.value == (
        "SUCCEEDED" if outcome.startswith("attempt") else "FAILED"
    )


async def test_a_body_that_finishes_in_time_is_not_timed_out() -> None:
    clock = ManualClock(start=0.0)

    async def quick() -> str:
        clock.advance(9)
        return "quick"

    def blocking_but_quick() -> str:
        return "also quick"

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[str]:
        first = await ctx.step(quick, timeout=10, retry=RetryPolicy.none())
        second = await ctx.step(blocking_but_quick, timeout=10, retry=RetryPolicy.none())
        clock.advance(3600)  # any timer left behind would fire now
        await ctx.wait(1)
        return [first, second]

    result = await _runner(handler, clock).run()
    assert result.result == ["quick", "also quick"]
    assert _failed_attempts(result) == []


@pytest.mark.parametrize("always_replay", [False, True], ids=["live", "always-replay"])
async def test_a_timeout_gives_the_same_outcome_under_always_replay(always_replay: bool) -> None:
    clock = ManualClock(start=0.0)
    runs: list[int] = []

    async def slow() -> str:
        runs.append(1)
        clock.advance(7)
        await asyncio.Event().wait()
        return "never"

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        before = await ctx.step(lambda: "before", name="before")
        try:
            await ctx.step(slow, name="slow", timeout=7, retry=RetryPolicy.fixed(3, 1))
        except StepError as exc:
            return f"{before}, then {exc.error_type} after {exc.error_message}"
        return "unreachable"

    result = await _runner(handler, clock, always_replay=always_replay).run()
    assert result.status is InvocationStatus.SUCCEEDED, result.error
    assert result.result == (
        "before, then StepTimeoutError after "
        "step 'slow' attempt 3 did not finish within its timeout of 7 s"
    )
    assert _failed_attempts(result) == ["StepTimeoutError"] * 3
    if always_replay:
        assert result.invocations > 3
    else:
        assert len(runs) == 3


BAD_TIMEOUTS: dict[str, tuple[Any, str]] = {
    "zero": (0, "step timeout must be between 1 and 31622400 seconds, got 0"),
    "negative": (-5, "step timeout must be between 1 and 31622400 seconds, got -5"),
    "too-long": (MAX_SECONDS + 1, "step timeout must be between 1 and 31622400 seconds"),
    "fractional": (2.5, "step timeout must be a whole number of seconds, got 2.5"),
    "nan": (math.nan, "step timeout must be a whole number of seconds, got nan"),
    "infinite": (math.inf, "step timeout must be a whole number of seconds, got inf"),
    "sub-second": (dt.timedelta(milliseconds=500), "step timeout must be a whole number"),
    "string": ("30", "step timeout must be seconds, a timedelta or a Duration, got str"),
    "bool": (True, "step timeout must be seconds, a timedelta or a Duration, got bool"),
}


@pytest.mark.parametrize(("given", "says"), BAD_TIMEOUTS.values(), ids=BAD_TIMEOUTS.keys())
async def test_a_bad_timeout_is_refused_at_the_call_taking_no_id(given: Any, says: str) -> None:
    ran: list[str] = []

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        try:
            ctx.step(ran.append, "body", timeout=given)
        except ValidationError as exc:
            said = str(exc)
        else:
            said = "accepted"
        await ctx.step(lambda: None, name="after")
        return said

    result = await LocalRunner(handler).run()
    assert says in result.result
    assert ran == []
    assert result.operation("after").id == operation_id(None, 1)


@pytest.mark.parametrize(
    "given", [1, 30.0, dt.timedelta(minutes=2), Duration.minutes(2), MAX_SECONDS]
)
async def test_a_timeout_accepts_every_duration_form(given: Any) -> None:
    def make() -> str:
        return "ok"

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        return await ctx.step(make, name="make", timeout=given)

    result = await LocalRunner(handler).run()
    assert result.result == "ok"
