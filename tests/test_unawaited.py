"""Operations created and never awaited: the warning, its rule, and the local runner's error.

Most tests forget one operation on purpose, named `forgotten`, beside the case under test: the
report must name it (so the test fails if nothing is reported) and nothing else.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import sys
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from durable_async import (
    CheckpointRejectedError,
    CompletionConfig,
    DurableContext,
    DurableError,
    InvocationStatus,
    ManualClock,
    MemoryBackend,
    StaleCheckpointTokenError,
    UnawaitedOperationError,
    UnawaitedOperationWarning,
    durable_execution,
)
from durable_async._unawaited import SUB_TYPES
from durable_async.testing import Fault, FaultyBackend, LocalRunner

pytestmark = pytest.mark.anyio

Handler = Callable[[Any, DurableContext], Coroutine[Any, Any, Any]]


def ok() -> str:
    return "ok"


def next_line() -> int:
    """The number of the caller's next line."""
    return sys._getframe(1).f_lineno + 1


async def unawaited_error(handler: Handler, **options: Any) -> str:
    """Run `handler` with the runner's default; return the `UnawaitedOperationError` message."""
    with pytest.raises(UnawaitedOperationError) as info:
        await LocalRunner(durable_execution(handler), **options).run()
    return str(info.value)


def assert_only_forgotten(message: str) -> None:
    assert message.startswith("durable operation Step 'forgotten' (id "), message


# -- the warning ---------------------------------------------------------------------------


async def test_a_forgotten_step_warns_at_its_line_when_the_handler_succeeds() -> None:
    lines: list[int] = []

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        lines.append(next_line())
        ctx.step(ok, name="charge")
        return "done"

    backend = MemoryBackend()
    with pytest.warns(UnawaitedOperationWarning) as record:
        output = await handler.invoke_output(backend.start_execution(None), backend=backend)
    assert output.status is InvocationStatus.SUCCEEDED
    [warning] = record.list
    assert (warning.filename, warning.lineno) == (__file__, lines[0])
    assert re.fullmatch(
        rf"durable operation Step 'charge' \(id [0-9a-f]{{12}}…\) was created at "
        rf"{re.escape(__file__)}:{lines[0]} but never awaited; it never ran",
        str(warning.message),
    )


async def test_a_forgotten_operation_warns_when_the_handler_raises() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        ctx.wait(60, name="cooldown")
        raise ValueError("boom")

    backend = MemoryBackend()
    with pytest.warns(UnawaitedOperationWarning, match="durable operation Wait 'cooldown'"):
        output = await handler.invoke_output(backend.start_execution(None), backend=backend)
    assert output.status is InvocationStatus.FAILED


async def test_the_warning_obeys_filters_on_the_module_and_line_that_created_it() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        ctx.step(ok, name="filtered")
        ctx.step(ok, name="forgotten")
        return "done"

    source, first = inspect.getsourcelines(handler.fn)
    line = first + next(i for i, text in enumerate(source) if '"filtered"' in text)
    backend = MemoryBackend()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        warnings.filterwarnings(
            "ignore", category=UnawaitedOperationWarning, module=re.escape(__name__), lineno=line
        )
        output = await handler.invoke_output(backend.start_execution(None), backend=backend)
    assert output.status is InvocationStatus.SUCCEEDED
    [warning] = record
    assert_only_forgotten(str(warning.message))


def test_every_context_method_that_creates_an_operation_has_a_sub_type_for_the_message() -> None:
    creators = [
        name
        for name, fn in inspect.getmembers(DurableContext, inspect.isfunction)
        if not name.startswith("_") and "DurableOperation" in str(fn.__annotations__["return"])
    ]
    assert "step" in creators
    assert sorted(set(creators) - set(SUB_TYPES)) == []


# -- what counts as awaited ----------------------------------------------------------------


async def awaited(ctx: DurableContext) -> None:
    await ctx.step(ok, name="used")


async def gathered(ctx: DurableContext) -> None:
    await asyncio.gather(ctx.step(ok, name="used"), ctx.wait(5, name="used-too"))


async def given_to_a_task(ctx: DurableContext) -> None:
    task = asyncio.create_task(ctx.step(ok, name="used"))
    await task


async def given_to_a_task_group(ctx: DurableContext) -> None:
    async with asyncio.TaskGroup() as group:
        group.create_task(ctx.step(ok, name="used"))


async def given_to_a_task_that_is_cancelled_before_it_runs(ctx: DurableContext) -> None:
    task = asyncio.create_task(ctx.step(ok, name="used"))
    task.cancel()


async def given_to_tasks_cancelled_while_a_full_checkpoint_request_leaves(
    ctx: DurableContext,
) -> None:
    async def body() -> str:
        return "ok"

    tasks = [asyncio.create_task(ctx.step(body, name="used")) for _ in range(300)]
    await asyncio.sleep(0)  # the first fill a request; the rest let it leave before starting
    for task in tasks:
        task.cancel()


