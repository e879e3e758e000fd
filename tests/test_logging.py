"""The SDK's loggers: the durable identity on every record, silence on replay, any logger
behind them (Powertools' included), and Powertools' decorators around a durable handler."""

from __future__ import annotations

import io
import itertools
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools import Logger

import durable_async
from durable_async import DurableContext, RetryDecision, durable_execution
from durable_async.testing import LocalRunner, MemoryBackend

pytestmark = pytest.mark.anyio


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    target = logging.getLogger("durable_async.tests")
    target.setLevel(logging.DEBUG)
    target.propagate = False
    handler = Collect()
    target.addHandler(handler)
    previous = durable_async.set_logger(target)
    try:
        yield handler.records
    finally:
        durable_async.set_logger(previous)
        target.removeHandler(handler)


def fields(record: logging.LogRecord) -> dict[str, Any]:
    keys = ("executionArn", "parentId", "operationId", "operationName", "attempt", "replaying")
    return {k: getattr(record, k) for k in keys if hasattr(record, k)}


async def test_every_record_carries_the_identity_of_the_code_that_logs(
    records: list[logging.LogRecord],
) -> None:
    attempts = {"n": 0}

    def flaky() -> str:
        attempts["n"] += 1
        durable_async.logger.info("attempt %d", attempts["n"])
        if attempts["n"] == 1:
            raise ConnectionError("try again")
        return "ok"

    async def child(c: DurableContext) -> None:
        c.logger.info("in the child")

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> None:
        ctx.logger.info("start")
        await ctx.step(flaky, name="flaky", retry=lambda e, n: RetryDecision.after(1))
        await ctx.run_in_child_context(child, name="kid")
        durable_async.logger.info("handler code, no ctx at hand")

    result = await LocalRunner(handler).run()
    arn = result.execution_arn
    flaky_id = result.operation("flaky").id
    kid_id = result.operation("kid").id
    got = [(r.getMessage(), fields(r)) for r in records]
    assert got == [
        ("start", {"executionArn": arn, "replaying": False}),
        (
            "attempt 1",
            {
                "executionArn": arn,
                "operationId": flaky_id,
                "operationName": "flaky",
                "attempt": 1,
                "replaying": False,
            },
        ),
        (
            "attempt 2",
            {
                "executionArn": arn,
                "operationId": flaky_id,
                "operationName": "flaky",
                "attempt": 2,
                "replaying": False,
            },
        ),
        ("in the child", {"executionArn": arn, "parentId": kid_id, "replaying": False}),
        ("handler code, no ctx at hand", {"executionArn": arn, "replaying": False}),
    ]


async def test_ctx_logger_is_silent_on_replay_and_step_bodies_never_replay(
    records: list[logging.LogRecord],
) -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> None:
        ctx.logger.info("before")
        await ctx.step(lambda: ctx.logger.info("in the step"), name="s")
        await ctx.wait(1)
        ctx.logger.info("after")

    for always_replay in (False, True):
        records.clear()
        await LocalRunner(handler, always_replay=always_replay).run()
        assert [r.getMessage() for r in records] == ["before", "in the step", "after"]
        step = next(r for r in records if r.getMessage() == "in the step")
        assert fields(step)["operationName"] == "s"


def test_outside_durable_code_records_carry_nothing_added(
    records: list[logging.LogRecord],
) -> None:
    durable_async.logger.warning("plain")
    assert fields(records[0]) == {"replaying": False}
    assert records[0].funcName == "test_outside_durable_code_records_carry_nothing_added"


def test_log_takes_a_level_and_refuses_an_unknown_one(records: list[logging.LogRecord]) -> None:
    durable_async.logger.log(logging.ERROR, "bad %s", "thing")
    assert (records[0].levelname, records[0].getMessage()) == ("ERROR", "bad thing")
    with pytest.raises(ValueError, match="unknown log level"):
        durable_async.logger.log(15, "between levels")


def powertools(stream: io.StringIO) -> Logger:
    # A service name of its own: Powertools configures its logger once per name.
    name = f"orders-{next(_SERVICES)}"
    return Logger(service=name, logger_handler=logging.StreamHandler(stream))


