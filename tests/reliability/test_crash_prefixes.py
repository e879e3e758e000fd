"""A crash at any checkpoint loses nothing and runs nothing twice.

Each workflow below first runs crash-free through a `FaultyBackend` that injects nothing, which
counts its checkpoint calls, N. Then, for every k in 1..N, a fresh run of the same workflow is
crashed at checkpoint call k, and the `LocalRunner` carries on as Lambda does when an invocation
fails (it invokes again, replaying the history the service kept). Two crashes are tried at every
k:

- `update-lost`: the update never reaches the service (`Fault.transient()`);
- `response-lost`: the service applies the update, then the response is lost
  (`Fault.lose_response(BackendUnavailableError(...))`).

Each crashed run must:

1. end with the crash-free run's status and result;
2. lose no acknowledged update: every operation of the crash-free run is in the crashed run's
   final history with the same id, type, name and terminal status (and, for steps, callbacks
   and contexts, the same result payload), and there is no operation the crash-free run lacks;
3. run no step body twice when that is not allowed. Every body entry is recorded with its
   operation id and attempt number (an `on_attempt_start` plugin hook hands it to the body),
   and checked against what the service held at that moment:
   - no body starts once its step's outcome is recorded (terminal), nor an attempt whose
     failure is recorded: a body whose SUCCEED reached the service never runs again;
   - an at-most-once body starts only when its attempt's START is recorded, each attempt number
     runs at most once, and it runs at most as many times as the step recorded attempts (a
     crash right after the START interrupts that attempt: its body ran 0 times and the retry
     policy gave the step a new attempt);
   - an at-least-once body ran for every recorded attempt (it may run again for an attempt
     whose outcome was never recorded).

Also, each crashed run must show that the fault fired (checkpoint call k carried it, and the
runner counted `failed_invocations >= 1`), and end (within `max_invocations`, and a real-time
bound that only a hang comes near).

Determinism: step bodies are `async def` and never wait on real time, timers run on the
runner's `ManualClock`, the checkpoint window is zero (fire-and-forget updates leave on the next
loop hop, not on a timer), and callbacks are answered only while the execution is suspended (an
`on_invocation_end` hook says when). So a workflow makes the same checkpoint calls on every run,
under any load, and each crashed run is checked to have made the crash-free run's first k calls:
checkpoint k is the same point of the workflow in both.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import pytest

from durable_async import (
    AttemptStart,
    BackendUnavailableError,
    DurableContext,
    DurablePlugin,
    InvocationEnd,
    InvocationStart,
    InvocationStatus,
    Operation,
    OperationStatus,
    OperationType,
    RetryPolicy,
    StepSemantics,
    durable_execution,
)
from durable_async.testing import (
    Fault,
    FaultyBackend,
    LocalRunner,
    MemoryBackend,
    RunningExecution,
    RunResult,
)

pytestmark = pytest.mark.anyio

MAX_INVOCATIONS = 200
RUN_TIMEOUT = 10.0  # seconds of real time per run; a run takes milliseconds, only a hang nears it

AT_MOST_ONCE = StepSemantics.AT_MOST_ONCE_PER_RETRY
# Fire-and-forget updates (at-least-once STARTs) leave on the next loop hop rather than on a
# real-time timer, so how updates are grouped into checkpoint calls never depends on timing.
WINDOW = 0

# The step attempt about to run, (operation id, attempt number): set by `Recorder`'s
# `on_attempt_start` hook in the step's own task, right before the body is called.
_ATTEMPT: ContextVar[tuple[str, int] | None] = ContextVar("crash_prefixes_attempt", default=None)


async def hops(n: int = 3) -> None:
    """A body's work: a few loop hops, so concurrent bodies interleave and, with a zero
    checkpoint window, a fire-and-forget START leaves before the body's outcome does."""
    for _ in range(n):
        await asyncio.sleep(0)


