"""The pytest plugin: its fixtures, the replay check (marker and ini option) in inner pytest
sessions run with `pytester`, and the assertion helpers on real runs."""

from __future__ import annotations

import ast
import asyncio
import textwrap
from collections.abc import Callable
from typing import Any

import pytest

import durable_async.testing._assertions as assertions
import durable_async.testing.pytest_plugin as plugin
from durable_async import DurableContext, OperationStatus, RetryPolicy, durable_execution
from durable_async._models import OperationAction
from durable_async.testing import (
    BackendCall,
    Fault,
    FaultyBackend,
    LocalRunner,
    ManualClock,
    MemoryBackend,
    RunResult,
)
from durable_async.testing.pytest_plugin import (
    DurableRunnerFactory,
    OperationLookupError,
    assert_failed,
    assert_operation,
    assert_ran_once,
    assert_succeeded,
    find_operation,
    operation_paths,
)

pytest_plugins = ["pytester"]

# -- inner sessions -----------------------------------------------------------------------------

CONFTEST = """
import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
"""

# Workflows the inner test files share (each file gets its own copy).
WORKFLOWS = """
import pytest

from durable_async import DurableContext, RetryPolicy, durable_execution
from durable_async.testing import LocalRunner, ManualClock
from durable_async.testing.pytest_plugin import (
    assert_failed,
    assert_operation,
    assert_ran_once,
    assert_succeeded,
)

pytestmark = pytest.mark.anyio


async def price(sku: str) -> int:
    return 100


async def charge(amount: int) -> str:
    return f"charged {amount}"


async def checkout(ctx: DurableContext, amount: int) -> str:
    return await ctx.step(charge, amount)


async def item(ctx: DurableContext, amount: int, index: int) -> str:
    return await ctx.step(charge, amount)


@durable_execution
async def order(event: dict, ctx: DurableContext) -> dict:
    cost = await ctx.step(price, event["sku"])
    await ctx.wait(3600, name="cool-off")
    receipt = await ctx.run_in_child_context(checkout, cost, name="checkout")
    batch = await ctx.map([1, 2, 3], item, name="items")
    return {"receipt": receipt, "items": batch.results()}


bodies = 0  # how many times `fetch` ran in the current invocation


def fetch() -> str:
    global bodies
    bodies += 1
    return "fetched"


async def ship_fast() -> str:
    return "fast"


async def ship_slow() -> str:
    return "slow"


@durable_execution
async def shipping(event: None, ctx: DurableContext) -> str:
    # Non-deterministic on purpose: it decides which step to call from module state that only
    # a live run of the `fetch` step sets, not from the step's recorded result.
    global bodies
    bodies = 0
    await ctx.step(fetch)
    if bodies == 1:
        return await ctx.step(ship_fast)
    return await ctx.step(ship_slow)


@durable_execution
async def refund(event: None, ctx: DurableContext) -> None:
    global bodies
    bodies = 0
    await ctx.step(fetch)
    if bodies == 1:
        raise ValueError("fetched live")
    raise KeyError("replayed")


@durable_execution
async def rejected(event: None, ctx: DurableContext) -> None:
    await ctx.step(fetch)
    raise ValueError("always")
"""


def _inner(pytester: pytest.Pytester, tests: str, *args: str) -> pytest.HookRecorder:
    """Run an inner session on a test file made of the shared workflows and `tests`."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(WORKFLOWS + textwrap.dedent(tests))
    return pytester.inline_run(
        "--strict-markers", "--strict-config", "-p", "no:cacheprovider", *args
    )


def _outcomes(recorder: pytest.HookRecorder) -> dict[str, str]:
    """Each test's outcome, by test name."""
    return {
        report.nodeid.rsplit("::", 1)[-1]: report.outcome
        for report in recorder.getreports("pytest_runtest_logreport")
        if report.when == "call" or report.outcome != "passed"
    }