_SERVICES = itertools.count()


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


async def test_a_powertools_logger_writes_our_keys_beside_its_own() -> None:
    stream = io.StringIO()
    previous = durable_async.set_logger(powertools(stream))
    try:

        @durable_execution
        async def handler(event: None, ctx: DurableContext) -> None:
            await ctx.step(lambda: durable_async.logger.info("charging"), name="charge")

        result = await LocalRunner(handler).run()
    finally:
        durable_async.set_logger(previous)
    (line,) = json_lines(stream)
    assert line["message"] == "charging"
    assert line["service"].startswith("orders-")  # Powertools' own structured keys
    assert line["executionArn"] == result.execution_arn
    assert line["operationName"] == "charge"
    assert line["attempt"] == 1


async def body(event: Any, ctx: DurableContext) -> str:
    ctx.logger.info("handling")
    await ctx.wait(5)
    return "done"


def handling_line(stream: io.StringIO) -> dict[str, Any]:
    lines = [line for line in json_lines(stream) if line.get("message") == "handling"]
    assert lines, stream.getvalue()
    return lines[0]


async def test_powertools_inject_lambda_context_inside_durable_execution() -> None:
    # Powertools' wrapper is a plain function returning the coroutine; it reads the Lambda
    # context from the durable context (`ctx.lambda_context`), which a local run fills in.
    stream = io.StringIO()
    log = powertools(stream)
    previous = durable_async.set_logger(log)
    try:
        handler = durable_execution(log.inject_lambda_context(body))
        result = await LocalRunner(handler).run()
    finally:
        durable_async.set_logger(previous)
    assert result.result == "done", result.error
    line = handling_line(stream)
    assert line["function_name"] == "body"  # Powertools read the (local) Lambda context
    assert line["function_request_id"] == "local-1"
    assert line["executionArn"] == result.execution_arn
    assert line["cold_start"] in (True, False)


def test_powertools_decorators_outside_durable_execution(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Outside, they wrap the Lambda entry point: Lambda calls them with its own context, and
    # `log_metrics` flushes once the whole invocation has run.
    from aws_lambda_powertools import Metrics

    stream = io.StringIO()
    log = powertools(stream)
    metrics = Metrics(namespace="Orders", service="orders")

    async def counted(event: Any, ctx: DurableContext) -> str:
        metrics.add_metric(name="Handled", unit="Count", value=1)
        return await body(event, ctx)

    memory = MemoryBackend()
    inner = durable_execution(backend=memory)(counted)
    outer = log.inject_lambda_context(metrics.log_metrics(inner))
    previous = durable_async.set_logger(log)
    try:
        assert _drive_as_lambda(outer, memory) == "done"
    finally:
        durable_async.set_logger(previous)
        inner.close()
    line = handling_line(stream)
    assert line["function_name"] == "body"
    assert line["function_request_id"] == "request-1"
    assert line["executionArn"].startswith("arn:aws:lambda:local:")
    emitted = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"_aws"' in x]
    assert [m["Handled"] for m in emitted] == [[1.0], [1.0]]  # one flush per invocation


class _LambdaContext:
    function_name = "body"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:body"
    aws_request_id = "request-1"


def _drive_as_lambda(entry: Any, memory: MemoryBackend) -> Any:
    """Invoke `entry(event, context)` as Lambda does until the execution ends."""
    from durable_async._models import InvocationOutput

    event = memory.start_execution(None)
    arn = event.durable_execution_arn
    clock = memory.clock
    for _ in range(10):
        wire = entry(
            event.model_dump(mode="json", by_alias=True, exclude_none=True), _LambdaContext()
        )
        output = InvocationOutput.model_validate(wire)
        memory.complete_invocation(arn, output, started=clock.now())
        if output.status.value != "PENDING":
            return json.loads(output.result or "null")
        wake = memory.next_wake_time(arn)
        assert wake is not None
        clock.advance_to(wake)  # type: ignore[attr-defined]
        event = memory.invocation_event(arn)
    raise AssertionError("still running")
