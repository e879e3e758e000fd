"""The workloads on aws-durable-execution-sdk-python, the official SDK (operations use threads)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from aws_durable_execution_sdk_python import DurableContext, durable_execution
from aws_durable_execution_sdk_python.config import Duration
from aws_durable_execution_sdk_python.execution import (
    DurableExecutionInvocationInput,
    DurableExecutionInvocationInputWithClient,
)
from aws_durable_execution_sdk_python.lambda_service import (
    CheckpointOutput,
    LambdaClient,
    OperationAction,
    OperationType,
    OperationUpdate,
    StateOutput,
)
from aws_durable_execution_sdk_python_testing.runner import DurableFunctionTestRunner

from .. import wire
from ..service import StubService, drive

Params = dict[str, Any]
WAIT = Duration.from_hours(1)  # long enough that every SDK suspends on it


class StubClient:
    """The official SDK's `DurableServiceClient` protocol over the stub service.

    The SDK calls it from its checkpointing thread, so latency is a blocking `time.sleep`.
    """

    def __init__(self, service: StubService, latency: float) -> None:
        self.service = service
        self.latency = latency

    def checkpoint(
        self,
        durable_execution_arn: str,
        checkpoint_token: str,
        updates: list[Any],
        client_token: str | None,
    ) -> Any:
        if self.latency:
            time.sleep(self.latency)
        wire = [u.to_dict() for u in updates]
        return CheckpointOutput.from_dict(
            self.service.checkpoint(durable_execution_arn, checkpoint_token, wire)
        )

    def get_execution_state(
        self,
        durable_execution_arn: str,
        checkpoint_token: str,
        next_marker: str,
        max_items: int = 1000,
    ) -> Any:
        if self.latency:
            time.sleep(self.latency)
        return StateOutput.from_dict(
            self.service.get_state(durable_execution_arn, checkpoint_token, next_marker)
        )


def noop(step_context: Any) -> None:
    return None


# -- handlers ------------------------------------------------------------------------------------


def _sequential(event: Params, ctx: DurableContext) -> int:
    for _ in range(event["n"]):
        ctx.step(noop, name="noop")
    return event["n"]


def _map_item(ctx: DurableContext, item: int, index: int, items: Sequence[int]) -> None:
    ctx.step(noop, name="noop")


def _map_steps(event: Params, ctx: DurableContext) -> int:
    ctx.map(list(range(event["n"])), _map_item, name="fanout")
    return event["n"]


def _map_wait_item(ctx: DurableContext, item: int, index: int, items: Sequence[int]) -> None:
    ctx.wait(WAIT, name="pause")


def _map_waits(event: Params, ctx: DurableContext) -> int:
    ctx.map(list(range(event["n"])), _map_wait_item, name="waits")
    return event["n"]


HANDLERS: dict[str, Callable[..., Any]] = {
    "sequential": _sequential,
    "map": _map_steps,
    "map_waits": _map_waits,
}
"""No `gather`: the official SDK runs concurrent work only through map and parallel."""


# -- running -------------------------------------------------------------------------------------


def _on_stub(kind: str, n: int, latency: float) -> Params:
    service = StubService()
    client = StubClient(service, latency)
    handler = durable_execution(HANDLERS[kind])

    def invoke(event: Params) -> Params:
        parsed = DurableExecutionInvocationInput.from_json_dict(event)
        with_client = (
            DurableExecutionInvocationInputWithClient.from_durable_execution_invocation_input(
                parsed, client
            )
        )
        return dict(handler(with_client, None))

    started = time.perf_counter()
    out = drive(service, invoke, {"n": n})
    wall = time.perf_counter() - started
    return {"wall": wall, "status": str(out["Status"]), **service.stats.as_dict()}


def seq_runner(p: Params) -> Params:
    """`n` sequential steps through the SDK's own test runner (time skipped)."""
    handler = durable_execution(_sequential)
    started = time.perf_counter()
    with DurableFunctionTestRunner(handler=handler, skip_time=True) as runner:
        result = runner.run(input=json.dumps({"n": p["n"]}), execution_timeout=600)
    wall = time.perf_counter() - started
    return {"wall": wall, "status": str(getattr(result.status, "value", result.status))}


def seq_stub(p: Params) -> Params:
    return _on_stub("sequential", p["n"], p.get("latency", 0.0))


def fanout(p: Params) -> Params:
    if p["style"] not in HANDLERS:
        raise NotImplementedError(p["style"])
    return _on_stub(p["style"], p["n"], p.get("latency", 0.0))


def waits(p: Params) -> Params:
    kind = f"{p['style']}_waits"
    if kind not in HANDLERS:
        raise NotImplementedError(kind)
    return _on_stub(kind, p["n"], p.get("latency", 0.0))


# -- the real wire (B5): the SDK's boto3 client, over HTTP to `benchmarks.endpoint` -------------


def _on_wire(kind: str, n: int, p: Params) -> Params:
    """Invoke with a plain event, as Lambda does: the SDK creates its boto3 `lambda` client
    from the environment (`LambdaClient.initialize_client`) and keeps it for the process."""
    if kind not in HANDLERS:
        raise NotImplementedError(kind)
    url, latency = p["endpoint"], p.get("latency", 0.0)
    wire.configure(url)
    control = wire.Control(url)
    handler = durable_execution(HANDLERS[kind])

    def invoke(event: Params) -> Params:
        return dict(handler(event, None))

    wire.drive_sync(control, invoke, {"n": wire.WARMUP_N})  # creates the client
    control.reset()
    run = wire.drive_sync(control, invoke, {"n": n})
    return wire.measured(control, run, n, latency)


def wire_seq(p: Params) -> Params:
    return _on_wire("sequential", p["n"], p)


def wire_fanout(p: Params) -> Params:
    return _on_wire(p["style"], p["n"], p)


def wire_calls(p: Params) -> Params:
    """`n` sequential one-update checkpoint calls through `LambdaClient.checkpoint` (boto3)."""
    if p.get("client", "default") != "default":
        raise NotImplementedError(f"client {p['client']}")
    url, latency, n = p["endpoint"], p.get("latency", 0.0), p["n"]
    wire.configure(url)
    control = wire.Control(url)
    client = LambdaClient.initialize_client()

    def call(arn: str, token: str, i: int) -> str:
        update = OperationUpdate(
            operation_id=f"{i:016x}",
            operation_type=OperationType.STEP,
            action=OperationAction.START,
            name="noop",
        )
        return str(client.checkpoint(arn, token, [update], None).checkpoint_token)

    wire.calls_sync(control, call, wire.WARMUP_N)
    control.reset()
    run = wire.calls_sync(control, call, n)
    return wire.measured(control, run, n, latency)


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
