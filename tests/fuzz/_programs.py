"""Random workflow programs for the replay fuzzer: a model, a generator, two interpreters.

A program is a tree. Composite nodes combine their children the ways asyncio and the SDK
allow (in sequence, `asyncio.gather`, `TaskGroup`, `create_task`, child contexts, map,
parallel); leaves are durable operations (steps that sleep for real and sometimes fail,
waits, callbacks answered by the test, `wait_for_condition`). `expected(tree)` evaluates a
program in plain Python; `Interpreter` runs it as a durable handler and records what every
step body did, so the test can check the at-least-once contract.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from hypothesis import strategies as st

from durable_async import (
    DurableContext,
    MemoryBackend,
    OperationStatus,
    OperationType,
    RetryPolicy,
    StepError,
    StepSemantics,
    WaitStrategy,
)

# -- the model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """A step whose body sleeps `ms` milliseconds and fails its first `fails` attempts."""

    label: str
    ms: int
    fails: int
    at_most_once: bool = False


@dataclass(frozen=True)
class Doomed:
    """A step that fails every attempt; the program catches its `StepError`."""

    label: str


@dataclass(frozen=True)
class Wait:
    label: str
    seconds: int


@dataclass(frozen=True)
class Callback:
    """A callback the test answers with `f"cb-{label}"` at a random moment."""

    label: str


@dataclass(frozen=True)
class Condition:
    """`wait_for_condition` that is met after `polls` checks."""

    label: str
    polls: int


@dataclass(frozen=True)
class Combine:
    """Children combined by `how`: seq, gather, group (TaskGroup), tasks (create_task, awaited
    in order), wait (`asyncio.wait` over tasks), anyio (an anyio task group), child (a child
    context), shield (`asyncio.shield`), wait_for (`asyncio.wait_for` with a timeout that never
    fires), map, parallel."""

    how: str
    label: str
    children: tuple[Node, ...]
    flat: bool = False


Node = Step | Doomed | Wait | Callback | Condition | Combine
COMBINERS = (
    "seq",
    "gather",
    "group",
    "tasks",
    "wait",
    "anyio",
    "child",
    "shield",
    "wait_for",
    "map",
    "parallel",
)
CONCURRENT = ("gather", "group", "tasks", "wait", "anyio")
SINGLE = ("child", "shield", "wait_for")  # combiners of exactly one child


def expected(node: Node) -> Any:
    """What the program returns, evaluated in plain Python."""
    match node:
        case Step(label=label):
            return f"s-{label}"
        case Doomed(label=label):
            return f"x-{label}"
        case Wait(label=label):
            return f"w-{label}"
        case Callback(label=label):
            return f"cb-{label}"
        case Condition(polls=polls):
            return polls
        case Combine(how="child" | "shield" | "wait_for", children=(body,)):
            return expected(body)
        case Combine(children=children):
            return [expected(c) for c in children]
    raise AssertionError(node)


def leaves(node: Node) -> list[Node]:
    if isinstance(node, Combine):
        return [leaf for c in node.children for leaf in leaves(c)]
    return [node]


def describe(node: Node, indent: str = "") -> str:
    """The program as indented text, for failure reports."""
    if isinstance(node, Combine):
        head = f"{indent}{node.how}{' flat' if node.flat else ''} {node.label}"
        return "\n".join([head, *(describe(c, indent + "  ") for c in node.children)])
    return f"{indent}{node!r}"


# -- the generator -----------------------------------------------------------------------------


@st.composite
def programs(
    draw: st.DrawFn, *, max_leaves: int = 10, at_most_once: bool = True, callbacks: bool = True
) -> Node:
    """A random program; its root always runs children concurrently."""
    budget = [draw(st.integers(2, max_leaves))]
    labels = iter(range(1, 1000))

    def leaf() -> Node:
        budget[0] -= 1
        label = str(next(labels))
        kinds = ["step"] * 5 + ["wait"] * 2 + ["doomed", "condition"]
        if callbacks:
            kinds.append("callback")
        kind = draw(st.sampled_from(kinds))
        if kind == "step":
            semantics = draw(st.booleans()) if at_most_once else False
            return Step(label, draw(st.integers(0, 5)), draw(st.integers(0, 2)), semantics)
        if kind == "wait":
            return Wait(label, draw(st.integers(1, 30)))
        if kind == "doomed":
            return Doomed(label)
        if kind == "condition":
            return Condition(label, draw(st.integers(1, 3)))
        return Callback(label)

    def node(depth: int, root: bool = False) -> Node:
        if not root and (depth >= 4 or budget[0] <= 1 or draw(st.integers(0, 2)) == 0):
            return leaf()
        how = draw(st.sampled_from(CONCURRENT if root else COMBINERS))
        label = f"c{next(labels)}"
        if how in SINGLE:
            return Combine(how, label, (node(depth + 1),))
        width = draw(st.integers(1, 4))
        children = []
        for _ in range(width):
            if budget[0] <= 0:
                break
            children.append(node(depth + 1))
        if not children:
            children.append(leaf())
        flat = how in ("map", "parallel") and draw(st.booleans())
        return Combine(how, label, tuple(children), flat)

    return node(0, root=True)


# -- the interpreter ---------------------------------------------------------------------------


class Flaky(Exception):
    """The planned failure of a step attempt."""


@dataclass
class Interpreter:
    """Runs a program as a durable handler body and watches its step bodies.

    `violations` collects every breach of the at-least-once contract: a body that starts after
    its success was recorded by the service.
    """

    backend: MemoryBackend
    arn: list[str] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)
    successes: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)

    def recorded(self, label: str) -> bool:
        if not self.arn:
            return False
        return any(
            op.name == label and op.type is OperationType.STEP and op.status.is_terminal
            for op in self.backend.operations(self.arn[0])
        )

    def body(self, step: Step) -> Callable[[], Any]:
        async def run() -> str:
            if self.recorded(step.label):
                self.violations.append(f"step {step.label} ran after its outcome was recorded")
            await asyncio.sleep(step.ms / 1000)
            self.attempts[step.label] += 1
            if self.attempts[step.label] <= step.fails:
                raise Flaky(f"planned failure {self.attempts[step.label]} of {step.label}")
            self.successes[step.label] += 1
            return f"s-{step.label}"

        return run

    async def run(self, node: Node, ctx: DurableContext) -> Any:
        match node:
            case Step():
                semantics = (
                    StepSemantics.AT_MOST_ONCE_PER_RETRY
                    if node.at_most_once
                    else StepSemantics.AT_LEAST_ONCE_PER_RETRY
                )
                return await ctx.step(
                    self.body(node),
                    name=node.label,
                    retry=RetryPolicy.fixed(5, 1),
                    semantics=semantics,
                )
            case Doomed(label=label):
                try:
                    await ctx.step(_doomed, name=label, retry=RetryPolicy.fixed(2, 1))
                except StepError:
                    return f"x-{label}"
                raise AssertionError("a doomed step succeeded")
            case Wait(label=label, seconds=seconds):
                await ctx.wait(seconds, name=label)
                return f"w-{label}"
            case Callback(label=label):
                callback = await ctx.create_callback(name=label)
                return await callback
            case Condition(label=label, polls=polls):
                return await ctx.wait_for_condition(
                    _increment,
                    initial_state=0,
                    wait_strategy=WaitStrategy(until=lambda n: n >= polls, initial_delay=2),
                    name=label,
                )
            case Combine():
                return await self.combine(node, ctx)
        raise AssertionError(node)

    async def combine(self, node: Combine, ctx: DurableContext) -> Any:
        children = node.children
        match node.how:
            case "seq":
                return [await self.run(c, ctx) for c in children]
            case "gather":
                return list(await asyncio.gather(*(self.run(c, ctx) for c in children)))
            case "group":
                async with asyncio.TaskGroup() as group:
                    tasks = [group.create_task(self.run(c, ctx)) for c in children]
                return [t.result() for t in tasks]
            case "tasks":
                made = [asyncio.create_task(self.run(c, ctx)) for c in children]
                return [await t for t in made]
            case "wait":
                made = [asyncio.create_task(self.run(c, ctx)) for c in children]
                await asyncio.wait(made)
                return [t.result() for t in made]
            case "anyio":
                results: list[Any] = [None] * len(children)

                async def into(index: int, child: Node) -> None:
                    results[index] = await self.run(child, ctx)

                async with anyio.create_task_group() as group:
                    for index, child in enumerate(children):
                        group.start_soon(into, index, child)
                return results
            case "shield":
                return await asyncio.shield(self.run(children[0], ctx))
            case "wait_for":
                return await asyncio.wait_for(self.run(children[0], ctx), timeout=3600)
            case "child":
                (body,) = children
                return await ctx.run_in_child_context(
                    lambda child: self.run(body, child), name=node.label
                )
            case "map":
                batch = await ctx.map(
                    list(range(len(children))),
                    lambda item_ctx, i, _index: self.run(children[i], item_ctx),
                    name=node.label,
                    nesting="flat" if node.flat else "nested",
                )
                batch.raise_if_failed()
                return batch.results()
            case "parallel":
                batch = await ctx.parallel(
                    [_branch(self, c) for c in children],
                    name=node.label,
                    nesting="flat" if node.flat else "nested",
                )
                batch.raise_if_failed()
                return batch.results()
        raise AssertionError(node.how)


def _branch(interpreter: Interpreter, node: Node) -> Callable[[DurableContext], Any]:
    async def branch(ctx: DurableContext) -> Any:
        return await interpreter.run(node, ctx)

    return branch


def _doomed() -> None:
    raise Flaky("this step always fails")


def _increment(n: int) -> int:
    return n + 1


async def answer_callbacks(backend: MemoryBackend, arn: str, rng: random.Random) -> None:
    """Answer every callback of `arn` once, each after a random number of loop turns."""
    answered: set[str] = set()
    while True:
        for op in backend.operations(arn):
            details = op.callback_details
            if (
                op.type is OperationType.CALLBACK
                and op.status is OperationStatus.STARTED
                and details is not None
                and details.callback_id
                and details.callback_id not in answered
            ):
                for _ in range(rng.randrange(0, 20)):
                    await asyncio.sleep(0)
                answered.add(details.callback_id)
                backend.send_callback_success(details.callback_id, f'"cb-{op.name}"')
        await asyncio.sleep(0.0005)
