"""OpenTelemetry tracing for durable executions: install with the `durable_async[otel]` extra.

```python
from durable_async import durable_execution
from durable_async.otel import OpenTelemetryPlugin

@durable_execution(plugins=[OpenTelemetryPlugin()])
async def handler(event, ctx): ...
```

Each invocation is a span (`durable invocation`), and so is each operation it starts (`step
charge`, `wait`, `context checkout`, ...) and each step attempt, nested under the operation's
child context when it has one. Attributes name the execution, the operation (id, type,
sub-type, name, parent), the attempt, the status, and whether the invocation replays history.

Replayed operations are not emitted again: an operation is reported when a checkpoint response
of this invocation shows it starting or ending, never when replay returns its recorded result.
An operation still open when its invocation suspends (a wait, a callback) ends its span there,
marked `durable.suspended`.

Traces cross invocations and functions through X-Ray's header: the invocation span continues
the trace Lambda gives the invocation (`_X_AMZN_TRACE_ID`), and a chained invoke carries the
invocation span's context as its `XAmznTraceId`, so the invoked function's spans join it.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)

from ._models import InvocationStatus, OperationStatus
from ._plugins import (
    AttemptEnd,
    AttemptStart,
    DurablePlugin,
    InvocationEnd,
    InvocationStart,
    OperationEnd,
    OperationStart,
)

__all__ = ["OpenTelemetryPlugin", "context_from_xray", "xray_header"]

_FAILED = frozenset(
    {
        OperationStatus.FAILED,
        OperationStatus.TIMED_OUT,
        OperationStatus.STOPPED,
        OperationStatus.CANCELLED,
    }
)


def context_from_xray(header: str | None) -> otel_context.Context | None:
    """The OpenTelemetry context an X-Ray trace header (`Root=1-…;Parent=…;Sampled=1`) names,
    or `None` when there is no usable header."""
    if not header:
        return None
    fields = dict(part.split("=", 1) for part in header.split(";") if "=" in part)
    root, parent = fields.get("Root", ""), fields.get("Parent", "")
    bits = root.split("-")
    if len(bits) != 3 or bits[0] != "1" or len(bits[1]) != 8 or len(bits[2]) != 24:
        return None
    try:
        trace_id, span_id = int(bits[1] + bits[2], 16), int(parent, 16)
    except ValueError:
        return None
    flags = TraceFlags(TraceFlags.SAMPLED if fields.get("Sampled") == "1" else 0)
    remote = SpanContext(trace_id, span_id, is_remote=True, trace_flags=flags)
    return trace.set_span_in_context(NonRecordingSpan(remote))


def xray_header(span: Span) -> str | None:
    """The X-Ray trace header continuing `span`'s trace, or `None` for an invalid span."""
    ctx = span.get_span_context()
    if not ctx.is_valid:
        return None
    trace_id = f"{ctx.trace_id:032x}"
    sampled = 1 if ctx.trace_flags.sampled else 0
    return f"Root=1-{trace_id[:8]}-{trace_id[8:]};Parent={ctx.span_id:016x};Sampled={sampled}"


