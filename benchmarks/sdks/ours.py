"""The workloads on durable_async."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import TypeAdapter

from durable_async import DurableContext, MemoryBackend, durable_execution
from durable_async._models import (
    CheckpointResponse,
    ExecutionState,
    OperationAction,
    OperationType,
    OperationUpdate,
)
from durable_async.testing import LocalRunner

from .. import wire
from ..service import StubService, drive_async

Params = dict[str, Any]
WAIT_SECONDS = 3600  # long enough that every SDK suspends on it
_UPDATES = TypeAdapter(list[OperationUpdate])
"""How `AwsBackend` converts a request's updates (`updates_to_wire`); that module is not imported
here because it imports botocore, which would count in durable_async's memory."""


class _ServiceClock:
    """The stub service's clock: the wall clock plus the time the driver skipped."""

    def __init__(self, service: StubService) -> None:
        self._service = service

    def now(self) -> float:
        return self._service.now

    async def sleep_until(self, deadline: float) -> None:
        delay = deadline - self._service.now
        if delay > 0:
            await asyncio.sleep(delay)


class StubBackend:
    """durable_async's `Backend` protocol over the stub service, sleeping `latency` per call."""

    def __init__(self, service: StubService, latency: float) -> None:
        self.service = service
        self.latency = latency
        self.clock = _ServiceClock(service)

    async def checkpoint(
        self,
        execution_arn: str,
        checkpoint_token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResponse:
        if self.latency:
            await asyncio.sleep(self.latency)
        wire = _UPDATES.dump_python(list(updates), by_alias=True, exclude_none=True)
        return CheckpointResponse.model_validate(
            self.service.checkpoint(execution_arn, checkpoint_token, wire)
        )

    async def get_state(
        self,
        execution_arn: str,
        checkpoint_token: str,
        *,
        marker: str | None = None,
        max_items: int = 1000,
    ) -> ExecutionState:
        if self.latency:
            await asyncio.sleep(self.latency)
        return ExecutionState.model_validate(
            self.service.get_state(execution_arn, checkpoint_token, marker)
        )


async def noop() -> None:
    return None


# -- handlers ------------------------------------------------------------------------------------


async def _sequential(event: Params, ctx: DurableContext) -> int:
    for _ in range(event["n"]):
        await ctx.step(noop, name="noop")
    return event["n"]


async def _gather_steps(event: Params, ctx: DurableContext) -> int:
    await asyncio.gather(*(ctx.step(noop, name="noop") for _ in range(event["n"])))
    return event["n"]


async def _map_item(ctx: DurableContext, item: int, index: int) -> None:
    await ctx.step(noop, name="noop")


async def _map_steps(event: Params, ctx: DurableContext) -> int:
    await ctx.map(range(event["n"]), _map_item, name="fanout")
    return event["n"]


async def _gather_waits(event: Params, ctx: DurableContext) -> int:
    await asyncio.gather(*(ctx.wait(WAIT_SECONDS, name="pause") for _ in range(event["n"])))
    return event["n"]


async def _map_wait_item(ctx: DurableContext, item: int, index: int) -> None:
    await ctx.wait(WAIT_SECONDS, name="pause")


async def _map_waits(event: Params, ctx: DurableContext) -> int:
    await ctx.map(range(event["n"]), _map_wait_item, name="waits")
    return event["n"]


HANDLERS: dict[str, Callable[..., Any]] = {
    "sequential": _sequential,
    "gather": _gather_steps,
    "map": _map_steps,
    "gather_waits": _gather_waits,
    "map_waits": _map_waits,
}


# -- running -------------------------------------------------------------------------------------


def _on_stub(kind: str, n: int, latency: float, window: float | None = None) -> Params:
    fn = HANDLERS[kind]
    handler = (
        durable_execution(checkpoint_window=window)(fn)
        if window is not None
        else (durable_execution(fn))
    )
    service = StubService()
    backend = StubBackend(service, latency)

    async def invoke(event: Params) -> Params:
        output = await handler.invoke_output(event, backend=backend)
        return output.to_wire()

    async def main() -> Params:
        started = time.perf_counter()
        out = await drive_async(service, invoke, {"n": n})
        wall = time.perf_counter() - started
        return {"wall": wall, "status": str(out["Status"]), **service.stats.as_dict()}

    return asyncio.run(main())


def seq_runner(p: Params) -> Params:
    """`n` sequential steps through the SDK's own local runner."""
    handler = durable_execution(_sequential)

    async def main() -> Params:
        backend = MemoryBackend()
        started = time.perf_counter()
        result = await LocalRunner(handler, backend=backend).run({"n": p["n"]})
        wall = time.perf_counter() - started
        stats = backend.stats
        return {
            "wall": wall,
            "status": str(result.status),
            "checkpoint_calls": stats.checkpoint_calls,
            "updates": stats.updates,
        }

    return asyncio.run(main())


def seq_stub(p: Params) -> Params:
    """`n` sequential steps against the stub service."""
    return _on_stub("sequential", p["n"], p.get("latency", 0.0))


def fanout(p: Params) -> Params:
    """`n` concurrent no-op steps: `style` is gather or map."""
    return _on_stub(p["style"], p["n"], p.get("latency", 0.0))


def waits(p: Params) -> Params:
    """`n` concurrent one-second waits: `style` is gather or map."""
    return _on_stub(f"{p['style']}_waits", p["n"], p.get("latency", 0.0))


def batching(p: Params) -> Params:
    """`lanes` concurrent lanes of `steps` sequential steps; per-step latency percentiles.

    Steps are no-ops unless `body` gives each one that many seconds of awaited I/O.
    """
    lanes, steps, window = p["lanes"], p["steps"], p["window"]
    body = p.get("body", 0.0)
    samples: list[float] = []

    async def work() -> None:
        await asyncio.sleep(body)

    fn = work if body else noop

    async def lane(ctx: DurableContext) -> None:
        for _ in range(steps):
            t0 = time.perf_counter()
            await ctx.step(fn, name="noop")
            samples.append(time.perf_counter() - t0)

    async def study(event: Params, ctx: DurableContext) -> int:
        await asyncio.gather(*(lane(ctx) for _ in range(lanes)))
        return lanes * steps

    HANDLERS["study"] = study
    out = _on_stub("study", lanes * steps, p.get("latency", 0.0), window=window)
    del HANDLERS["study"]
    samples.sort()
    out.update(
        p50_ms=1000 * samples[len(samples) // 2],
        p99_ms=1000 * samples[min(len(samples) - 1, int(len(samples) * 0.99))],
        max_ms=1000 * samples[-1],
        samples=len(samples),
    )
    return out


def scale_waits(p: Params) -> Params:
    """`waits` at a scale only durable_async is run at (100,000 concurrent waits)."""
    return waits(p)


# -- the real wire (B5): AwsBackend's own client, over HTTP to `benchmarks.endpoint` -----------


def _backend(url: str) -> Any:
    """The backend a user would build for a local endpoint; its transport is its default."""
    from durable_async.aws import AwsBackend

    return AwsBackend(endpoint_url=url)


def _on_wire(kind: str, n: int, p: Params) -> Params:
    url, latency = p["endpoint"], p.get("latency", 0.0)
    wire.configure(url)
    control = wire.Control(url)
    handler = durable_execution(HANDLERS[kind])

    async def main() -> Params:
        backend = _backend(url)

        async def invoke(event: Params) -> Params:
            output = await handler.invoke_output(event, backend=backend)
            return output.to_wire()

        await wire.drive_async(control, invoke, {"n": wire.WARMUP_N})  # creates the client
        control.reset()
        run = await wire.drive_async(control, invoke, {"n": n})
        await backend.aclose()
        return wire.measured(control, run, n, latency)

    return asyncio.run(main())


def wire_seq(p: Params) -> Params:
    """`n` sequential no-op steps through `AwsBackend` to the endpoint."""
    return _on_wire("sequential", p["n"], p)


def wire_fanout(p: Params) -> Params:
    """`n` concurrent no-op steps (`style`: gather or map) through `AwsBackend`."""
    return _on_wire(p["style"], p["n"], p)


def _step_start(i: int) -> OperationUpdate:
    return OperationUpdate(
        id=f"{i:016x}", type=OperationType.STEP, action=OperationAction.START, name="noop"
    )


def wire_calls(p: Params) -> Params:
    """`n` sequential one-update `CheckpointDurableExecution` calls, client-level.

    `client`: `backend` (default) calls `AwsBackend.checkpoint`; `aiobotocore` calls a plain
    aiobotocore client's `checkpoint_durable_execution`, the path durable_async used to take,
    for reference."""
    url, latency, n = p["endpoint"], p.get("latency", 0.0), p["n"]
    wire.configure(url)
    control = wire.Control(url)
    if p.get("client", "backend") == "aiobotocore":
        return _raw_aiobotocore_calls(control, url, n, latency)

    async def main() -> Params:
        backend = _backend(url)

        async def call(arn: str, token: str, i: int) -> str:
            response = await backend.checkpoint(arn, token, [_step_start(i)])
            assert response.checkpoint_token is not None
            return response.checkpoint_token

        await wire.calls_async(control, call, wire.WARMUP_N)
        control.reset()
        run = await wire.calls_async(control, call, n)
        await backend.aclose()
        return wire.measured(control, run, n, latency)

    return asyncio.run(main())


def _raw_aiobotocore_calls(control: wire.Control, url: str, n: int, latency: float) -> Params:
    try:
        from aiobotocore.session import get_session
        from botocore.config import Config
    except ImportError as exc:
        raise NotImplementedError(f"aiobotocore is not installed ({exc})") from None
    config = Config(
        connect_timeout=5,
        read_timeout=50,
        retries={"mode": "standard", "total_max_attempts": 5},
    )

    async def main() -> Params:
        session = get_session()
        async with session.create_client(
            "lambda", region_name="us-east-1", endpoint_url=url, config=config
        ) as client:

            async def call(arn: str, token: str, i: int) -> str:
                update = {"Id": f"{i:016x}", "Type": "STEP", "Action": "START", "Name": "noop"}
                response = await client.checkpoint_durable_execution(
                    DurableExecutionArn=arn, CheckpointToken=token, Updates=[update]
                )
                return str(response["CheckpointToken"])

            await wire.calls_async(control, call, wire.WARMUP_N)
            control.reset()
            run = await wire.calls_async(control, call, n)
        return wire.measured(control, run, n, latency)

    return asyncio.run(main())


BENCHES: dict[str, Callable[[Params], Params]] = {
    "seq_runner": seq_runner,
    "seq_stub": seq_stub,
    "fanout": fanout,
    "waits": waits,
    "scale_waits": scale_waits,
    "batching": batching,
    "wire_seq": wire_seq,
    "wire_fanout": wire_fanout,
    "wire_calls": wire_calls,
}
"""Every workload durable_async runs. Adding a style (say `parallel`) is one handler above."""


def warmup() -> None:
    """Exercise every code path once so lazy imports and first-call costs are not measured."""
    for kind in HANDLERS:
        _on_stub(kind, 3, 0.0)
