"""The local server's API, driven as users drive it: botocore's Lambda client over HTTP."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from botocore.exceptions import ClientError

from durable_async import DurableContext, durable_execution
from durable_async._server.app import DurableServer

from .lambda_client import Lambda

pytestmark = pytest.mark.anyio

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@durable_execution
async def approval(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    decision = await ctx.wait_for_callback(lambda callback_id: None, name="approval")
    receipt = await ctx.step(lambda: f"paid-{event['amount']}", name="pay")
    return {"decision": decision, "receipt": receipt}


@durable_execution
async def pause(event: dict[str, Any], ctx: DurableContext) -> str:
    await ctx.wait(int(event.get("seconds", 3600)), name="pause")
    return "woke"


@durable_execution
async def boom(event: Any, ctx: DurableContext) -> None:
    await ctx.step(lambda: 1, name="one")
    raise ValueError("no luck")


def double(payload: dict[str, int]) -> dict[str, int]:
    return {"doubled": payload["n"] * 2}


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


async def test_an_approval_runs_end_to_end_through_botocore(tmp_path: Path) -> None:
    functions = {"approval": approval}
    async with DurableServer(functions, db=tmp_path / "x.db", skip_time=True) as server:
        client = Lambda(server.url)
        arn = await client.start("approval", {"amount": 250}, name="order-1")
        assert ":function:approval/" in arn
        callback_id = await client.callback_id(arn, "approval")
        running = await client.status(arn)
        assert running["Status"] == "RUNNING"
        assert json.loads(running["InputPayload"]) == {"amount": 250}

        await client.call(
            "send_durable_execution_callback_success",
            CallbackId=callback_id,
            Result=json.dumps({"approved": True}).encode(),
        )
        # Invoking again with the same name and input is idempotent: it waits for the end.
        answer = await client.call(
            "invoke",
            FunctionName="approval",
            Payload=json.dumps({"amount": 250}).encode(),
            DurableExecutionName="order-1",
        )
        assert answer["DurableExecutionArn"] == arn
        assert "FunctionError" not in answer
        result = json.loads(answer["Payload"].read())
        assert result == {"decision": {"approved": True}, "receipt": "paid-250"}

        summary = await client.status(arn)
        assert summary["Status"] == "SUCCEEDED"
        assert json.loads(summary["Result"]) == result
        kinds = [event["EventType"] for event in await client.events(arn)]
        assert kinds[0] == "ExecutionStarted"
        assert kinds[-1] == "ExecutionSucceeded"
        assert {"CallbackStarted", "CallbackSucceeded", "StepSucceeded"} <= set(kinds)
        listed = await client.call(
            "list_durable_executions_by_function", FunctionName="approval", Statuses=["SUCCEEDED"]
        )
        assert [item["DurableExecutionArn"] for item in listed["DurableExecutions"]] == [arn]


async def test_a_synchronous_invoke_answers_the_result_or_the_function_error(
    tmp_path: Path,
) -> None:
    functions = {"pause": pause, "boom": boom, "double": double}
    async with DurableServer(functions, db=tmp_path / "x.db", skip_time=True) as server:
        client = Lambda(server.url)
        woke = await client.call("invoke", FunctionName="pause", Payload=b'{"seconds": 7200}')
        assert json.loads(woke["Payload"].read()) == "woke"
        failed = await client.call("invoke", FunctionName="boom", Payload=b"{}")
        assert failed["FunctionError"] == "Unhandled"
        error = json.loads(failed["Payload"].read())
        assert error["errorType"] == "ValueError"
        assert error["errorMessage"] == "no luck"
        plain = await client.call("invoke", FunctionName="double", Payload=b'{"n": 21}')
        assert json.loads(plain["Payload"].read()) == {"doubled": 42}
        assert "DurableExecutionArn" not in plain


async def test_refusals_carry_the_services_error_codes(tmp_path: Path) -> None:
    async with DurableServer({"approval": approval}, db=tmp_path / "x.db") as server:
        client = Lambda(server.url)
        with pytest.raises(ClientError) as missing:
            await client.call("invoke", FunctionName="nope", Payload=b"{}")
        assert _code(missing) == "ResourceNotFoundException"

        arn = await client.start("approval", {"amount": 1}, name="same")
        with pytest.raises(ClientError) as conflict:
            await client.start("approval", {"amount": 2}, name="same")
        assert _code(conflict) == "DurableExecutionAlreadyStartedException"

        with pytest.raises(ClientError) as stale:
            await client.call(
                "checkpoint_durable_execution", DurableExecutionArn=arn, CheckpointToken="old"
            )
        assert _code(stale) == "InvalidParameterValueException"
        await client.suspended(arn)  # the stop then ends the history
        with pytest.raises(ClientError) as unknown_callback:
            await client.call("send_durable_execution_callback_heartbeat", CallbackId="nope")
        assert _code(unknown_callback) == "ResourceNotFoundException"

        stopped = await client.call(
            "stop_durable_execution",
            DurableExecutionArn=arn,
            Error={"ErrorType": "Cancelled", "ErrorMessage": "by the test"},
        )
        assert stopped["StopTimestamp"]
        summary = await client.status(arn)
        assert summary["Status"] == "STOPPED"
        assert summary["Error"].get("ErrorMessage") == "by the test", summary["Error"]
        assert (await client.events(arn))[-1]["EventType"] == "ExecutionStopped"
        with pytest.raises(ClientError) as again:
            await client.call("stop_durable_execution", DurableExecutionArn=arn)
        assert _code(again) == "ResourceNotFoundException"


async def test_chained_invokes_between_served_functions(tmp_path: Path) -> None:
    spec = f"{EXAMPLES / 'chained_invoke.py'}"
    functions = {"pricing": f"{spec}:pricing", "checkout": f"{spec}:handler"}
    async with DurableServer(functions, db=tmp_path / "x.db", skip_time=True) as server:
        client = Lambda(server.url)
        answer = await client.call(
            "invoke",
            FunctionName="checkout",
            Payload=json.dumps({"sku": "a-1", "quantity": 3, "customer": "member-1"}).encode(),
        )
        assert "FunctionError" not in answer, answer["Payload"].read()
        assert json.loads(answer["Payload"].read())["price_from"] == "pricing"
        events = await client.events(answer["DurableExecutionArn"])
        started = [e for e in events if e["EventType"] == "ChainedInvokeStarted"]
        child = started[0]["ChainedInvokeStartedDetails"]["DurableExecutionArn"]
        assert ":function:pricing/" in child
        assert (await client.status(child))["Status"] == "SUCCEEDED"


async def test_requests_another_site_could_forge_are_refused(tmp_path: Path) -> None:
    import aiohttp

    async with DurableServer({"approval": approval}, db=tmp_path / "x.db") as server:
        path = "/2015-03-31/functions/approval/invocations"
        async with aiohttp.ClientSession() as http:
            forged = await http.post(
                server.url + path, data=b"{}", headers={"Origin": "https://evil.example"}
            )
            assert forged.status == 400
            assert forged.headers["x-amzn-ErrorType"] == "AccessDeniedException"
            rebound = await http.get(
                server.url + "/viewer/api/executions", headers={"Host": "evil.example"}
            )
            assert rebound.status == 400
            own = await http.post(
                server.url + path,
                data=b"{}",
                headers={"Origin": server.url, "X-Amz-Invocation-Type": "Event"},
            )
            assert own.status == 202


def test_binding_beyond_loopback_needs_to_be_asked_for(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="allow_remote"):
        DurableServer({"approval": approval}, db=tmp_path / "x.db", host="0.0.0.0")
    DurableServer({"approval": approval}, db=tmp_path / "x.db", host="0.0.0.0", allow_remote=True)


async def test_executions_survive_a_restart_and_their_callbacks_can_be_answered(
    tmp_path: Path,
) -> None:
    db = tmp_path / "x.db"
    async with DurableServer({"approval": approval}, db=db) as server:
        client = Lambda(server.url)
        arn = await client.start("approval", {"amount": 5})
        callback_id = await client.callback_id(arn)
    async with DurableServer({"approval": approval}, db=db) as server:
        assert server.resumed == 1
        client = Lambda(server.url)
        assert (await client.status(arn))["Status"] == "RUNNING"
        await client.call(
            "send_durable_execution_callback_success", CallbackId=callback_id, Result=b'"ok"'
        )
        summary = await client.status(arn, until={"SUCCEEDED", "FAILED"})
        assert json.loads(summary["Result"]) == {"decision": "ok", "receipt": "paid-5"}
        later = await client.start("approval", {"amount": 6})
        assert later != arn
        await asyncio.sleep(0)


async def test_concurrent_checkpoints_are_serialised_by_the_token_chain(tmp_path: Path) -> None:
    import aiohttp

    async with DurableServer({"approval": approval}, db=tmp_path / "x.db") as server:
        client = Lambda(server.url)
        arn = await client.start("approval", {"amount": 1})
        await client.suspended(arn)  # on its callback: nothing moves the token but us
        assert server.backend is not None
        token = server.backend._executions[arn].token  # the suspended execution's token
        path = f"{server.url}/2025-12-01/durable-executions/{quote(arn, safe='')}/checkpoint"

        async def checkpoint(http: aiohttp.ClientSession, n: int) -> int:
            update = {"Id": f"extra-{n}", "Type": "STEP", "Action": "START", "Name": f"extra-{n}"}
            body = {"CheckpointToken": token, "Updates": [update]}
            async with http.post(path, json=body) as answer:
                return answer.status

        async with aiohttp.ClientSession() as http:
            statuses = await asyncio.gather(*(checkpoint(http, n) for n in range(10)))
        assert sorted(statuses) == [200] + [400] * 9
        names = [e.get("Name") for e in await client.events(arn) if e["EventType"] == "StepStarted"]
        assert len([name for name in names if name and name.startswith("extra-")]) == 1
