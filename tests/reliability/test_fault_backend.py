"""`FaultyBackend`: each fault does what it promises, and rules pick the calls they hit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from durable_async import (
    Backend,
    BackendUnavailableError,
    CheckpointRejectedError,
    DurableContext,
    InvocationStatus,
    OperationType,
    StaleCheckpointTokenError,
    durable_execution,
)
from durable_async._models import OperationAction, OperationUpdate
from durable_async.testing import (
    BackendCall,
    Fault,
    FaultyBackend,
    LocalRunner,
    MemoryBackend,
)

pytestmark = pytest.mark.anyio


def start(op_id: str, name: str | None = None) -> OperationUpdate:
    return OperationUpdate(
        id=op_id, type=OperationType.STEP, action=OperationAction.START, name=name
    )


class Execution:
    """One execution on a `MemoryBackend`, reached through a `FaultyBackend`."""

    def __init__(self, **kw: Any) -> None:
        self.memory = MemoryBackend()
        self.faulty = FaultyBackend(self.memory, **kw)
        event = self.memory.start_execution(None)
        self.arn, self.token = event.durable_execution_arn, event.checkpoint_token

    async def checkpoint(self, *updates: OperationUpdate) -> None:
        response = await self.faulty.checkpoint(self.arn, self.token, list(updates))
        assert response.checkpoint_token is not None
        self.token = response.checkpoint_token

    async def outcomes(self, n: int) -> list[str]:
        """Make `n` empty checkpoints; say "ok" or the name of what each raised."""
        out = []
        for _ in range(n):
            try:
                await self.checkpoint()
            except Exception as exc:
                out.append(type(exc).__name__)
            else:
                out.append("ok")
        return out

    def applied(self) -> list[str]:
        return [op.id for op in self.memory.operations(self.arn)[1:]]


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        (Fault.transient(), BackendUnavailableError, "ServiceException"),
        (Fault.throttle(), BackendUnavailableError, "TooManyRequestsException"),
        (Fault.permanent("KMSAccessDeniedException"), CheckpointRejectedError, "KMSAccess"),
        (Fault.stale_token(), StaleCheckpointTokenError, None),
        (Fault.timeout(), TimeoutError, None),
        (Fault.connection_error(), ConnectionResetError, None),
        (Fault.raise_(KeyError("boom")), KeyError, None),
    ],
    ids=["transient", "throttle", "permanent", "stale_token", "timeout", "connection", "raise"],
)
async def test_an_error_fault_raises_and_the_update_never_reaches_the_backend(
    fault: Fault, error: type[BaseException], code: str | None
) -> None:
    ex = Execution()
    ex.faulty.inject(fault, at=1)
    with pytest.raises(error) as raised:
        await ex.checkpoint(start("s1"))
    if code is not None:
        assert getattr(raised.value, "code", "").startswith(code)
    assert ex.applied() == []
    await ex.checkpoint(start("s1"))  # the token was not used up either
    assert ex.applied() == ["s1"]
    assert [c.fault for c in ex.faulty.calls] == [fault.kind, None]


async def test_transient_and_permanent_carry_the_given_message() -> None:
    ex = Execution()
    ex.faulty.inject(Fault.transient("down for lunch"), at=1)
    ex.faulty.inject(Fault.permanent(message="no such thing"), at=2)
    with pytest.raises(BackendUnavailableError, match="down for lunch"):
        await ex.checkpoint()
    with pytest.raises(CheckpointRejectedError, match="no such thing") as raised:
        await ex.checkpoint()
    assert raised.value.code == "InvalidParameterValueException"


async def test_a_lost_response_applies_the_update_then_raises_a_timeout() -> None:
    ex = Execution()
    ex.faulty.inject(Fault.lose_response(), at=1)
    with pytest.raises(TimeoutError, match="simulated lost response"):
        await ex.checkpoint(start("s1"))
    assert ex.applied() == ["s1"]
    with pytest.raises(StaleCheckpointTokenError):  # the backend moved on to a new token
        await ex.checkpoint()


async def test_a_lost_response_raises_the_error_it_was_given() -> None:
    ex = Execution()
    ex.faulty.inject(Fault.lose_response(BackendUnavailableError("lost", code="X")), at=1)
    with pytest.raises(BackendUnavailableError, match="lost"):
        await ex.checkpoint(start("s1"))
    assert ex.applied() == ["s1"]


async def test_a_delay_passes_the_call_through() -> None:
    ex = Execution()
    ex.faulty.inject(Fault.delay(0.001))
    await ex.checkpoint(start("s1"))
    assert ex.applied() == ["s1"]
    assert ex.faulty.calls[0].fault == "delay"


async def test_a_hung_call_can_be_cancelled_and_never_reaches_the_backend() -> None:
    ex = Execution()
    ex.faulty.inject(Fault.hang())
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ex.checkpoint(start("s1")), timeout=0.01)
    assert ex.applied() == []
    assert ex.faulty.calls[0].fault == "hang"


async def test_get_state_faults_leave_checkpoints_alone() -> None:
    ex = Execution()
    ex.faulty.inject(Fault.throttle(), method="get_state")
    await ex.checkpoint(start("s1"))
    with pytest.raises(BackendUnavailableError):
        await ex.faulty.get_state(ex.arn, ex.token)
    assert [(c.method, c.fault) for c in ex.faulty.calls] == [
        ("checkpoint", None),
        ("get_state", "throttle"),
    ]


async def test_at_picks_call_numbers() -> None:
    ex = Execution()
    ex.faulty.inject(Fault.transient(), at=[2, 4])
    ex.faulty.inject(Fault.throttle(), at=5)
    outcomes = await ex.outcomes(6)
    assert [c.fault for c in ex.faulty.calls] == [
        None,
        "transient",
        None,
        "transient",
        "throttle",
        None,
    ]
    assert outcomes == [
        "ok" if c.fault is None else "BackendUnavailableError" for c in ex.faulty.calls
    ]


async def test_when_picks_calls_by_their_content() -> None:
    ex = Execution()
    seen: list[BackendCall] = []

    def charging(call: BackendCall) -> bool:
        seen.append(call)
        return call.has_update(name="charge")

    ex.faulty.inject(Fault.transient(), when=charging)
    await ex.checkpoint(start("s1", "reserve"))
    with pytest.raises(BackendUnavailableError):
        await ex.checkpoint(start("s2", "charge"))
    assert ex.applied() == ["s1"]
    assert [(c.number, c.fault) for c in seen] == [(1, None), (2, None)]  # before the fault


async def test_times_caps_how_often_a_rule_applies() -> None:
    ex = Execution()
    rule = ex.faulty.inject(Fault.transient(), times=2)
    assert await ex.outcomes(3) == ["BackendUnavailableError", "BackendUnavailableError", "ok"]
    assert rule.applied == 2


async def test_the_first_matching_rule_wins_until_it_is_used_up() -> None:
    ex = Execution()
    ex.faulty.inject(Fault.timeout(), times=1)
    ex.faulty.inject(Fault.transient(), at=[1, 3])
    ex.faulty.inject(Fault.throttle())
    await ex.outcomes(3)
    assert [c.fault for c in ex.faulty.calls] == ["timeout", "throttle", "transient"]


async def test_at_and_when_must_both_hold() -> None:
    ex = Execution()
    ex.faulty.inject(Fault.transient(), at=[1, 2], when=lambda c: c.has_update())
    await ex.checkpoint()
    with pytest.raises(BackendUnavailableError):
        await ex.checkpoint(start("s1"))
    await ex.checkpoint(start("s2"))
    assert ex.applied() == ["s2"]


async def test_remove_and_clear_stop_rules_but_keep_the_calls() -> None:
    ex = Execution()
    first = ex.faulty.inject(Fault.transient())
    ex.faulty.inject(Fault.throttle())
    first.remove()
    first.remove()  # a second time does nothing
    with pytest.raises(BackendUnavailableError, match="throttling"):
        await ex.checkpoint()
    ex.faulty.clear()
    await ex.checkpoint()
    assert [c.fault for c in ex.faulty.calls] == ["throttle", None]
    assert first.applied == 0


async def test_calls_are_recorded_and_numbered_per_method() -> None:
    ex = Execution(page_size=1)
    await ex.checkpoint(start("s1", "one"))
    page = await ex.faulty.get_state(ex.arn, ex.token)
    await ex.faulty.get_state(ex.arn, ex.token, marker=page.next_marker)
    await ex.checkpoint()
    calls = ex.faulty.calls
    assert [(c.method, c.number) for c in calls] == [
        ("checkpoint", 1),
        ("get_state", 1),
        ("get_state", 2),
        ("checkpoint", 2),
    ]
    assert calls[0].updates == (start("s1", "one"),)
    assert calls[0].marker is None
    assert calls[2].updates == ()
    assert calls[2].marker == page.next_marker == "1"
    assert all(c.execution_arn == ex.arn for c in calls)
    assert calls[1].checkpoint_token == calls[2].checkpoint_token == calls[3].checkpoint_token
    assert ex.faulty.count("checkpoint") == ex.faulty.count("get_state") == 2


def test_has_update_matches_every_given_field() -> None:
    succeed = OperationUpdate(
        id="w", type=OperationType.WAIT, action=OperationAction.SUCCEED, name="nap"
    )
    call = BackendCall(1, "checkpoint", "arn", "token", (start("s", "charge"), succeed))
    assert call.has_update()
    assert call.has_update(type=OperationType.STEP, action=OperationAction.START, name="charge")
    assert call.has_update(action=OperationAction.SUCCEED)
    assert not call.has_update(type=OperationType.STEP, name="nap")
    assert not call.has_update(type=OperationType.CALLBACK)
    assert not BackendCall(1, "get_state", "arn", "token").has_update()


async def test_page_size_splits_get_state_into_pages_that_hold_everything() -> None:
    ex = Execution(page_size=2)
    await ex.checkpoint(*(start(f"s{i}") for i in range(5)))
    ids: list[str] = []
    marker = None
    while True:
        page = await ex.faulty.get_state(ex.arn, ex.token, marker=marker, max_items=100)
        assert len(page.operations) <= 2
        ids += [op.id for op in page.operations]
        marker = page.next_marker
        if marker is None:
            break
    assert ids == [op.id for op in ex.memory.operations(ex.arn)]
    assert ex.faulty.count("get_state") == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"at": 0}, "at must name call numbers >= 1"),
        ({"at": []}, "at must name call numbers >= 1"),
        ({"times": 0}, "times must be >= 1"),
        ({"method": "invoke"}, "method must be 'checkpoint' or 'get_state'"),
    ],
)
def test_inject_refuses_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaultyBackend().inject(Fault.transient(), **kwargs)


def test_it_is_a_backend_with_the_inner_clock() -> None:
    memory = MemoryBackend()
    faulty = FaultyBackend(memory)
    assert isinstance(faulty, Backend)
    assert faulty.inner is memory
    assert faulty.clock is memory.clock
    assert isinstance(FaultyBackend().inner, MemoryBackend)
    assert Fault.hang().kind == "hang"
    assert Fault.raise_(ValueError()).kind == "raise"


async def test_a_workflow_whose_first_checkpoint_response_is_lost_resumes_to_success() -> None:
    @durable_execution
    async def handler(event: dict[str, str], ctx: DurableContext) -> str:
        a = await ctx.step(lambda: "a", name="a")
        b = await ctx.step(lambda: "b", name="b")
        return f"{event['greeting']} {a}{b}"

    memory = MemoryBackend()
    faulty = FaultyBackend(memory)
    faulty.inject(
        Fault.lose_response(BackendUnavailableError("lost", code="ServiceException")), at=1
    )
    event = memory.start_execution({"greeting": "hi"})
    arn = event.durable_execution_arn
    with pytest.raises(BackendUnavailableError, match="lost"):
        await handler.invoke_output(event, backend=faulty)
    assert faulty.calls[0].fault == "lose_response"
    assert faulty.calls[0].has_update(type=OperationType.STEP, name="a")
    assert any(op.name == "a" for op in memory.operations(arn))  # it reached the service

    result = await LocalRunner(handler, backend=memory).resume(arn).result()
    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == "hi ab"
