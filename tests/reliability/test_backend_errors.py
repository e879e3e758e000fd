"""Backend faults are classified by cause, and history is read by one guarded routine.

- Transient (throttling, 5xx, a raw `TimeoutError` or `OSError` a backend let through) →
  the invocation raises `BackendUnavailableError`, so Lambda retries it; nothing is lost.
- Permanent (a refusal) → FAILED with the service's reason.
- A stale token, while checkpointing or while reading history → a quiet `PENDING`: a newer
  invocation owns the execution, and retrying this one could never help (its token stays stale).
- History pages are followed until the last one, a repeated marker stops paging with a clear
  error, and the EXECUTION operation is found wherever the pages put it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from durable_async import (
    BackendUnavailableError,
    DurableContext,
    InvocationStatus,
    OperationType,
    RetryPolicy,
    StepSemantics,
    durable_execution,
)
from durable_async._models import (
    CheckpointResponse,
    ExecutionState,
    OperationUpdate,
)
from durable_async.testing import Fault, FaultyBackend, LocalRunner, MemoryBackend

pytestmark = pytest.mark.anyio


async def one() -> int:
    return 1


def _counting_workflow(runs: dict[str, int]) -> Any:
    async def body(name: str) -> str:
        runs[name] = runs.get(name, 0) + 1
        return name

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> list[str]:
        a = await ctx.step(body, "a", name="a")
        await ctx.wait(5)
        b = await ctx.step(body, "b", name="b")
        return [a, b, event["tag"]]

    return handler


@pytest.mark.parametrize(
    "fault",
    [
        Fault.timeout(),
        Fault.connection_error(),
        Fault.transient(),
        Fault.throttle(),
        Fault.lose_response(),
        Fault.lose_response(ConnectionResetError("reset after the request was sent")),
    ],
    ids=["timeout", "oserror", "transient", "throttle", "lost-timeout", "lost-oserror"],
)
async def test_transient_checkpoint_faults_raise_for_a_retry_and_lose_nothing(fault: Fault) -> None:
    memory = MemoryBackend()
    faulty = FaultyBackend(memory)
    faulty.inject(fault, at=2)
    runs: dict[str, int] = {}
    handler = _counting_workflow(runs)
    event = memory.start_execution({"tag": "t"})
    with pytest.raises(BackendUnavailableError):
        await handler.invoke_output(event, backend=faulty)
    result = await LocalRunner(handler, backend=memory).resume(event.durable_execution_arn).result()
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == ["a", "b", "t"]


@pytest.mark.parametrize(
    "fault",
    [Fault.timeout(), Fault.connection_error(), Fault.transient()],
    ids=["timeout", "oserror", "transient"],
)
async def test_transient_faults_while_reading_history_raise_for_a_retry(fault: Fault) -> None:
    memory = MemoryBackend(first_page_size=0)
    faulty = FaultyBackend(memory)
    faulty.inject(fault, method="get_state", at=1)
    ran: list[str] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        ran.append("x")
        return "done"

    with pytest.raises(BackendUnavailableError):
        await handler.invoke_output(memory.start_execution(None), backend=faulty)
    assert ran == []


async def test_the_runner_retries_invocations_that_hit_transient_faults() -> None:
    memory = MemoryBackend()
    faulty = FaultyBackend(memory)
    faulty.inject(Fault.timeout(), at=[1, 3])
    faulty.inject(Fault.throttle(), method="get_state", times=1)
    runs: dict[str, int] = {}
    result = await LocalRunner(_counting_workflow(runs), backend=faulty).run({"tag": "r"})
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == ["a", "b", "r"]
    assert result.failed_invocations == 2


async def test_a_permanent_refusal_fails_the_execution_with_the_services_reason() -> None:
    memory = MemoryBackend()
    faulty = FaultyBackend(memory)
    faulty.inject(Fault.permanent("KMSAccessDeniedException", "no access to the key"), at=1)

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> int:
        return await ctx.step(one, name="one")

    output = await handler.invoke_output(memory.start_execution(None), backend=faulty)
    assert output.status is InvocationStatus.FAILED
    assert output.error is not None
    assert "no access to the key" in (output.error.error_message or "")


async def test_a_stale_token_while_reading_history_ends_the_invocation_quietly() -> None:
    memory = MemoryBackend(first_page_size=0)
    faulty = FaultyBackend(memory)
    faulty.inject(Fault.stale_token(), method="get_state")
    ran: list[str] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        ran.append("x")
        return "done"

    output = await handler.invoke_output(memory.start_execution(None), backend=faulty)
    assert output.status is InvocationStatus.PENDING
    assert ran == []


async def test_a_stale_token_while_checkpointing_ends_the_invocation_quietly() -> None:
    memory = MemoryBackend()
    faulty = FaultyBackend(memory)
    faulty.inject(Fault.stale_token(), at=1)

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> int:
        return await ctx.step(one, name="one")

    output = await handler.invoke_output(memory.start_execution(None), backend=faulty)
    assert output.status is InvocationStatus.PENDING


class _RepeatingMarker:
    """A service whose state pages always point back at the same marker."""

    def __init__(self, memory: MemoryBackend) -> None:
        self.memory = memory
        self.clock = memory.clock
        self.pages = 0

    async def checkpoint(
        self,
        execution_arn: str,
        checkpoint_token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResponse:
        return await self.memory.checkpoint(execution_arn, checkpoint_token, updates)

    async def get_state(
        self, execution_arn: str, checkpoint_token: str, *, marker: str | None = None, **_: Any
    ) -> ExecutionState:
        self.pages += 1
        return ExecutionState(operations=[], next_marker="again")


async def test_a_repeated_history_marker_stops_paging_with_a_clear_failure() -> None:
    memory = MemoryBackend(first_page_size=0)
    backend = _RepeatingMarker(memory)

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> None:
        raise AssertionError("never runs")

    output = await handler.invoke_output(memory.start_execution(None), backend=backend)
    assert output.status is InvocationStatus.FAILED
    assert output.error is not None
    assert "marker 'again' twice" in (output.error.error_message or "")
    assert backend.pages == 2


@pytest.mark.parametrize("first_page_size", [0, 1, 2])
async def test_the_execution_operation_is_found_on_whichever_page_it_is(
    first_page_size: int,
) -> None:
    memory = MemoryBackend(page_size=2, first_page_size=first_page_size)
    runs: dict[str, int] = {}
    result = await LocalRunner(_counting_workflow(runs), backend=memory).run({"tag": "paged"})
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == ["a", "b", "paged"]
    assert runs == {"a": 1, "b": 1}


async def test_always_replay_runs_an_at_most_once_step_as_a_live_run_does() -> None:
    runs: list[int] = []

    async def charge() -> str:
        runs.append(1)
        return "charged"

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        await ctx.step(one, name="before")
        charged = await ctx.step(
            charge,
            name="charge",
            semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY,
            retry=RetryPolicy.none(),
        )
        await ctx.wait(1)
        return charged

    live = await LocalRunner(handler).run(None)
    replayed = await LocalRunner(handler, always_replay=True).run(None)
    assert live.status is replayed.status is InvocationStatus.SUCCEEDED
    assert live.result == replayed.result == "charged"
    assert runs == [1, 1]  # once per run
    assert replayed.invocations > live.invocations


async def test_a_runner_refuses_a_faulty_backend_over_anything_but_memory() -> None:
    class Other(MemoryBackend):
        pass

    LocalRunner(durable_execution(_noop), backend=FaultyBackend(Other()))  # a subclass is fine
    with pytest.raises(TypeError, match="wrapping a MemoryBackend"):
        LocalRunner(durable_execution(_noop), backend=FaultyBackend(_RepeatingMarker(Other())))


async def _noop(event: Any, ctx: DurableContext) -> None:
    return None


async def test_the_runner_treats_an_injected_stale_token_as_a_newer_invocation() -> None:
    memory = MemoryBackend(first_page_size=0)
    faulty = FaultyBackend(memory)
    faulty.inject(Fault.stale_token(), at=2)
    faulty.inject(Fault.stale_token(), method="get_state", at=1)
    runs: dict[str, int] = {}
    result = await LocalRunner(_counting_workflow(runs), backend=faulty).run({"tag": "s"})
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == ["a", "b", "s"]
    assert result.failed_invocations == 0
    assert [c.fault for c in faulty.calls if c.fault] == ["stale_token", "stale_token"]


async def test_a_crash_after_the_checkpoint_that_ended_the_execution_ends_the_run() -> None:
    # A result too large for the response is checkpointed as the EXECUTION's own SUCCEED; when
    # that response is lost the execution has ended all the same, and nothing invokes it again.
    big = "r" * (7 * 1024 * 1024)

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        await ctx.step(one, name="one")
        return big

    memory = MemoryBackend()
    faulty = FaultyBackend(memory)
    faulty.inject(
        Fault.lose_response(),
        when=lambda call: call.has_update(type=OperationType.EXECUTION),
    )
    result = await LocalRunner(handler, backend=faulty).run(None)
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == big
    assert result.failed_invocations == 1
    assert result.invocations == 1