async def awaited_after_other_work(ctx: DurableContext) -> None:
    first = ctx.step(ok, name="used")
    await ctx.step(ok, name="in-between")
    await first


async def given_to_ctx_all(ctx: DurableContext) -> None:
    await ctx.all(ctx.step(ok, name="used"), ctx.step(ok, name="used-too"))


async def closed(ctx: DurableContext) -> None:
    ctx.step(ok, name="used").close()


@pytest.mark.parametrize(
    "use",
    [
        awaited,
        gathered,
        given_to_a_task,
        given_to_a_task_group,
        given_to_a_task_that_is_cancelled_before_it_runs,
        given_to_tasks_cancelled_while_a_full_checkpoint_request_leaves,
        awaited_after_other_work,
        given_to_ctx_all,
        closed,
    ],
)
async def test_an_operation_awaited_or_handed_over_is_not_reported(
    use: Callable[[DurableContext], Coroutine[Any, Any, None]],
) -> None:
    async def handler(event: None, ctx: DurableContext) -> str:
        ctx.step(ok, name="forgotten")
        await use(ctx)
        return "done"

    assert_only_forgotten(await unawaited_error(handler))


async def test_the_inputs_of_a_race_replayed_from_history_are_not_reported() -> None:
    # On replay, the race awaits only its recorded winner: the loser is never started again.
    async def handler(event: None, ctx: DurableContext) -> str:
        ctx.step(ok, name="forgotten")
        await ctx.race(ctx.wait(3600, name="slow"), ctx.step(ok, name="fast"))
        await ctx.wait(10)  # suspends: the next invocation replays the race
        return "done"

    assert_only_forgotten(await unawaited_error(handler))


async def test_a_forgotten_wait_for_callback_is_reported_once() -> None:
    async def handler(event: None, ctx: DurableContext) -> str:
        ctx.wait_for_callback(lambda callback_id: None, name="approval")
        return "done"

    message = await unawaited_error(handler)
    assert message.startswith("durable operation WaitForCallback 'approval' (id "), message


async def test_a_forgotten_operation_among_thousands_handed_over_is_reported() -> None:
    async def handler(event: None, ctx: DurableContext) -> str:
        ctx.step(ok, name="forgotten")
        for _ in range(5000):  # the runtime drops handed-over operations as they pile up
            ctx.step(ok, name="used").close()
        return "done"

    assert_only_forgotten(await unawaited_error(handler))


# -- when nothing is reported --------------------------------------------------------------


async def test_an_operation_awaited_after_a_suspension_is_not_reported() -> None:
    async def handler(event: None, ctx: DurableContext) -> str:
        ctx.step(ok, name="forgotten")
        later = ctx.step(ok, name="later")
        await ctx.wait(10)  # the first invocation suspends here, `later` still unawaited
        return await later

    runner = LocalRunner(durable_execution(handler), unawaited="warn")
    with pytest.warns(UnawaitedOperationWarning) as record:
        result = await runner.run()
    assert result.invocations == 2
    # Reported once, by the invocation that finished; never by the one that suspended.
    [warning] = record.list
    assert_only_forgotten(str(warning.message))


async def test_an_invocation_that_suspends_reports_nothing_and_the_one_that_finishes_does() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        ctx.step(ok, name="forgotten")
        await ctx.wait(10)
        return "done"

    clock = ManualClock()
    backend = MemoryBackend(clock=clock)
    event = backend.start_execution(None)
    reports: list[Any] = []
    output = await handler.invoke_output(event, backend=backend, _report_unawaited=reports.extend)
    assert output.status is InvocationStatus.PENDING
    assert reports == []
    arn = event.durable_execution_arn
    backend.complete_invocation(arn, output, started=0.0)
    wake = backend.next_wake_time(arn)
    assert wake is not None
    clock.advance_to(wake)
    event = backend.invocation_event(arn)
    output = await handler.invoke_output(event, backend=backend, _report_unawaited=reports.extend)
    assert output.status is InvocationStatus.SUCCEEDED
    [report] = reports
    assert_only_forgotten(report.message)


@pytest.mark.parametrize(
    ("error", "status", "reported"),
    [
        (StaleCheckpointTokenError("Invalid checkpoint token"), InvocationStatus.PENDING, 0),
        (CheckpointRejectedError("KMS key disabled"), InvocationStatus.FAILED, 1),
    ],
)
async def test_after_the_handler_returned_only_a_final_output_reports(
    error: Exception, status: InvocationStatus, reported: int
) -> None:
    # The handler returns a result too big for the output: it is checkpointed after the
    # handler returned, and refused. A stale token means a newer invocation owns the execution.
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        ctx.step(ok, name="forgotten")
        return "x" * (7 * 1024 * 1024)

    memory = MemoryBackend()
    backend = FaultyBackend(memory)
    backend.inject(Fault.raise_(error))
    reports: list[Any] = []
    output = await handler.invoke_output(
        memory.start_execution(None), backend=backend, _report_unawaited=reports.extend
    )
    assert output.status is status
    assert len(reports) == reported


