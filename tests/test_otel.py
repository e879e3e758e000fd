"""OpenTelemetry spans, checked with the SDK's in-memory exporter: one per invocation,
operation and attempt, none for replayed work, and the trace carried into chained invokes."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from durable_async import DurableContext, RetryDecision, durable_execution
from durable_async._models import OperationType
from durable_async.otel import OpenTelemetryPlugin, context_from_xray, xray_header
from durable_async.testing import FaultyBackend, LocalRunner, MemoryBackend

pytestmark = pytest.mark.anyio


@pytest.fixture
def spans() -> tuple[OpenTelemetryPlugin, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return OpenTelemetryPlugin(provider), exporter


def named(finished: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [span for span in finished if span.name == name]


async def test_spans_for_invocations_operations_and_attempts_none_for_replayed_work(
    spans: tuple[OpenTelemetryPlugin, InMemorySpanExporter],
) -> None:
    plugin, exporter = spans
    tries = {"n": 0}

    def flaky() -> str:
        tries["n"] += 1
        if tries["n"] == 1:
            raise ConnectionError("again")
        return "ok"

    async def child(c: DurableContext) -> int:
        return await c.step(lambda: 1, name="inner")

    @durable_execution(plugins=[plugin])
    async def handler(event: None, ctx: DurableContext) -> str:
        await ctx.step(lambda: "a", name="first")
        await ctx.wait(10, name="pause")
        await ctx.run_in_child_context(child, name="kid")
        return await ctx.step(flaky, name="flaky", retry=lambda e, n: RetryDecision.after(1))

    result = await LocalRunner(handler).run()
    assert result.result == "ok"
    finished = exporter.get_finished_spans()
    invocations = named(finished, "durable invocation")
    assert len(invocations) == result.invocations
    assert [s.attributes["durable.first_invocation"] for s in invocations] == [True] + [False] * (
        result.invocations - 1
    )
    assert invocations[-1].attributes["durable.status"] == "SUCCEEDED"
    # each operation once, though later invocations replay the earlier ones
    assert len(named(finished, "step first")) == 1
    assert len(named(finished, "wait pause")) == 1
    assert len(named(finished, "context kid")) == 1
    assert len(named(finished, "step inner")) == 1
    first = named(finished, "step first")[0]
    assert first.attributes["durable.operation.id"] == result.operation("first").id
    assert first.attributes["durable.status"] == "SUCCEEDED"
    assert first.parent is not None
    assert first.parent.span_id == invocations[0].context.span_id
    inner = named(finished, "step inner")[0]
    kid = named(finished, "context kid")[0]
    assert inner.parent is not None
    assert inner.parent.span_id == kid.context.span_id
    assert inner.attributes["durable.operation.parent_id"] == result.operation("kid").id
    pause = named(finished, "wait pause")[0]
    assert pause.attributes["durable.suspended"] is True  # ended when its invocation suspended
    attempts = [s for s in finished if s.name.startswith("attempt ")]
    flaky_attempts = [
        s for s in attempts if s.attributes["durable.operation.id"] == result.operation("flaky").id
    ]
    assert [s.attributes["durable.attempt"] for s in flaky_attempts] == [1, 2]
    assert [s.attributes["durable.outcome"] for s in flaky_attempts] == ["FAILED", "SUCCEEDED"]
    assert flaky_attempts[0].status.status_code is StatusCode.ERROR


async def test_a_failed_execution_marks_its_invocation_span(
    spans: tuple[OpenTelemetryPlugin, InMemorySpanExporter],
) -> None:
    plugin, exporter = spans

    @durable_execution(plugins=[plugin])
    async def handler(event: None, ctx: DurableContext) -> None:
        raise ValueError("no stock")

    await LocalRunner(handler).run()
    (span,) = named(exporter.get_finished_spans(), "durable invocation")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["durable.status"] == "FAILED"


async def test_the_trace_continues_from_lambda_and_into_chained_invokes(
    spans: tuple[OpenTelemetryPlugin, InMemorySpanExporter], monkeypatch: pytest.MonkeyPatch
) -> None:
    plugin, exporter = spans
    lambda_trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    monkeypatch.setenv("_X_AMZN_TRACE_ID", lambda_trace)

    @durable_execution(plugins=[plugin])
    async def caller(event: None, ctx: DurableContext) -> Any:
        return await ctx.invoke("target", 1, name="call")

    wire = FaultyBackend(MemoryBackend())
    runner = LocalRunner(caller, backend=wire)
    runner.register("target", lambda n: n + 1)
    assert (await runner.run()).result == 2
    first = named(exporter.get_finished_spans(), "durable invocation")[0]
    assert f"{first.context.trace_id:032x}" == "5759e988bd862e3fe1be46a994272793"
    assert first.parent is not None
    assert f"{first.parent.span_id:016x}" == "53995c3f42cd8ad8"
    (start,) = [
        u for call in wire.calls for u in call.updates if u.type is OperationType.CHAINED_INVOKE
    ]
    assert start.chained_invoke_options is not None
    header = start.chained_invoke_options.x_amzn_trace_id
    assert header == (
        f"Root=1-5759e988-bd862e3fe1be46a994272793;Parent={first.context.span_id:016x};Sampled=1"
    )


def test_xray_headers_read_and_write_the_same_context() -> None:
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
    ctx = context_from_xray(header)
    assert ctx is not None
    from opentelemetry import trace

    assert xray_header(trace.get_current_span(ctx)) == header
    for bad in (None, "", "Root=2-x-y", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=zz"):
        assert context_from_xray(bad) is None
