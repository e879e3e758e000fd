"""Functions run in subprocesses, as Lambda runs them: this SDK's handler finds the server
through `AWS_ENDPOINT_URL_LAMBDA` with its aiobotocore client, and so does the official
SDK's handler with boto3."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from durable_async._server.app import DurableServer
from durable_async._server.functions import SubprocessHandler

from .lambda_client import Lambda

pytestmark = pytest.mark.anyio

OURS = """
from durable_async import durable_execution

@durable_execution
async def handler(event, ctx):
    first = await ctx.step(lambda: event["n"] + 1, name="add")
    await ctx.wait(2, name="pause")
    answer = await ctx.wait_for_callback(lambda callback_id: None, name="answer")
    return {"first": first, "answer": answer}
"""

OFFICIAL = """
from aws_durable_execution_sdk_python import DurableContext, durable_execution
from aws_durable_execution_sdk_python.config import Duration

@durable_execution
def handler(event, context: DurableContext):
    first = context.step(lambda _: event["n"] + 1, name="add")
    context.wait(Duration.from_seconds(2), name="pause")
    answer = context.wait_for_callback(lambda callback_id, _: None, name="answer")
    return {"first": first, "answer": answer}
"""


@pytest.mark.parametrize(
    ("source", "answer"),
    # The official SDK hands a callback's result payload over as it is, undecoded.
    [
        (OURS, "yes"),
        # Each invocation starts Python and imports boto3: give it more than the usual 30 s.
        pytest.param(OFFICIAL, '"yes"', marks=pytest.mark.timeout(120)),
    ],
    ids=["durable_async", "official"],
)
async def test_a_handler_in_a_subprocess_talks_to_the_server_over_http(
    tmp_path: Path, source: str, answer: str
) -> None:
    app = tmp_path / "app.py"
    app.write_text(textwrap.dedent(source))
    functions = {"flow": f"{app}:handler"}
    async with DurableServer(
        functions, db=tmp_path / "x.db", skip_time=True, subprocess=True
    ) as server:
        assert isinstance(server.functions[0].target, SubprocessHandler)
        client = Lambda(server.url)
        arn = await client.start("flow", {"n": 41})
        callback_id = await client.callback_id(arn)
        await client.call(
            "send_durable_execution_callback_success", CallbackId=callback_id, Result=b'"yes"'
        )
        summary = await client.status(arn, until={"SUCCEEDED", "FAILED"})
        assert summary["Status"] == "SUCCEEDED", summary
        assert json.loads(summary["Result"]) == {"first": 42, "answer": answer}
        kinds = [event["EventType"] for event in await client.events(arn)]
        assert kinds.count("InvocationCompleted") >= 2  # it suspended on the callback
        assert "WaitSucceeded" in kinds


async def test_the_official_sdks_handler_runs_in_a_subprocess_without_being_asked(
    tmp_path: Path,
) -> None:
    app = tmp_path / "official_app.py"
    app.write_text(textwrap.dedent(OFFICIAL))
    server = DurableServer({"flow": f"{app}:handler"}, db=tmp_path / "x.db")
    assert isinstance(server.functions[0].target, SubprocessHandler)
    assert server.functions[0].durable
