"""Operation names are checked when the operation is called, against the service's own rule.

The service takes names of 1-256 printable ASCII characters and refuses a checkpoint carrying any
other, after the step body ran, as a FAILED execution the handler cannot catch. Every durable call
checks its name first and raises a `ValidationError` the handler can catch, before any side
effect.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore
import pytest
from hypothesis import given
from hypothesis import strategies as st

from durable_async import (
    CheckpointRejectedError,
    DurableContext,
    DurableOperation,
    InvocationStatus,
    OperationType,
    ValidationError,
    WaitDecision,
    durable_execution,
)
from durable_async._models import OperationAction, OperationUpdate
from durable_async._names import is_valid_name
from durable_async.testing import LocalRunner, MemoryBackend

pytestmark = pytest.mark.anyio

BAD_NAMES = {
    "non-ascii": "café",
    "too-long": "n" * 300,
    "newline": "line\nbreak",
    "empty": "",
    "delete-char": "del\x7f",
}
GOOD_EDGES = ["x", " ", "~", "n" * 256, "".join(chr(c) for c in range(0x20, 0x7F))]


def _service_name_rule() -> tuple[re.Pattern[str], int, int]:
    """`OperationName`'s pattern and length bounds, read from botocore's Lambda service model."""
    model = Path(botocore.__file__).parent / "data/lambda/2015-03-31/service-2.json.gz"
    shape = json.loads(gzip.decompress(model.read_bytes()))["shapes"]["OperationName"]
    return re.compile(shape["pattern"]), shape["min"], shape["max"]


SERVICE_PATTERN, SERVICE_MIN, SERVICE_MAX = _service_name_rule()


def _service_accepts(name: str) -> bool:
    return SERVICE_MIN <= len(name) <= SERVICE_MAX and SERVICE_PATTERN.fullmatch(name) is not None


@given(st.text(max_size=300) | st.text(st.characters(max_codepoint=0x80), max_size=300))
def test_the_name_rule_is_the_service_models_rule(name: str) -> None:
    assert is_valid_name(name) == _service_accepts(name)


@pytest.mark.parametrize("name", GOOD_EDGES, ids=["one", "space", "tilde", "256", "all"])
def test_the_edges_of_the_rule_are_accepted_by_the_service_model(name: str) -> None:
    assert _service_accepts(name)
    assert is_valid_name(name)


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
async def test_a_bad_step_name_raises_at_the_call_before_the_body_runs(name: str) -> None:
    ran: list[str] = []
    raised: list[ValidationError] = []

    def body() -> str:
        ran.append("body")
        return "done"

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        try:
            await ctx.step(body, name=name)
        except ValidationError as exc:
            raised.append(exc)
        return "handled"

    result = await LocalRunner(handler).run()
    assert result.status is InvocationStatus.SUCCEEDED  # the handler caught it
    assert ran == []
    assert [op.type for op in result.operations] == [OperationType.EXECUTION]
    assert len(raised) == 1


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("café", "'café' has 'é' (U+00E9) at index 3"),
        ("n" * 300, f"{'n' * 40!r}... (300 characters) is 300 characters long"),
        ("line\nbreak", "'line\\nbreak' has '\\n' (U+000A) at index 4"),
        ("", "'' is empty"),
    ],
    ids=["non-ascii", "too-long", "newline", "empty"],
)
async def test_the_error_names_the_operation_the_name_and_the_rule(name: str, says: str) -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        with pytest.raises(ValidationError) as info:
            ctx.wait(5, name=name)
        return str(info.value)

    message = (await LocalRunner(handler).run()).result
    assert message.startswith(f"Wait name {says}")
    assert "1 to 256 printable ASCII characters (' ' to '~')" in message


def _noop(*args: Any) -> None:
    return None


async def _child_body(child: DurableContext) -> None:
    return None


OPERATIONS: dict[str, Callable[[DurableContext, str], DurableOperation[Any]]] = {
    "Step": lambda ctx, name: ctx.step(_noop, name=name),
    "Wait": lambda ctx, name: ctx.wait(1, name=name),
    "Callback": lambda ctx, name: ctx.create_callback(name=name),
    "WaitForCallback": lambda ctx, name: ctx.wait_for_callback(_noop, name=name),
    "ChainedInvoke": lambda ctx, name: ctx.invoke("target", name=name),
    "WaitForCondition": lambda ctx, name: ctx.wait_for_condition(
        lambda s: s, initial_state=0, wait_strategy=lambda s, n: WaitDecision(True), name=name
    ),
    "RunInChildContext": lambda ctx, name: ctx.run_in_child_context(_child_body, name=name),
    "Map": lambda ctx, name: ctx.map([1], lambda c, item, i: _child_body(c), name=name),
    "Parallel": lambda ctx, name: ctx.parallel([_child_body], name=name),
    "Any": lambda ctx, name: ctx.any(ctx.wait(1), name=name),
    "Race": lambda ctx, name: ctx.race(ctx.wait(1), name=name),
}


@pytest.mark.parametrize("kind", OPERATIONS)
async def test_every_operation_checks_its_name_at_the_call(kind: str) -> None:
    make = OPERATIONS[kind]

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        with pytest.raises(ValidationError) as info:
            make(ctx, "café")
        return str(info.value)

    # A refused any/race does not take its inputs over: the wait given to it is reported as
    # never awaited, as a coroutine passed to a call that raised would be.
    unawaited = "ignore" if kind in ("Any", "Race") else "error"
    result = await LocalRunner(handler, unawaited=unawaited).run()
    assert result.result.startswith(f"{kind} name 'café'")
    assert [op.type for op in result.operations] == [OperationType.EXECUTION]


async def test_a_refused_call_takes_no_id_so_the_next_call_replays() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> int:
        with pytest.raises(ValidationError):
            ctx.step(_noop, name="café")
        await ctx.wait(1, name="pause")  # suspends: the step below is found again on replay
        return await ctx.step(lambda: 7, name="cafe")

    result = await LocalRunner(handler).run()
    assert result.status is InvocationStatus.SUCCEEDED, result.error
    assert result.invocations == 2
    assert [op.name for op in result.operations[1:]] == ["pause", "cafe"]


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
async def test_the_embedded_backend_still_refuses_what_the_service_refuses(name: str) -> None:
    backend = MemoryBackend()
    event = backend.start_execution(None)
    start = OperationUpdate(
        id="s1", type=OperationType.STEP, action=OperationAction.START, name=name
    )
    with pytest.raises(CheckpointRejectedError, match="Invalid Name"):
        await backend.checkpoint(event.durable_execution_arn, event.checkpoint_token, [start])


async def test_map_item_names_are_checked_before_any_item_runs() -> None:
    ran: list[int] = []

    async def item(ctx: DurableContext, value: int, index: int) -> int:
        ran.append(index)
        return value

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        with pytest.raises(ValidationError) as info:
            ctx.map([1, 2, 3], item, item_namer=lambda value, i: "ok" if i < 2 else "élan")
        return str(info.value)

    result = await LocalRunner(handler).run()
    assert result.result.startswith("MapIteration name 'élan'")
    assert ran == []
    assert [op.type for op in result.operations] == [OperationType.EXECUTION]


async def test_a_map_item_name_that_is_not_a_string_is_refused() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        with pytest.raises(ValidationError) as info:
            ctx.map([1], _item, item_namer=lambda value, i: i)  # type: ignore[arg-type,return-value]
        return str(info.value)

    result = await LocalRunner(handler).run()
    assert result.result.startswith("MapIteration name 0 is a int, not a str")


async def _item(ctx: DurableContext, value: int, index: int) -> int:
    return value


async def test_a_default_name_taken_from_the_function_is_checked_too() -> None:
    async def naïve() -> int:
        return 1

    async def brañch(ctx: DurableContext) -> int:
        return 1

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[str]:
        messages = []
        with pytest.raises(ValidationError) as step_error:
            ctx.step(naïve)
        messages.append(str(step_error.value))
        with pytest.raises(ValidationError) as branch_error:
            ctx.parallel([brañch])
        messages.append(str(branch_error.value))
        return messages

    result = await LocalRunner(handler).run()
    assert [m.split(" has ")[0] for m in result.result] == [
        "Step name 'naïve'",
        "ParallelBranch name 'brañch'",
    ]


async def test_names_at_the_edges_of_the_rule_are_checkpointed() -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> None:
        for name in GOOD_EDGES:
            await ctx.step(_noop, name=name)

    result = await LocalRunner(handler).run()
    assert result.status is InvocationStatus.SUCCEEDED, result.error
    assert [op.name for op in result.operations[1:]] == GOOD_EDGES