def _failure(recorder: pytest.HookRecorder, name: str) -> str:
    """The exception that failed the test called `name`, as pytest reports it."""
    for report in recorder.getreports("pytest_runtest_logreport"):
        if report.nodeid.endswith(f"::{name}") and report.failed:
            crash = getattr(report.longrepr, "reprcrash", None)
            assert crash is not None
            return str(crash.message)
    raise AssertionError(f"{name} did not fail")


def test_the_plugin_is_registered_through_its_entry_point(pytester: pytest.Pytester) -> None:
    recorder = _inner(
        pytester,
        """
        import durable_async.testing.pytest_plugin as plugin


        def test_registered(request: pytest.FixtureRequest) -> None:
            assert request.config.pluginmanager.get_plugin("durable_async") is plugin
        """,
    )
    assert _outcomes(recorder) == {"test_registered": "passed"}


def test_the_plugin_can_be_turned_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_runner(durable_runner):\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:durable_async", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'durable_runner' not found*"])


def test_the_marker_and_the_ini_option_are_registered(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ndurable_replay = false\n")
    result = pytester.runpytest_inprocess("--markers", "--strict-config")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["@pytest.mark.durable_replay(enabled=True): *"])
    result = pytester.runpytest_inprocess("--help")
    result.stdout.fnmatch_lines(["*durable_replay (bool):*"])


def test_durable_runner_skips_time_and_the_helpers_pass_on_a_correct_run(
    pytester: pytest.Pytester,
) -> None:
    recorder = _inner(
        pytester,
        """
        async def test_order(durable_runner) -> None:
            runner = durable_runner(order, max_invocations=10)
            assert type(runner) is LocalRunner
            assert isinstance(runner.backend.clock, ManualClock)
            assert runner.max_invocations == 10
            start = runner.backend.clock.now()
            result = await runner.run({"sku": "a-1"})
            assert runner.backend.clock.now() - start == pytest.approx(3600)  # the wait
            assert_succeeded(
                result,
                result={"receipt": "charged 100", "items": ["charged 1", "charged 2", "charged 3"]},
            )
            assert_operation(result, "price", status="SUCCEEDED", attempts=1, result=100)
            assert_operation(result, "cool-off", status="SUCCEEDED")
            assert_operation(result, "checkout/charge", result="charged 100")
            assert_operation(result, "items/2/charge", result="charged 3")
            assert_ran_once(result, "items/0/charge")


        def test_manual_clock(manual_clock) -> None:
            assert isinstance(manual_clock, ManualClock)
            start = manual_clock.now()
            manual_clock.advance(90)
            assert manual_clock.now() == start + 90
        """,
    )
    assert _outcomes(recorder) == {"test_order": "passed", "test_manual_clock": "passed"}


def test_a_failing_helper_fails_the_inner_test_with_its_message(
    pytester: pytest.Pytester,
) -> None:
    recorder = _inner(
        pytester,
        """
        calls = 0


        def flaky() -> str:
            global calls
            calls += 1
            if calls == 1:
                raise ConnectionError("reset")
            return "ok"


        @durable_execution
        async def retried(event: None, ctx: DurableContext) -> str:
            policy = RetryPolicy(max_attempts=3, initial_delay=1, jitter="none")
            return await ctx.step(flaky, retry=policy)


        async def test_retried(durable_runner) -> None:
            result = await durable_runner(retried).run()
            assert_succeeded(result, result="ok")
            assert_ran_once(result, "flaky")
        """,
    )
    assert _outcomes(recorder) == {"test_retried": "failed"}
    text = _failure(recorder, "test_retried")
    assert "expected step 'flaky' to run exactly once; found 2 attempts" in text
    assert "its retry policy ran it again" in text


