"""The workloads on async-durable-execution (the asyncio fork of the official SDK)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("DURABLE_EXECUTION_TIME_SCALE", "0")  # its local runner skips timers

from async_durable_execution import (
    create_local_runner,
    durable_execution,
    step,
    wait,
)
from async_durable_execution import map as durable_map
from async_durable_execution._core import CheckpointOutput, StateOutput
from async_durable_execution._core.client import create_default_service_client
from async_durable_execution._core.models import (
    OperationAction,
    OperationType,
    OperationUpdate,
)

from .. import wire
from ..service import StubService, drive_async

Params = dict[str, Any]
WAIT_SECONDS = 3600  # long enough that every SDK suspends on it


class StubClient:
    """The fork's `DurableServiceClient` protocol over the stub service (asyncio latency)."""

    def __init__(self, service: StubService, latency: float) -> None:
        self.service = service
        self.latency = latency

    async def checkpoint(
        self,
        durable_execution_arn: str,
        checkpoint_token: str,
        updates: list[Any],
        client_token: str | None,
    ) -> Any:
        if self.latency:
            await asyncio.sleep(self.latency)
        wire = [u.to_dict() for u in updates]
        return CheckpointOutput.from_dict(
            self.service.checkpoint(durable_execution_arn, checkpoint_token, wire)
        )

    async def get_execution_state(
        self,
        durable_execution_arn: str,
        checkpoint_token: str,
        next_marker: str,
        max_items: int = 1000,
    ) -> Any:
        if self.latency:
            await asyncio.sleep(self.latency)
        return StateOutput.from_dict(
            self.service.get_state(durable_execution_arn, checkpoint_token, next_marker)
        )


async def noop() -> None:
    return None


# -- handlers ------------------------------------------------------------------------------------


async def _sequential(event: Params) -> int:
    for _ in range(event["n"]):
        await step(noop, name="noop")
    return event["n"]


async def _gather_steps(event: Params) -> int:
    await asyncio.gather(*(step(noop, name="noop") for _ in range(event["n"])))
    return event["n"]


async def _map_item(item: int) -> None:
    await step(noop, name="noop")


async def _map_steps(event: Params) -> int:
    await durable_map(_map_item, range(event["n"]), name="fanout")
    return event["n"]


async def _gather_waits(event: Params) -> int:
    await asyncio.gather(*(wait(WAIT_SECONDS, name="pause") for _ in range(event["n"])))
    return event["n"]


async def _map_wait_item(item: int) -> None:
    await wait(WAIT_SECONDS, name="pause")


async def _map_waits(event: Params) -> int:
    await durable_map(_map_wait_item, range(event["n"]), name="waits")
    return event["n"]


HANDLERS: dict[str, Callable[..., Any]] = {
    "sequential": _sequential,
    "gather": _gather_steps,
    "map": _map_steps,
    "gather_waits": _gather_waits,
    "map_waits": _map_waits,
}


# -- running -------------------------------------------------------------------------------------


def _on_stub(kind: str, n: int, latency: float) -> Params:
    service = StubService()
    handler = durable_execution(HANDLERS[kind], service_client=StubClient(service, latency))
    invoke_async = handler._async_handler  # the documented way to invoke on a running loop

    async def invoke(event: Params) -> Params:
        return dict(await invoke_async(event, None))

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
        started = time.perf_counter()
        async with create_local_runner(handler=handler, input={"n": p["n"]}) as runner:
            result = await runner.run()
        wall = time.perf_counter() - started
        return {"wall": wall, "status": str(getattr(result.status, "value", result.status))}

    return asyncio.run(main())


def seq_stub(p: Params) -> Params:
    return _on_stub("sequential", p["n"], p.get("latency", 0.0))


def fanout(p: Params) -> Params:
    return _on_stub(p["style"], p["n"], p.get("latency", 0.0))


def waits(p: Params) -> Params:
    return _on_stub(f"{p['style']}_waits", p["n"], p.get("latency", 0.0))


# -- the real wire (B5): the fork's default client, over HTTP to `benchmarks.endpoint` -----------


def _on_wire(kind: str, n: int, p: Params) -> Params:
    """Run a handler with no service client given: the fork builds its default one from the
    environment (botocore signing and urllib3, called in a worker thread)."""
    url, latency = p["endpoint"], p.get("latency", 0.0)
    wire.configure(url)
    control = wire.Control(url)
    handler = durable_execution(HANDLERS[kind])
    invoke_async = handler._async_handler

    async def invoke(event: Params) -> Params:
        return dict(await invoke_async(event, None))

    async def main() -> Params:
        await wire.drive_async(control, invoke, {"n": wire.WARMUP_N})  # creates the client
        control.reset()
        run = await wire.drive_async(control, invoke, {"n": n})
        return wire.measured(control, run, n, latency)

    return asyncio.run(main())


def wire_seq(p: Params) -> Params:
    return _on_wire("sequential", p["n"], p)


def wire_fanout(p: Params) -> Params:
    return _on_wire(p["style"], p["n"], p)


def wire_calls(p: Params) -> Params:
    """`n` sequential one-update checkpoint calls through the default service client."""
    if p.get("client", "default") != "default":
        raise NotImplementedError(f"client {p['client']}")
    url, latency, n = p["endpoint"], p.get("latency", 0.0), p["n"]
    wire.configure(url)
    control = wire.Control(url)

    async def main() -> Params:
        client = create_default_service_client()

        async def call(arn: str, token: str, i: int) -> str:
            update = OperationUpdate(
                operation_id=f"{i:016x}",
                operation_type=OperationType.STEP,
                action=OperationAction.START,
                name="noop",
            )
            out = await client.checkpoint(arn, token, [update], None)
            return str(out.checkpoint_token)

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
    "wire_seq": wire_seq,
    "wire_fanout": wire_fanout,
    "wire_calls": wire_calls,
}


def warmup() -> None:
    for kind in HANDLERS:
        _on_stub(kind, 3, 0.0)