class Flaky(Exception):
    """The planned failure of a step attempt."""


@dataclass(frozen=True)
class Entry:
    """One start of a step body."""

    op_id: str
    label: str
    attempt: int
    at_most_once: bool


@dataclass
class Recorder(DurablePlugin):
    """Watches one run: every step body entry, checked against the service's state, and
    whether an invocation is running (callbacks are answered only while none is)."""

    memory: MemoryBackend
    arn: str = ""
    entries: list[Entry] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    callback_ids: dict[str, set[str]] = field(default_factory=dict)
    suspended: asyncio.Event = field(default_factory=asyncio.Event)

    # -- plugin hooks --------------------------------------------------------------------------

    def on_invocation_start(self, event: InvocationStart) -> None:
        self.suspended.clear()

    def on_invocation_end(self, event: InvocationEnd) -> None:
        self.suspended.set()  # (a crashed invocation never gets here)

    def on_attempt_start(self, event: AttemptStart) -> None:
        _ATTEMPT.set((event.operation_id, event.attempt))

    # -- step bodies ---------------------------------------------------------------------------

    def body(
        self, label: str, *, fails: int = 0, at_most_once: bool = False
    ) -> Callable[..., Awaitable[str]]:
        """A step body that fails attempts 1..`fails`, then returns a value naming its args."""

        async def run(*args: Any) -> str:
            attempt = self._enter(label, at_most_once)
            await hops()
            if attempt <= fails:
                raise Flaky(f"planned failure of {label}, attempt {attempt}")
            return f"{label}({','.join(map(str, args))})"

        return run

    def callback_user(self, label: str) -> Callable[[str], Awaitable[str]]:
        """A step body handed a callback id (a submitter, a step sending the id away)."""

        async def run(callback_id: str) -> str:
            self._enter(label, False)
            self.callback_ids.setdefault(label, set()).add(callback_id)
            await hops()
            return f"{label}-sent"  # not the id: that differs between runs

        return run

    def _enter(self, label: str, at_most_once: bool) -> int:
        current = _ATTEMPT.get()
        assert current is not None, f"body {label} ran without an attempt start"
        op_id, attempt = current
        self.entries.append(Entry(op_id, label, attempt, at_most_once))
        op = next((o for o in self.memory.operations(self.arn) if o.id == op_id), None)
        failed = (op.step_details.attempt or 0) if op is not None and op.step_details else 0
        status = op.status.value if op is not None else "absent"
        where = f"step {label} ({op_id}) attempt {attempt}"
        if op is not None and op.status.is_terminal:
            self.violations.append(f"{where} ran after the step ended {status}")
        elif failed >= attempt:
            self.violations.append(f"{where} ran after its failure was recorded")
        elif at_most_once and (status != "STARTED" or failed != attempt - 1):
            self.violations.append(
                f"at-most-once {where} ran before its START was recorded: {status}, "
                f"{failed} failed attempts recorded"
            )
        return attempt


# -- the workflows ----------------------------------------------------------------------------


def sequential(rec: Recorder) -> Any:
    """At-least-once steps with a wait between them."""

    @durable_execution(plugins=[rec], checkpoint_window=WINDOW)
    async def handler(event: Any, ctx: DurableContext) -> Any:
        a = await ctx.step(rec.body("a"), event, name="a")
        b = await ctx.step(rec.body("b"), a, name="b")
        await ctx.wait(30, name="pause")
        c = await ctx.step(rec.body("c"), b, name="c")
        return [a, b, c]

    return handler


