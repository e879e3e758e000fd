"""The viewer's HTTP API: listing, detail, callback answers, stop, refusals, assets, events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from durable_async import DurableContext, durable_execution
from durable_async._server.feed import ChangeFeed
from durable_async._server.viewer import add_viewer_routes
from durable_async.testing import LocalRunner, MemoryBackend, RunningExecution

pytestmark = pytest.mark.anyio

XSS = "<img src=x onerror=alert(1)>"


@durable_execution
async def approval(event: Any, ctx: DurableContext) -> dict[str, Any]:
    prepared = await ctx.step(lambda: {"amount": event["amount"]}, name="prepare")
    callback = await ctx.create_callback(name="approval", timeout=3600, heartbeat_timeout=600)
    decision = await callback
    return {"prepared": prepared, "decision": decision}


@durable_execution
async def quick(event: Any, ctx: DurableContext) -> int:
    await ctx.wait(30, name="pause")
    return int(await ctx.step(lambda: 41 + 1, name="answer"))


@dataclass
class Viewer:
    client: TestClient[web.Request, web.Application]
    backend: MemoryBackend
    feed: ChangeFeed
    run: RunningExecution
    changes: list[int]

    @property
    def arn(self) -> str:
        return self.run.execution_arn

    async def post(self, path: str, body: Any, **headers: str) -> tuple[int, Any]:
        response = await self.client.post(
            path, data=json.dumps(body), headers={"Content-Type": "application/json", **headers}
        )
        async with response:
            return response.status, await response.json()

    async def get(self, path: str, **params: str) -> tuple[int, Any]:
        async with self.client.get(path, params=params) as response:
            return response.status, await response.json()

    async def finish(self) -> None:
        """End the approval run (if the test has not), so no task outlives the test."""
        if self.backend.get_execution(self.arn)["Status"] == "RUNNING":
            callback_id = await self.run.callback_id("approval")
            self.run.send_callback_success(callback_id, "done")
        await self.run.result()


@asynccontextmanager
async def serve(keepalive: float = 15.0) -> AsyncIterator[Viewer]:
    """Three executions (a finished one, a bare one of another function, a running approval)
    behind the viewer's routes."""
    backend = MemoryBackend()
    feed = ChangeFeed()
    changes: list[int] = []

    async def after_change() -> None:
        changes.append(len(changes) + 1)
        feed.publish(backend.executions())

    await LocalRunner(quick, backend=backend).run({"n": 1}, name="quick-one")
    backend.start_execution({"invoice": 7}, name="bill-7", function_name="billing")
    run = LocalRunner(approval, backend=backend).start({"amount": 12}, name="approve-12")
    await run.callback_id("approval")
    while True:  # until the invocation that started the callback has ended (suspended)
        if any(e["EventType"] == "InvocationCompleted" for e in backend.history(run.execution_arn)):
            break
        await asyncio.sleep(0.001)
    app = web.Application()
    add_viewer_routes(app, backend, feed, after_change=after_change, keepalive=keepalive)
    async with TestClient(TestServer(app)) as client:
        viewer = Viewer(client, backend, feed, run, changes)
        try:
            yield viewer
        finally:
            await viewer.finish()


def callback_id(viewer: Viewer) -> str:
    for op in viewer.backend.operations(viewer.arn):
        if op.callback_details and op.callback_details.callback_id and op.name == "approval":
            return op.callback_details.callback_id
    raise AssertionError("no callback")


# -- reading -------------------------------------------------------------------------------------