async def test_operations_of_map_items_that_early_completion_cancelled_are_not_reported() -> None:
    async def item(ctx: DurableContext, value: int, index: int) -> int:
        if index == 0:
            return await ctx.step(lambda: value, name="quick")
        pending = ctx.step(ok, name="cut-off")  # its task is cancelled before awaiting it
        await ctx.wait(3600)
        await pending
        return value

    async def handler(event: None, ctx: DurableContext) -> str:
        ctx.step(ok, name="forgotten")
        await ctx.map([1, 2], item, completion=CompletionConfig.first_successful())
        return "done"

    assert_only_forgotten(await unawaited_error(handler))


async def test_operations_of_tasks_cancelled_when_the_handler_returns_are_not_reported() -> None:
    async def background(ctx: DurableContext) -> None:
        pending = ctx.step(ok, name="cut-off")
        await asyncio.Event().wait()  # still waiting when the handler returns
        await pending

    async def handler(event: None, ctx: DurableContext) -> str:
        ctx.step(ok, name="forgotten")
        task = asyncio.create_task(background(ctx))
        await asyncio.sleep(0)
        assert not task.done()
        return "done"

    assert_only_forgotten(await unawaited_error(handler))


async def test_operations_forgotten_by_a_task_that_ended_are_reported() -> None:
    async def helper(ctx: DurableContext) -> None:
        ctx.step(ok, name="forgotten")

    async def handler(event: None, ctx: DurableContext) -> str:
        await asyncio.create_task(helper(ctx))
        return "done"

    assert_only_forgotten(await unawaited_error(handler))


# -- the local runner ----------------------------------------------------------------------


async def test_the_runner_raises_by_default_after_the_execution_ended_as_in_production() -> None:
    lines: list[int] = []

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        lines.append(next_line())
        ctx.step(ok, name="charge")
        lines.append(next_line())
        ctx.wait(5)
        return "done"

    runner = LocalRunner(handler)
    running = runner.start()
    with pytest.raises(UnawaitedOperationError) as info:
        await running.result()
    assert isinstance(info.value, DurableError)
    message = str(info.value)
    assert message.startswith("2 durable operations were never awaited:\n"), message
    assert "  - durable operation Step 'charge' (id " in message
    assert f"was created at {__file__}:{lines[0]} but never awaited" in message
    assert "  - durable operation Wait (id " in message
    assert f"was created at {__file__}:{lines[1]} but never awaited" in message
    execution = runner.backend.get_execution(running.execution_arn)
    assert execution["Status"] == "SUCCEEDED"
    assert execution["Result"] == '"done"'


async def test_the_runner_reports_the_operations_a_chained_invoke_target_forgot() -> None:
    @durable_execution
    async def target(event: None, ctx: DurableContext) -> str:
        ctx.step(ok, name="forgotten")
        return "child done"

    @durable_execution
    async def caller(event: None, ctx: DurableContext) -> str:
        result: str = await ctx.invoke("target", name="call")
        return result

    runner = LocalRunner(caller)
    runner.register("target", target)
    running = runner.start()
    with pytest.raises(UnawaitedOperationError) as info:
        await running.result()
    assert_only_forgotten(str(info.value))
    # The target ended as in production, and its caller got its result.
    assert runner.backend.get_execution(running.execution_arn)["Result"] == '"child done"'


async def test_the_runner_warns_when_asked_to() -> None:
    async def handler(event: None, ctx: DurableContext) -> str:
        ctx.step(ok, name="forgotten")
        return "done"

    runner = LocalRunner(durable_execution(handler), unawaited="warn")
    with pytest.warns(UnawaitedOperationWarning) as record:
        result = await runner.run()
    assert result.status is InvocationStatus.SUCCEEDED
    [warning] = record.list
    assert_only_forgotten(str(warning.message))


async def test_the_runner_says_nothing_when_asked_to_ignore() -> None:
    async def handler(event: None, ctx: DurableContext) -> str:
        ctx.step(ok, name="forgotten")
        return "done"

    result = await LocalRunner(durable_execution(handler), unawaited="ignore").run()
    assert result.status is InvocationStatus.SUCCEEDED
    assert [op.name for op in result.operations[1:]] == []  # it never ran


def test_the_runner_refuses_an_unknown_unawaited_option() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> None:
        return None

    with pytest.raises(ValueError, match="unawaited must be"):
        LocalRunner(handler, unawaited="raise")  # type: ignore[arg-type]