def retries(rec: Recorder) -> Any:
    """An at-most-once step, a step that fails twice then succeeds, an at-most-once step that
    fails once then succeeds, and a final step."""

    @durable_execution(plugins=[rec], checkpoint_window=WINDOW)
    async def handler(event: Any, ctx: DurableContext) -> Any:
        charge = await ctx.step(
            rec.body("charge", at_most_once=True),
            event,
            name="charge",
            retry=RetryPolicy.fixed(3, 1),
            semantics=AT_MOST_ONCE,
        )
        flaky = await ctx.step(
            rec.body("flaky", fails=2), name="flaky", retry=RetryPolicy.fixed(5, 2)
        )
        once = await ctx.step(
            rec.body("flaky-once", fails=1, at_most_once=True),
            name="flaky-once",
            retry=RetryPolicy.fixed(4, 3),
            semantics=AT_MOST_ONCE,
        )
        final = await ctx.step(rec.body("final"), charge, flaky, once, name="final")
        return [charge, flaky, once, final]

    return handler


CALLBACKS = ("approval", "receipt")


def callbacks(rec: Recorder) -> Any:
    """`wait_for_callback` and `create_callback`, both answered by the test."""

    @durable_execution(plugins=[rec], checkpoint_window=WINDOW)
    async def handler(event: Any, ctx: DurableContext) -> Any:
        order = await ctx.step(rec.body("prepare"), event, name="prepare")
        approval = await ctx.wait_for_callback(
            rec.callback_user("submitter"), name="approval", timeout=3600
        )
        receipt = await ctx.create_callback(name="receipt", timeout=3600)
        sent = await ctx.step(rec.callback_user("send"), receipt.callback_id, name="send")
        answer = await receipt
        done = await ctx.step(rec.body("finish"), approval, answer, name="finish")
        return [order, approval, sent, answer, done]

    return handler


def batches(rec: Recorder) -> Any:
    """`ctx.map` over 4 items, each a step, then `ctx.parallel` of 2 branches."""

    async def item(item_ctx: DurableContext, x: int, index: int) -> str:
        return await item_ctx.step(rec.body(f"item-{x}"), x, index, name=f"item-{x}")

    async def left(branch: DurableContext) -> str:
        return await branch.step(rec.body("left"), name="left")

    async def right(branch: DurableContext) -> str:
        once = await branch.step(
            rec.body("right", at_most_once=True),
            name="right",
            retry=RetryPolicy.fixed(3, 1),
            semantics=AT_MOST_ONCE,
        )
        return await branch.step(rec.body("right-2"), once, name="right-2")

    @durable_execution(plugins=[rec], checkpoint_window=WINDOW)
    async def handler(event: Any, ctx: DurableContext) -> Any:
        mapped = await ctx.map([1, 2, 3, 4], item, name="items")
        mapped.raise_if_failed()
        branches = await ctx.parallel([left, right], name="branches")
        branches.raise_if_failed()
        return [mapped.results(), branches.results()]

    return handler


def nested(rec: Recorder) -> Any:
    """A child context holding two steps and a wait, then `asyncio.gather` of two steps."""

    async def inner(child: DurableContext) -> list[str]:
        a = await child.step(rec.body("inner-a"), name="inner-a")
        await child.wait(5, name="inner-wait")
        b = await child.step(rec.body("inner-b"), a, name="inner-b")
        return [a, b]

    @durable_execution(plugins=[rec], checkpoint_window=WINDOW)
    async def handler(event: Any, ctx: DurableContext) -> Any:
        pair = await ctx.run_in_child_context(inner, name="child")
        x, y = await asyncio.gather(
            ctx.step(rec.body("x"), name="x"),
            ctx.step(
                rec.body("y", at_most_once=True),
                name="y",
                retry=RetryPolicy.fixed(3, 1),
                semantics=AT_MOST_ONCE,
            ),
        )
        return [pair, x, y]

    return handler


WORKFLOWS: dict[str, Callable[[Recorder], Any]] = {
    "sequential": sequential,
    "retries": retries,
    "callbacks": callbacks,
    "batches": batches,
    "nested": nested,
}

CRASHES: dict[str, Callable[[], Fault]] = {
    "update-lost": lambda: Fault.transient("crash: the update never reached the service"),
    "response-lost": lambda: Fault.lose_response(
        BackendUnavailableError("crash: the response was lost", code="ServiceException")
    ),
}