async def test_the_list_is_newest_first_with_summaries() -> None:
    async with serve() as viewer:
        status, rows = await viewer.get("/viewer/api/executions")
    assert status == 200
    assert [row["name"] for row in rows] == ["approve-12", "bill-7", "quick-one"]
    assert [row["status"] for row in rows] == ["RUNNING", "RUNNING", "SUCCEEDED"]
    assert [row["function"] for row in rows] == ["local", "billing", "local"]
    quick_row = rows[2]
    assert set(quick_row) == {"arn", "name", "function", "status", "start", "end", "duration"}
    assert quick_row["duration"] == pytest.approx(30, abs=1)  # the skipped 30 s wait
    assert quick_row["end"] is not None
    assert rows[0]["end"] is None


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"status": "running"}, ["approve-12", "bill-7"]),
        ({"status": "SUCCEEDED"}, ["quick-one"]),
        ({"status": "FAILED"}, []),
        ({"function": "billing"}, ["bill-7"]),
        ({"function": "local", "status": "RUNNING"}, ["approve-12"]),
        ({"q": "APPROVE"}, ["approve-12"]),
        ({"q": "function:billing/"}, ["bill-7"]),  # a substring of the ARN
        ({"q": "nothing-like-this"}, []),
    ],
)
async def test_the_list_filters(params: dict[str, str], names: list[str]) -> None:
    async with serve() as viewer:
        status, rows = await viewer.get("/viewer/api/executions", **params)
    assert status == 200
    assert [row["name"] for row in rows] == names


async def test_the_detail_has_operations_history_and_payloads() -> None:
    async with serve() as viewer:
        status, detail = await viewer.get("/viewer/api/execution", arn=viewer.arn)
        assert status == 200
        assert detail["arn"] == viewer.arn
        assert detail["status"] == "RUNNING"
        assert json.loads(detail["input"]) == {"amount": 12}
        assert detail["result"] is None
        assert detail["error"] is None
        assert isinstance(detail["now"], str)
        ops = {op["Name"]: op for op in detail["operations"] if "Name" in op}
        assert ops["prepare"]["Type"] == "STEP"
        assert ops["prepare"]["Status"] == "SUCCEEDED"
        assert json.loads(ops["prepare"]["StepDetails"]["Result"]) == {"amount": 12}
        assert ops["approval"]["Status"] == "STARTED"
        assert ops["approval"]["CallbackDetails"]["CallbackId"] == callback_id(viewer)
        assert isinstance(ops["approval"]["StartTimestamp"], str)
        kinds = [event["EventType"] for event in detail["history"]]
        assert kinds[:2] == ["ExecutionStarted", "StepStarted"]
        assert "CallbackStarted" in kinds
        assert all(isinstance(event["EventTimestamp"], str) for event in detail["history"])
        completed = next(e for e in detail["history"] if e["EventType"] == "InvocationCompleted")
        assert isinstance(completed["InvocationCompletedDetails"]["StartTimestamp"], str)
        json.dumps(detail)  # nothing left that JSON cannot hold

        await viewer.finish()
        _, done = await viewer.get("/viewer/api/execution", arn=viewer.arn)
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["result"]) == {"prepared": {"amount": 12}, "decision": "done"}
    assert done["end"] is not None


async def test_an_unknown_or_missing_execution() -> None:
    async with serve() as viewer:
        status, body = await viewer.get("/viewer/api/execution", arn="arn:nope")
        assert (status, "arn:nope" in body["error"]) == (404, True)
        status, body = await viewer.get("/viewer/api/execution")
        assert status == 400
        assert "error" in body


# -- callbacks -------------------------------------------------------------------------------------


async def test_succeed_sends_the_payload_as_json() -> None:
    async with serve() as viewer:
        version = viewer.feed.version
        payload = {"by": "ada", "note": XSS, "n": [1, 2.5, None, True]}
        status, body = await viewer.post(
            "/viewer/api/callback/succeed", {"callbackId": callback_id(viewer), "payload": payload}
        )
        assert status == 200
        assert body["ok"] is True
        assert viewer.changes == [1]
        assert viewer.feed.version > version
        result = await viewer.run.result()
        assert result.result == {"prepared": {"amount": 12}, "decision": payload}
        # The callback is closed now: answering it again is refused.
        status, body = await viewer.post(
            "/viewer/api/callback/succeed", {"callbackId": callback_id(viewer), "payload": 1}
        )
        assert status == 404
        assert "callback" in body["error"]
        assert viewer.changes == [1]


async def test_succeed_without_a_payload_sends_null() -> None:
    async with serve() as viewer:
        status, _ = await viewer.post(
            "/viewer/api/callback/succeed", {"callbackId": callback_id(viewer)}
        )
        assert status == 200
        result = await viewer.run.result()
    assert result.result["decision"] is None


