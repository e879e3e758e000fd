"""The replay fuzzer: random asyncio workflow programs replay deterministically, whatever order
their operations complete in.

Each generated program runs three ways on the embedded backend:

1. live, re-invoked only when it suspends;
2. with `always_replay`: every invocation ends right after its first checkpoint reaches the
   service, so the program replays from every point of its history;
3. with a crash after a random checkpoint (the response is lost and the invocation dies), then
   resumed from the backend's stored state.

Each run must end SUCCEEDED with the result a plain-Python evaluation gives, never raise
`NonDeterministicExecutionError`, never hang (a hard timeout per run), and no step body may
start after its outcome was recorded; in the live run every step body succeeds exactly once.

CI runs `FUZZ_EXAMPLES` examples (default 200); `nox -s fuzz` runs 10,000.
"""

from __future__ import annotations

import asyncio
import os
import random
from typing import Any

import pytest
from _programs import Interpreter, Node, Step, answer_callbacks, describe, expected, leaves
from _programs import programs as program_strategy
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from durable_async import (
    DurableContext,
    InvocationStatus,
    MemoryBackend,
    durable_execution,
)
from durable_async.testing import Fault, FaultyBackend, LocalRunner, RunResult

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
RUN_TIMEOUT = 20.0  # seconds of real time per run: only a hang comes near it

settings.register_profile(
    "replay-fuzz",
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=os.environ.get("FUZZ_SEED") is None,
    # FUZZ_SHRINK=0 reports a failing program as found, without minimising it first.
    phases=[p for p in Phase if p is not Phase.shrink or os.environ.get("FUZZ_SHRINK") != "0"],
)


def handler_for(tree: Node, interpreter: Interpreter) -> Any:
    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> Any:
        if not interpreter.arn:
            interpreter.arn.append(ctx.execution_arn)
        return await interpreter.run(tree, ctx)

    return handler


async def run_program(
    tree: Node, mode: str, rng: random.Random, crash_at: int = 0
) -> tuple[RunResult, Interpreter, int]:
    backend = MemoryBackend()
    wire = FaultyBackend(backend)
    if mode == "crash":  # the response of checkpoint `crash_at` is lost after it applied
        wire.inject(Fault.lose_response(), at=crash_at)
    interpreter = Interpreter(backend)
    handler = handler_for(tree, interpreter)
    runner = LocalRunner(handler, backend=wire, always_replay=mode == "replay")
    running = runner.start(None)
    answerer = asyncio.create_task(answer_callbacks(backend, running.execution_arn, rng))
    try:
        async with asyncio.timeout(RUN_TIMEOUT):
            # The runner invokes again after the crash, as Lambda does.
            result = await running.result()
    except TimeoutError:
        raise AssertionError(f"{mode} run hung:\n{describe(tree)}") from None
    finally:
        answerer.cancel()
    crashes = result.failed_invocations
    return result, interpreter, crashes


def check(tree: Node, mode: str, run: RunResult, interpreter: Interpreter) -> None:
    where = f"{mode} run of\n{describe(tree)}"
    assert run.status is InvocationStatus.SUCCEEDED, f"{run.error}\n{where}"
    assert run.result == expected(tree), where
    assert not interpreter.violations, f"{interpreter.violations}\n{where}"


async def fuzz_one(tree: Node, seed: int, *, always_replay: bool = True) -> None:
    rng = random.Random(seed)
    live, interpreter, _ = await run_program(tree, "live", rng)
    check(tree, "live", live, interpreter)
    steps = [leaf for leaf in leaves(tree) if isinstance(leaf, Step)]
    for step in steps:  # live, nothing is lost: every body succeeded exactly once
        assert interpreter.successes[step.label] == 1, f"{step}\n{describe(tree)}"

    if always_replay:
        replayed, interpreter, _ = await run_program(tree, "replay", rng)
        check(tree, "replay", replayed, interpreter)
        replayed_ids = sorted(op.id for op in replayed.operations)
        assert replayed_ids == sorted(op.id for op in live.operations)

    calls = max(1, live.invocations)  # at least one checkpoint call per invocation
    crash_at = rng.randint(1, max(calls, _checkpoint_calls(live)))
    crashed, interpreter, _ = await run_program(tree, "crash", rng, crash_at)
    check(tree, "crash", crashed, interpreter)
    assert sorted(op.id for op in crashed.operations) == sorted(op.id for op in live.operations)


def _checkpoint_calls(run: RunResult) -> int:
    # Every operation took at least one checkpoint call to start or finish; a crash is drawn
    # among that many calls (a draw past the last call simply never crashes).
    return len(run.operations)


@pytest.mark.timeout(RUN_TIMEOUT * 3 + EXAMPLES * 2)
@settings(settings.get_profile("replay-fuzz"))
@given(tree=program_strategy(at_most_once=False), seed=st.integers(0, 2**32 - 1))
def test_random_programs_replay_deterministically(tree: Node, seed: int) -> None:
    asyncio.run(fuzz_one(tree, seed))


# Programs with at-most-once steps run the same three ways: `always_replay` lets through the
# checkpoint that starts an at-most-once attempt, as a live run would; the crash run may interrupt
# one, and its retry policy gives it another attempt.
@pytest.mark.timeout(RUN_TIMEOUT * 3 + EXAMPLES)
@settings(settings.get_profile("replay-fuzz"), max_examples=max(1, EXAMPLES // 4))
@given(tree=program_strategy(at_most_once=True), seed=st.integers(0, 2**32 - 1))
def test_random_programs_with_at_most_once_steps_replay_and_survive_a_crash(
    tree: Node, seed: int
) -> None:
    asyncio.run(fuzz_one(tree, seed))