# -- running and checking ---------------------------------------------------------------------


@dataclass
class Run:
    result: RunResult
    rec: Recorder
    faulty: FaultyBackend
    answered: dict[str, str]


async def answer_callbacks(
    running: RunningExecution, rec: Recorder, names: tuple[str, ...], answered: dict[str, str]
) -> None:
    """Answer each named callback once, in order, while the execution is suspended."""
    for name in names:
        callback_id = await running.callback_id(name)
        await rec.suspended.wait()
        running.send_callback_success(callback_id, f"{name}-ok")
        answered[name] = callback_id


async def run_workflow(name: str, crash: tuple[str, int] | None = None) -> Run:
    memory = MemoryBackend()
    faulty = FaultyBackend(memory)
    if crash is not None:
        kind, k = crash
        faulty.inject(CRASHES[kind](), method="checkpoint", at=k, times=1)
    rec = Recorder(memory)
    runner = LocalRunner(WORKFLOWS[name](rec), backend=faulty, max_invocations=MAX_INVOCATIONS)
    running = runner.start({"order": 7})
    rec.arn = running.execution_arn
    answered: dict[str, str] = {}
    names = CALLBACKS if name == "callbacks" else ()
    answerer = asyncio.create_task(answer_callbacks(running, rec, names, answered))
    try:
        async with asyncio.timeout(RUN_TIMEOUT):
            result = await running.result()
    except TimeoutError:
        raise AssertionError(f"{name} hung (crash {crash})") from None
    finally:
        answerer.cancel()
        # Collected, not raised: a callback never answered shows in `check_callbacks`.
        await asyncio.gather(answerer, return_exceptions=True)
    return Run(result, rec, faulty, answered)


def outcome(op: Operation) -> tuple[Any, ...]:
    """What must survive a crash: identity, terminal status and the recorded result."""
    result = None
    if op.step_details is not None:
        result = op.step_details.result
    elif op.callback_details is not None:
        result = op.callback_details.result
    elif op.context_details is not None:
        result = op.context_details.result
    return (op.id, op.type, op.name, op.status, result)


def interruptions(result: RunResult) -> Counter[str]:
    """The attempts the history records as interrupted (`StepInterruptedError`), by step id."""
    found: Counter[str] = Counter()
    for event in result.history:
        error = event.get("StepFailedDetails", {}).get("Error", {}).get("Payload", {})
        if error.get("ErrorType") == "StepInterruptedError":
            found[event["Id"]] += 1
    return found


def requests(faulty: FaultyBackend) -> list[list[tuple[str, str]]]:
    """The checkpoint calls made, each as its updates' (operation id, action)."""
    calls = [c for c in faulty.calls if c.method == "checkpoint"]
    return [[(u.id, u.action.value) for u in c.updates] for c in calls]