async def test_fail_sends_the_error() -> None:
    async with serve() as viewer:
        status, body = await viewer.post(
            "/viewer/api/callback/fail",
            {"callbackId": callback_id(viewer), "errorType": "Rejected", "errorMessage": "no"},
        )
        assert (status, body["action"]) == (200, "fail")
        result = await viewer.run.result()
    assert result.status == "FAILED"
    details = result.operation("approval").callback_details
    assert details is not None
    assert details.error is not None
    assert (details.error.error_type, details.error.error_message) == ("Rejected", "no")


async def test_heartbeat_keeps_the_callback_open() -> None:
    async with serve() as viewer:
        cid = callback_id(viewer)
        viewer.backend.clock.advance(500)  # type: ignore[attr-defined]
        before = viewer.backend.callback_deadline(cid)
        status, _ = await viewer.post("/viewer/api/callback/heartbeat", {"callbackId": cid})
        assert status == 200
        assert viewer.changes == [1]
        after = viewer.backend.callback_deadline(cid)
        assert before is not None
        assert after is not None
        assert after > before
        assert viewer.backend.get_execution(viewer.arn)["Status"] == "RUNNING"


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/viewer/api/callback/heartbeat", {"callbackId": "nope"}, 404, "nope"),
        ("/viewer/api/callback/succeed", {"callbackId": "nope", "payload": 1}, 404, "nope"),
        ("/viewer/api/callback/fail", {"callbackId": "nope"}, 404, "nope"),
        ("/viewer/api/callback/succeed", {"payload": 1}, 400, "callbackId"),
        ("/viewer/api/callback/succeed", {"callbackId": 7}, 400, "callbackId"),
        ("/viewer/api/callback/fail", {"callbackId": "x", "errorType": 3}, 400, "errorType"),
        ("/viewer/api/callback/fail", {"callbackId": "x", "errorMessage": []}, 400, "errorMessage"),
        ("/viewer/api/callback/explode", {"callbackId": "x"}, 404, "explode"),
        ("/viewer/api/callback/succeed", [1, 2], 400, "object"),
        ("/viewer/api/stop", {}, 400, "arn"),
        ("/viewer/api/stop", {"arn": "arn:nope"}, 404, "arn:nope"),
    ],
)
async def test_bad_actions_are_refused_with_a_message(
    path: str, body: Any, status: int, words: str
) -> None:
    async with serve() as viewer:
        got, answer = await viewer.post(path, body)
        assert got == status
        assert words in answer["error"]
        assert viewer.changes == []
        assert viewer.backend.get_execution(viewer.arn)["Status"] == "RUNNING"


async def test_invalid_json_is_refused() -> None:
    async with serve() as viewer:
        response = await viewer.client.post(
            "/viewer/api/callback/succeed",
            data=b"{not json",
            headers={"Content-Type": "application/json"},
        )
        async with response:
            assert response.status == 400
            assert "JSON" in (await response.json())["error"]


# -- stop ------------------------------------------------------------------------------------------


async def test_stop_ends_a_running_execution() -> None:
    async with serve() as viewer:
        _, rows = await viewer.get("/viewer/api/executions", function="billing")
        arn = rows[0]["arn"]
        status, body = await viewer.post("/viewer/api/stop", {"arn": arn, "errorMessage": "enough"})
        assert (status, body["status"]) == (200, "STOPPED")
        assert viewer.changes == [1]
        info = viewer.backend.get_execution(arn)
        assert info["Status"] == "STOPPED"
        assert info["Error"]["ErrorMessage"] == "enough"
        # Stopping it again: it is not running any more.
        status, body = await viewer.post("/viewer/api/stop", {"arn": arn})
        assert status == 409
        assert "STOPPED" in body["error"]
        assert viewer.changes == [1]


# -- refusing other web sites ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
async def test_actions_need_a_json_content_type(content_type: str) -> None:
    async with serve() as viewer:
        body = json.dumps({"callbackId": callback_id(viewer), "payload": 1})
        for path in ("/viewer/api/callback/succeed", "/viewer/api/stop"):
            response = await viewer.client.post(
                path, data=body, headers={"Content-Type": content_type}
            )
            async with response:
                assert response.status == 415
                assert "application/json" in (await response.json())["error"]
        assert viewer.changes == []
        assert viewer.backend.get_execution(viewer.arn)["Status"] == "RUNNING"


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "null", "https://127.0.0.1", "http://127.0.0.1:1"]
)
async def test_actions_from_another_origin_are_refused(origin: str) -> None:
    async with serve() as viewer:
        cid = callback_id(viewer)
        status, body = await viewer.post(
            "/viewer/api/callback/succeed", {"callbackId": cid, "payload": 1}, Origin=origin
        )
        assert status == 403
        assert origin in body["error"]
        status, _ = await viewer.post("/viewer/api/stop", {"arn": viewer.arn}, Origin=origin)
        assert status == 403
        assert viewer.changes == []
        assert viewer.backend.get_execution(viewer.arn)["Status"] == "RUNNING"