def test_the_replay_marker_catches_a_workflow_that_passes_live(
    pytester: pytest.Pytester,
) -> None:
    recorder = _inner(
        pytester,
        """
        async def test_live_only(durable_runner) -> None:
            result = await durable_runner(shipping).run()
            assert_succeeded(result, result="fast")


        @pytest.mark.durable_replay
        async def test_marked(durable_runner) -> None:
            result = await durable_runner(shipping).run()
            assert_succeeded(result, result="fast")


        async def test_asked_for(durable_runner) -> None:
            await durable_runner(shipping, replay=True).run()


        @pytest.mark.durable_replay
        async def test_deterministic(durable_runner) -> None:
            runner = durable_runner(order)
            result = await runner.run({"sku": "a-1"})
            assert runner.replayed is not None
            assert runner.replayed.invocations > result.invocations
            assert runner.replayed.result == result.result


        @pytest.mark.durable_replay
        async def test_error_types_differ(durable_runner) -> None:
            await durable_runner(refund).run()


        @pytest.mark.durable_replay
        async def test_fails_the_same_way(durable_runner) -> None:
            result = await durable_runner(rejected).run()
            assert_failed(result, error_type=ValueError, message="always")
        """,
    )
    assert _outcomes(recorder) == {
        "test_live_only": "passed",
        "test_marked": "failed",
        "test_asked_for": "failed",
        "test_deterministic": "passed",
        "test_error_types_differ": "failed",
        "test_fails_the_same_way": "passed",
    }
    for name in ("test_marked", "test_asked_for"):
        text = _failure(recorder, name)
        assert "durable_replay: replayed at every checkpoint (always_replay=True)" in text
        assert "result differs:\n    live:     'fast'\n    replayed: 'slow'" in text
        assert "status (both): SUCCEEDED" in text
        assert "Code outside steps must make the same durable calls" in text
    text = _failure(recorder, "test_error_types_differ")
    assert "error type differs:\n    live:     ValueError\n    replayed: KeyError" in text
    assert "status (both): FAILED" in text
    assert "live:     ValueError: fetched live" in text