def check_bodies(run: Run, where: str, *, crash_free: bool) -> Counter[str]:
    """The step-body contract, per step of the final history. Returns how many at-least-once
    attempts ran again ("reran") and how many at-most-once attempts the history records as
    interrupted ("interrupted")."""
    assert not run.rec.violations, f"{where}: {run.rec.violations}"
    steps = {op.id: op for op in run.result.operations_of(OperationType.STEP)}
    ran = {entry.op_id for entry in run.rec.entries}
    assert ran <= set(steps), (
        f"{where}: bodies ran for steps not in the history: {ran - set(steps)}"
    )
    interrupted = interruptions(run.result)
    assert set(interrupted) <= set(steps), where
    seen: Counter[str] = Counter()
    for op_id, op in steps.items():
        entries = [e for e in run.rec.entries if e.op_id == op_id]
        assert op.status is OperationStatus.SUCCEEDED, f"{where}: {op.name} {op.status}"
        assert op.step_details is not None
        recorded = (op.step_details.attempt or 0) + 1  # failed attempts, then the successful one
        attempts = Counter(e.attempt for e in entries)
        label = (
            f"{where}: step {op.name} ({op_id}) ran attempts {sorted(attempts.elements())}, "
            f"{recorded} recorded, {interrupted[op_id]} of them interrupted"
        )
        assert max(attempts, default=0) == recorded, label  # the last one ran, and succeeded
        if crash_free:
            assert attempts == Counter(range(1, recorded + 1)), label
            assert interrupted[op_id] == 0, label
        elif entries[0].at_most_once:
            assert all(n == 1 for n in attempts.values()), f"{label}: an attempt ran twice"
            assert len(entries) <= recorded, label
            # An attempt whose body never ran can only have been interrupted.
            assert recorded - len(entries) <= interrupted[op_id], label
            seen["interrupted"] += interrupted[op_id]
        else:
            assert set(attempts) == set(range(1, recorded + 1)), label
            assert interrupted[op_id] == 0, f"{label}: an at-least-once attempt was interrupted"
            seen["reran"] += len(entries) - recorded
    return seen


def check_callbacks(run: Run, where: str) -> None:
    """Each callback was created once, answered once, and kept its id across replays."""
    ops = run.result.operations_of(OperationType.CALLBACK)
    ids = {op.name: op.callback_details.callback_id for op in ops if op.callback_details}
    assert len(ops) == len(ids) == len(run.answered), f"{where}: {ids} vs {run.answered}"
    assert ids == run.answered, where
    handed_out = {label: run.rec.callback_ids[label] for label in ("submitter", "send")}
    assert handed_out == {"submitter": {ids["approval"]}, "send": {ids["receipt"]}}, where


@pytest.mark.parametrize("kind", list(CRASHES))
@pytest.mark.parametrize("workflow", list(WORKFLOWS))
async def test_a_crash_at_any_checkpoint_loses_nothing_and_repeats_nothing(
    workflow: str, kind: str
) -> None:
    base = await run_workflow(workflow)
    assert base.result.status is InvocationStatus.SUCCEEDED, base.result.error
    assert base.result.failed_invocations == 0
    check_bodies(base, f"{workflow} crash-free", crash_free=True)
    if workflow == "callbacks":
        check_callbacks(base, f"{workflow} crash-free")
    checkpoints = base.faulty.count("checkpoint")
    assert checkpoints >= 5
    expected = sorted(outcome(op) for op in base.result.operations[1:])
    applied = 1 if kind == "response-lost" else 0  # of the crashed call, by the service

    seen: Counter[str] = Counter()
    for k in range(1, checkpoints + 1):
        run = await run_workflow(workflow, (kind, k))
        where = f"{workflow}, {kind} at checkpoint {k} of {checkpoints}"
        fired = [c.number for c in run.faulty.calls if c.fault is not None]
        assert fired == [k], f"{where}: the fault hit calls {fired}"
        # Up to the crash, the run made the crash-free run's calls: it crashed at that point.
        assert requests(run.faulty)[:k] == requests(base.faulty)[:k], where
        calls = run.faulty.count("checkpoint")
        assert run.rec.memory.stats.checkpoint_calls == calls - 1 + applied, where
        assert run.result.failed_invocations >= 1, where
        assert run.result.status is base.result.status, f"{where}: {run.result.error}"
        assert run.result.result == base.result.result, where
        assert sorted(outcome(op) for op in run.result.operations[1:]) == expected, where
        seen += check_bodies(run, where, crash_free=False)
        if workflow == "callbacks":
            check_callbacks(run, where)

    # The crashes hit the cases that matter: an at-least-once attempt cut short and run again,
    # and (where the workflow has one) an at-most-once attempt interrupted and retried.
    assert seen["reran"] > 0, seen
    if any(e.at_most_once for e in base.rec.entries):
        assert seen["interrupted"] > 0, seen