class OpenTelemetryPlugin(DurablePlugin):
    """Spans for invocations, operations and step attempts (see the module's docstring).

    Args:
        tracer_provider: where spans go (default: the global provider).
    """

    def __init__(self, tracer_provider: trace.TracerProvider | None = None) -> None:
        self._tracer = trace.get_tracer("durable_async", tracer_provider=tracer_provider)
        self._invocations: dict[str, Span] = {}
        self._operations: dict[tuple[str, str], Span] = {}
        self._attempts: dict[tuple[str, str, int], Span] = {}

    def on_invocation_start(self, event: InvocationStart) -> None:
        """Start the invocation's span, continuing Lambda's trace."""
        self._invocations[event.execution_arn] = self._tracer.start_span(
            "durable invocation",
            context=context_from_xray(os.environ.get("_X_AMZN_TRACE_ID")),
            kind=SpanKind.SERVER,
            attributes={
                "durable.execution_arn": event.execution_arn,
                "durable.first_invocation": event.first_invocation,
                "durable.replaying": not event.first_invocation,
                "durable.updated_operation_ids": list(event.updated_operation_ids),
            },
        )

    def on_invocation_end(self, event: InvocationEnd) -> None:
        """End what is still open of the invocation, then its span, with its status."""
        arn = event.execution_arn
        for attempt in [k for k in self._attempts if k[0] == arn]:
            self._attempts.pop(attempt).end()
        for operation in [k for k in self._operations if k[0] == arn]:
            open_span = self._operations.pop(operation)
            open_span.set_attribute("durable.suspended", True)
            open_span.end()
        invocation = self._invocations.pop(arn, None)
        if invocation is None:
            return
        invocation.set_attribute("durable.status", event.status.value)
        if event.status is InvocationStatus.FAILED:
            message = event.error.error_message if event.error else None
            invocation.set_status(Status(StatusCode.ERROR, message))
        invocation.end()

    def on_operation_start(self, event: OperationStart) -> None:
        """Start an operation's span under its context's (or the invocation's)."""
        arn = event.execution_arn
        kind = event.operation_type.value.lower().replace("_", " ")
        label = event.name or (event.sub_type if event.sub_type != kind else None)
        attributes: dict[str, Any] = {
            "durable.execution_arn": arn,
            "durable.operation.id": event.operation_id,
            "durable.operation.type": event.operation_type.value,
        }
        for key, value in (
            ("durable.operation.sub_type", event.sub_type),
            ("durable.operation.name", event.name),
            ("durable.operation.parent_id", event.parent_id),
        ):
            if value is not None:
                attributes[key] = value
        self._operations[(arn, event.operation_id)] = self._tracer.start_span(
            f"{kind} {label}" if label else kind,
            context=self._parent(arn, event.parent_id),
            attributes=attributes,
        )

    def on_operation_end(self, event: OperationEnd) -> None:
        """End an operation's span with its status."""
        span = self._operations.pop((event.execution_arn, event.operation_id), None)
        if span is None:
            return  # started in an earlier invocation: its span ended there
        span.set_attribute("durable.status", event.status.value)
        if event.status in _FAILED:
            span.set_status(Status(StatusCode.ERROR, event.status.value))
        span.end()

    def on_attempt_start(self, event: AttemptStart) -> None:
        """Start a step attempt's span under the step's."""
        arn = event.execution_arn
        parent = self._operations.get((arn, event.operation_id)) or self._invocations.get(arn)
        self._attempts[(arn, event.operation_id, event.attempt)] = self._tracer.start_span(
            f"attempt {event.attempt}",
            context=trace.set_span_in_context(parent) if parent is not None else None,
            attributes={
                "durable.execution_arn": arn,
                "durable.operation.id": event.operation_id,
                "durable.attempt": event.attempt,
            },
        )

    def on_attempt_end(self, event: AttemptEnd) -> None:
        """End a step attempt's span with its outcome."""
        span = self._attempts.pop((event.execution_arn, event.operation_id, event.attempt), None)
        if span is None:
            return
        span.set_attribute("durable.outcome", event.outcome)
        if event.error is not None:
            span.record_exception(event.error)
            span.set_status(Status(StatusCode.ERROR, str(event.error)))
        span.end()

    def trace_header(self, execution_arn: str) -> str | None:
        """The invocation span's context, for the chained invokes it makes."""
        span = self._invocations.get(execution_arn)
        return xray_header(span) if span is not None else None

    def _parent(self, arn: str, parent_id: str | None) -> otel_context.Context | None:
        span = self._operations.get((arn, parent_id)) if parent_id else None
        span = span or self._invocations.get(arn)
        return trace.set_span_in_context(span) if span is not None else None