def test_the_ini_option_turns_the_check_on_for_the_suite(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ndurable_replay = true\n")
    recorder = _inner(
        pytester,
        """
        async def test_unmarked(durable_runner) -> None:
            result = await durable_runner(shipping).run()
            assert_succeeded(result, result="fast")


        @pytest.mark.durable_replay(False)
        async def test_opted_out(durable_runner) -> None:
            result = await durable_runner(shipping).run()
            assert_succeeded(result, result="fast")


        async def test_asked_not_to(durable_runner) -> None:
            result = await durable_runner(shipping, replay=False).run()
            assert_succeeded(result, result="fast")


        async def test_own_backend(durable_runner) -> None:
            from durable_async.testing import MemoryBackend

            runner = durable_runner(shipping, backend=MemoryBackend())
            assert type(runner) is LocalRunner
            assert_succeeded(await runner.run(), result="fast")


        async def test_deterministic(durable_runner) -> None:
            assert_succeeded(await durable_runner(order).run({"sku": "b"}))
        """,
    )
    assert _outcomes(recorder) == {
        "test_unmarked": "failed",
        "test_opted_out": "passed",
        "test_asked_not_to": "passed",
        "test_own_backend": "passed",
        "test_deterministic": "passed",
    }
    assert "result differs" in _failure(recorder, "test_unmarked")


def test_the_ini_option_is_off_by_default(pytester: pytest.Pytester) -> None:
    recorder = _inner(
        pytester,
        """
        async def test_unmarked(durable_runner) -> None:
            runner = durable_runner(shipping)
            assert type(runner) is LocalRunner
            assert_succeeded(await runner.run(), result="fast")
        """,
    )
    assert _outcomes(recorder) == {"test_unmarked": "passed"}


def test_a_marker_with_wrong_arguments_is_reported(pytester: pytest.Pytester) -> None:
    recorder = _inner(
        pytester,
        """
        @pytest.mark.durable_replay("yes")
        def test_bad(durable_runner) -> None:
            pass
        """,
    )
    assert _outcomes(recorder) == {"test_bad": "failed"}
    assert (
        "expected @pytest.mark.durable_replay, durable_replay(True) or durable_replay(False)"
        in (_failure(recorder, "test_bad"))
    )


# -- the fixtures, in this session ------------------------------------------------------------


def test_manual_clock_is_a_new_clock_for_each_test(manual_clock: ManualClock) -> None:
    assert type(manual_clock) is ManualClock
    start = manual_clock.now()
    manual_clock.advance(5)
    assert manual_clock.now() == start + 5


def test_replay_true_refuses_a_backend_of_the_caller(durable_runner: DurableRunnerFactory) -> None:
    with pytest.raises(ValueError, match="takes no backend="):
        durable_runner(order, replay=True, backend=MemoryBackend())


def test_always_replay_needs_no_second_run(durable_runner: DurableRunnerFactory) -> None:
    runner = durable_runner(order, replay=True, always_replay=True)
    assert type(runner) is LocalRunner
    assert runner.always_replay is True


@pytest.mark.anyio
@pytest.mark.durable_replay
async def test_the_checked_runner_serves_chained_invokes_in_both_runs(
    durable_runner: DurableRunnerFactory,
) -> None:
    @durable_execution
    async def caller(event: None, ctx: DurableContext) -> Any:
        return await ctx.invoke("double", 21)

    runner = durable_runner(caller)
    assert type(runner) is not LocalRunner
    assert isinstance(runner, LocalRunner)
    runner.register("double", lambda n: n * 2)
    assert_succeeded(await runner.run(), result=42)


# -- the assertion helpers --------------------------------------------------------------------


async def price(sku: str) -> int:
    return 100


async def charge(amount: int) -> str:
    return f"charged {amount}"


async def checkout(ctx: DurableContext, amount: int) -> str:
    return await ctx.step(charge, amount)


async def item(ctx: DurableContext, amount: int, index: int) -> str:
    return await ctx.step(charge, amount)


async def express(ctx: DurableContext) -> str:
    return await ctx.step(charge, 9)


@durable_execution
async def order(event: Any, ctx: DurableContext) -> dict[str, Any]:
    cost = await ctx.step(price, "a-1")
    await ctx.wait(60, name="cool-off")
    receipt = await ctx.run_in_child_context(checkout, cost, name="checkout")
    batch = await ctx.map([1, 2, 3], item, name="items")
    named = await ctx.map([4, 5], item, name="named", item_namer=lambda n, i: f"sku-{n}")
    branches = await ctx.parallel([express, lambda c: c.step(charge, 7)], name="ship")
    return {
        "receipt": receipt,
        "items": batch.results(),
        "named": named.results(),
        "ship": branches.results(),
    }


@pytest.fixture
async def run(durable_runner: DurableRunnerFactory) -> RunResult:
    return await durable_runner(order, replay=False).run()


@pytest.mark.anyio
async def test_paths_join_the_names_of_the_enclosing_operations(run: RunResult) -> None:
    assert [path for path, _ in operation_paths(run)] == [
        "price",
        "cool-off",
        "checkout",
        "checkout/charge",
        "items",
        "items/0",
        "items/0/charge",
        "items/1",
        "items/1/charge",
        "items/2",
        "items/2/charge",
        "named",
        "named/sku-4",
        "named/sku-4/charge",
        "named/sku-5",
        "named/sku-5/charge",
        "ship",
        "ship/express",
        "ship/express/charge",
        "ship/1",
        "ship/1/charge",
    ]
    assert [op.id for _, op in operation_paths(run)] == [op.id for op in run.operations[1:]]


@pytest.mark.anyio
async def test_a_path_finds_the_operation_in_a_child_context_and_in_map_items(
    run: RunResult,
) -> None:
    step = find_operation(run, "checkout/charge")
    assert step.parent_id == find_operation(run, "checkout").id
    third = find_operation(run, "items/2/charge")
    assert third.parent_id == find_operation(run, "items/2").id
    assert find_operation(run, "items/2").parent_id == find_operation(run, "items").id
    assert find_operation(run, "2/charge") is third  # the end of a path will do
    assert find_operation(run, third.id) is third  # and so will an id
    # A named item answers to its index too; an unnamed branch is its index.
    assert find_operation(run, "named/1/charge") is find_operation(run, "named/sku-5/charge")
    assert find_operation(run, "ship/0") is find_operation(run, "ship/express")
    assert_operation(run, "items/2/charge", status=OperationStatus.SUCCEEDED, result="charged 3")
    assert_operation(run, "named/sku-4/charge", result="charged 4")
    assert_operation(run, "ship/1/charge", result="charged 7")
    assert_operation(run, "checkout", result="charged 100")


@pytest.mark.anyio
async def test_a_path_that_matches_several_operations_lists_them(run: RunResult) -> None:
    with pytest.raises(OperationLookupError) as caught:
        find_operation(run, "charge")
    text = str(caught.value)
    assert text.startswith("expected one operation at path 'charge'; found 8:")
    assert "  items/1/charge " in text
    assert find_operation(run, "items/1/charge").id in text
    assert text.endswith("Give more of the path, or an operation id.")
    assert isinstance(caught.value, LookupError)
    assert isinstance(caught.value, AssertionError)


@pytest.mark.anyio
async def test_a_path_that_matches_nothing_lists_every_path(run: RunResult) -> None:
    with pytest.raises(OperationLookupError) as caught:
        assert_operation(run, "items/7/charge", status="SUCCEEDED")
    text = str(caught.value)
    assert text.startswith(
        "expected an operation at path 'items/7/charge'; found none. The run's operations are:"
    )
    assert "\n  checkout/charge      STEP SUCCEEDED\n" in text
    assert "\n  items/0              CONTEXT MapIteration SUCCEEDED\n" in text
    assert "\n  cool-off             WAIT SUCCEEDED\n" in text
    assert text.endswith("\n  ship/1/charge        STEP SUCCEEDED")


@pytest.mark.anyio
async def test_assert_operation_reports_every_expectation_that_fails(run: RunResult) -> None:
    with pytest.raises(AssertionError) as caught:
        assert_operation(
            run, "checkout/charge", status="FAILED", attempts=2, result="free", error_type=KeyError
        )
    assert str(caught.value) == (
        "operation 'checkout/charge' (STEP):\n"
        "  status: expected FAILED, found SUCCEEDED\n"
        "  attempts: expected 2, found 1\n"
        "  result: expected 'free', found 'charged 100'\n"
        "  error type: expected KeyError, found no error"
    )
    with pytest.raises(AssertionError, match="attempts: expected 1, but only steps have"):
        assert_operation(run, "cool-off", attempts=1)
    with pytest.raises(AssertionError, match="result: expected None, found no recorded result"):
        assert_operation(run, "cool-off", result=None)
    with pytest.raises(ValueError, match="'DONE' is not a valid OperationStatus"):
        assert_operation(run, "price", status="DONE")
    assert (
        assert_operation(run, "price", status="SUCCEEDED", attempts=1, result=100).name == "price"
    )


def _flaky(failures: int) -> Callable[[], str]:
    calls = 0

    def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls <= failures:
            raise ConnectionError(f"reset {calls}")
        return "ok"

    return flaky


@pytest.mark.anyio
async def test_assert_ran_once_fails_for_a_step_that_was_retried(
    durable_runner: DurableRunnerFactory,
) -> None:
    flaky = _flaky(failures=2)

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        policy = RetryPolicy(max_attempts=5, initial_delay=1, jitter="none")
        first = await ctx.step(flaky, retry=policy)
        second = await ctx.step(charge, 1)
        return first + second

    result = await durable_runner(handler).run()
    assert_succeeded(result, result="okcharged 1")
    assert_ran_once(result, "charge")
    assert_operation(result, "flaky", status="SUCCEEDED", attempts=3, result="ok")
    with pytest.raises(AssertionError) as caught:
        assert_ran_once(result, "flaky")
    assert str(caught.value) == (
        "expected step 'flaky' to run exactly once; found 3 attempts, 3 StepStarted events and "
        "0 invocations that ended while it ran (its retry policy ran it again)"
    )


@pytest.mark.anyio
async def test_assert_ran_once_fails_for_a_step_whose_attempt_ran_again(
    durable_runner: DurableRunnerFactory,
) -> None:
    # The START of `charge` reaches the service; the checkpoint of its result fails, so the
    # invocation fails and the next one runs the (at-least-once) body again.
    started = asyncio.Event()
    bodies = 0

    async def charge_card() -> str:
        nonlocal bodies
        bodies += 1
        await started.wait()  # until the START went out on its own
        return "charged"

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        return await ctx.step(charge_card, name="charge")

    def result_of_charge(call: BackendCall) -> bool:
        if call.has_update(name="charge", action=OperationAction.START):
            started.set()
        return call.has_update(name="charge", action=OperationAction.SUCCEED)

    faulty = FaultyBackend(MemoryBackend())
    faulty.inject(Fault.transient(), when=result_of_charge, times=1)
    result = await durable_runner(handler, backend=faulty).run()
    assert_succeeded(result, result="charged")
    assert bodies == 2
    assert result.failed_invocations == 1
    assert_operation(result, "charge", attempts=1)
    with pytest.raises(AssertionError) as caught:
        assert_ran_once(result, "charge")
    assert str(caught.value) == (
        "expected step 'charge' to run exactly once; found 1 attempt, 1 StepStarted event and "
        "1 invocation that ended while it ran (an invocation ended during its attempt, which a "
        "later invocation took up again)"
    )


@pytest.mark.anyio
async def test_assert_ran_once_needs_a_step(run: RunResult) -> None:
    with pytest.raises(AssertionError, match="expected a step at path 'checkout'; found a CONTEXT"):
        assert_ran_once(run, "checkout")


@pytest.mark.anyio
async def test_assert_succeeded_and_assert_failed_say_what_they_found(
    durable_runner: DurableRunnerFactory, run: RunResult
) -> None:
    def declined() -> None:
        raise PermissionError("card declined")

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> None:
        await ctx.step(declined, retry=RetryPolicy.none())

    failed = await durable_runner(handler).run()
    error = assert_failed(failed, error_type="StepError", message="declined")
    assert error.error_data == "PermissionError"
    assert_operation(failed, "declined", status="FAILED", attempts=1, error_type=PermissionError)
    with pytest.raises(AssertionError) as caught:
        assert_succeeded(failed)
    assert str(caught.value) == (
        "expected the execution to succeed; it ended FAILED with StepError: card declined "
        "(error data 'PermissionError')"
    )
    with pytest.raises(AssertionError, match="expected the execution to fail with KeyError; it "):
        assert_failed(failed, error_type=KeyError)
    with pytest.raises(AssertionError, match="error message to contain 'approved'; it failed"):
        assert_failed(failed, message="approved")
    with pytest.raises(AssertionError) as caught:
        assert_failed(run)
    assert str(caught.value).startswith(
        "expected the execution to fail; it ended SUCCEEDED with result {'receipt': 'charged 100'"
    )
    with pytest.raises(AssertionError, match=r"to return \{\}; it returned \{'receipt'"):
        assert_succeeded(run, result={})
    assert assert_succeeded(run) == run.result


def _module_level_imports(path: str) -> set[str]:
    """The modules a source file imports at module level, `if TYPE_CHECKING:` left out."""
    found: set[str] = set()
    with open(path) as source:
        tree = ast.parse(source.read())
    for node in tree.body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return found


def test_the_plugin_imports_the_package_only_when_a_fixture_or_helper_runs() -> None:
    # pytest loads the plugin in every session: its own imports stay cheap.
    assert plugin.__file__ is not None
    assert _module_level_imports(plugin.__file__) == {
        "__future__",
        "typing",
        "pytest",
        "._assertions",
    }
    assert _module_level_imports(assertions.__file__ or "") == {
        "__future__",
        "collections.abc",
        "json",
        "typing",
    }