async def test_actions_from_the_page_itself_are_accepted() -> None:
    async with serve() as viewer:
        own = str(viewer.client.make_url("/")).rstrip("/")
        status, _ = await viewer.post(
            "/viewer/api/callback/heartbeat", {"callbackId": callback_id(viewer)}, Origin=own
        )
        assert status == 200


# -- the page and its assets -----------------------------------------------------------------------


async def test_the_page_and_its_assets() -> None:
    async with serve() as viewer:
        async with viewer.client.get("/") as response:
            assert response.status == 200
            assert response.content_type == "text/html"
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
            page = await response.text()
        assert '<script src="/static/app.js"' in page
        for name, kind in [("app.js", "text/javascript"), ("style.css", "text/css")]:
            async with viewer.client.get(f"/static/{name}") as response:
                assert response.status == 200
                assert response.content_type == kind
                assert len(await response.read()) > 100


@pytest.mark.parametrize(
    "path",
    [
        "/static/viewer.py",
        "/static/__init__.py",
        "/static/..%2Fviewer.py",
        "/static/%2E%2E%2Ffeed.py",
        "/static/..%2F..%2F..%2Fpyproject.toml",
        "/static/../viewer.py",
        "/static/",
        "/static/.",
    ],
)
async def test_only_the_known_assets_are_served(path: str) -> None:
    async with serve() as viewer, viewer.client.get(path) as response:
        assert response.status == 404
        assert "import" not in await response.text()


# -- live updates ----------------------------------------------------------------------------------


async def read_event(response: Any) -> list[str]:
    """The lines of the next server-sent event (up to its blank line)."""
    lines: list[str] = []
    while True:
        raw = await response.content.readline()
        assert raw, "the stream ended"
        line = raw.decode().rstrip("\n")
        if not line:
            return lines
        lines.append(line)


async def test_events_announce_each_change() -> None:
    async with serve() as viewer, viewer.client.get("/viewer/api/events") as response:
        assert response.status == 200
        assert response.content_type == "text/event-stream"
        hello = await read_event(response)
        assert hello[0] == "retry: 2000"
        status, _ = await viewer.post(
            "/viewer/api/callback/heartbeat", {"callbackId": callback_id(viewer)}
        )
        assert status == 200
        (line,) = await read_event(response)
        assert line.startswith("data: ")
        data = json.loads(line.removeprefix("data: "))
        assert data["version"] == viewer.feed.version
        assert viewer.arn in data["arns"]
        # A change published by the server (not through the viewer) comes the same way.
        viewer.feed.publish(["arn:other"])
        (line,) = await read_event(response)
        assert json.loads(line.removeprefix("data: "))["arns"] == ["arn:other"]


async def test_an_idle_stream_sends_keepalives() -> None:
    async with (
        serve(keepalive=0.01) as viewer,
        viewer.client.get("/viewer/api/events") as response,
    ):
        await read_event(response)
        assert await read_event(response) == [": keepalive"]


async def test_open_streams_end_when_the_server_shuts_down() -> None:
    backend = MemoryBackend()
    feed = ChangeFeed()

    async def after_change() -> None:
        feed.publish(backend.executions())

    app = web.Application()
    add_viewer_routes(app, backend, feed, after_change=after_change)  # keepalives every 15 s
    server = TestServer(app)
    client: TestClient[web.Request, web.Application] = TestClient(server)
    await client.start_server()
    try:
        response = await client.get("/viewer/api/events")
        await read_event(response)
        await server.close()  # wakes the stream: it ends now, not at its next keepalive
        assert await response.content.read() == b""
        response.release()
    finally:
        await client.close()
