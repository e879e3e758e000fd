"""The Lambda durable execution API over HTTP, as botocore models it (`rest-json`), served from
the emulated service: checkpoint and state, executions and their history, callbacks, stop, and
the Invoke call that starts an execution."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from .._backends.memory.service import MemoryBackend
from .._backends.paging import MAX_PAGE
from .._errors import BackendError
from .._models import ErrorObject, OperationUpdate
from .core import ServerCore
from .wire import api_error, error_response, json_response

__all__ = ["add_api_routes"]

_V = "/2025-12-01"
_UPDATES = TypeAdapter(list[OperationUpdate])
_STATUSES = frozenset({"RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED"})
Handler = Callable[[web.Request], Coroutine[Any, Any, web.StreamResponse]]


def add_api_routes(app: web.Application, core: ServerCore) -> None:
    """Serve the durable execution API and Invoke from `core`'s service."""
    api = _Api(core)
    routes = [
        ("POST", f"{_V}/durable-executions/{{arn}}/checkpoint", api.checkpoint),
        ("GET", f"{_V}/durable-executions/{{arn}}/state", api.state),
        ("GET", f"{_V}/durable-executions/{{arn}}/history", api.history),
        ("POST", f"{_V}/durable-executions/{{arn}}/stop", api.stop),
        ("GET", f"{_V}/durable-executions/{{arn}}", api.execution),
        ("GET", f"{_V}/functions/{{name}}/durable-executions", api.list_executions),
        ("POST", f"{_V}/durable-execution-callbacks/{{id}}/succeed", api.callback_success),
        ("POST", f"{_V}/durable-execution-callbacks/{{id}}/fail", api.callback_failure),
        ("POST", f"{_V}/durable-execution-callbacks/{{id}}/heartbeat", api.callback_heartbeat),
        ("POST", "/2015-03-31/functions/{name}/invocations", api.invoke),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, _guarded(handler))


def _guarded(handler: Handler) -> Handler:
    """Answer the service's errors and malformed requests as the API does."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except BackendError as exc:
            return api_error(exc)
        except (ValidationError, ValueError, KeyError, TypeError) as exc:
            return error_response("InvalidParameterValueException", f"invalid request: {exc}")

    return guarded


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return {}
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("the body must be a JSON object")
    return value


def _flag(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    return default if value is None else value.lower() == "true"


def _page(request: web.Request) -> tuple[int, int]:
    """The `Marker` (an offset) and `MaxItems` of a paged read."""
    marker = request.query.get("Marker")
    start = int(marker) if marker else 0
    size = int(request.query.get("MaxItems") or MAX_PAGE)
    if start < 0 or not 1 <= size <= MAX_PAGE:
        raise ValueError(f"Marker must be >= 0 and MaxItems in 1..{MAX_PAGE}")
    return start, size


def _paged(items: list[Any], start: int, size: int, key: str) -> dict[str, Any]:
    out: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        out["NextMarker"] = str(start + size)
    return out


def _strip_data(value: Any) -> Any:
    """An event without its payloads (`IncludeExecutionData=false`)."""
    if isinstance(value, dict):
        return {
            key: _strip_data(item)
            for key, item in value.items()
            if key not in ("Payload", "Input", "Result")
        }
    return value


def _parse_time(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class _Api:
    def __init__(self, core: ServerCore) -> None:
        self.core = core
        self.backend: MemoryBackend = core.backend

    async def checkpoint(self, request: web.Request) -> web.Response:
        body = await _body(request)
        updates = _UPDATES.validate_python(body.get("Updates") or [])
        answer = await self.backend.checkpoint(
            request.match_info["arn"],
            body.get("CheckpointToken") or "",
            updates,
            client_token=body.get("ClientToken"),
        )
        return json_response(answer)

    async def state(self, request: web.Request) -> web.Response:
        start, size = _page(request)
        page = await self.backend.get_state(
            request.match_info["arn"],
            request.query.get("CheckpointToken") or "",
            marker=str(start) if start else None,
            max_items=size,
        )
        return json_response(page)

    async def execution(self, request: web.Request) -> web.Response:
        arn = request.match_info["arn"]
        summary = self.backend.get_execution(arn)
        include = _flag(request, "IncludeExecutionData", True)
        if include:
            details = self.backend.execution_op(arn).execution_details
            if details is not None and details.input_payload is not None:
                summary["InputPayload"] = details.input_payload
        else:
            summary.pop("Result", None)
        summary["Version"] = "$LATEST"
        summary["ExecutionDataIncluded"] = include
        return json_response(summary)

    async def history(self, request: web.Request) -> web.Response:
        events = self.backend.history(request.match_info["arn"])
        if _flag(request, "ReverseOrder", False):
            events.reverse()
        if not _flag(request, "IncludeExecutionData", True):
            events = [_strip_data(event) for event in events]
        start, size = _page(request)
        return json_response(_paged(events, start, size, "Events"))

    async def list_executions(self, request: web.Request) -> web.Response:
        function = request.match_info["name"].split(":", 1)[0]
        if function not in self.core.functions:
            return error_response("ResourceNotFoundException", f"Function not found: {function}")
        statuses = set(request.query.getall("Statuses", []))
        if statuses - _STATUSES:
            raise ValueError(f"unknown Statuses {sorted(statuses - _STATUSES)}")
        name = request.query.get("DurableExecutionName")
        after = request.query.get("StartedAfter")
        before = request.query.get("StartedBefore")
        items = []
        for arn in self.backend.executions():
            summary = self.backend.get_execution(arn)
            start = summary["StartTimestamp"].timestamp()
            if (
                self.backend.function_of(arn) != function
                or (statuses and summary["Status"] not in statuses)
                or (name is not None and summary["DurableExecutionName"] != name)
                or (after is not None and start <= _parse_time(after))
                or (before is not None and start >= _parse_time(before))
            ):
                continue
            items.append(
                {
                    key: summary[key]
                    for key in (
                        "DurableExecutionArn",
                        "DurableExecutionName",
                        "FunctionArn",
                        "Status",
                        "StartTimestamp",
                        "EndTimestamp",
                    )
                    if key in summary
                }
            )
        if _flag(request, "ReverseOrder", False):
            items.reverse()
        start, size = _page(request)
        return json_response(_paged(items, start, size, "DurableExecutions"))

    async def stop(self, request: web.Request) -> web.Response:
        body = await _body(request)  # the Error member is the whole body
        error = ErrorObject.model_validate(body) if body else None
        when = self.backend.stop_execution(request.match_info["arn"], error)
        await self.core.persist()
        return json_response({"StopTimestamp": dt.datetime.fromtimestamp(when, tz=dt.UTC)})

    async def callback_success(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.backend.send_callback_success(request.match_info["id"], raw.decode() if raw else None)
        await self.core.persist()
        return json_response({})

    async def callback_failure(self, request: web.Request) -> web.Response:
        error = ErrorObject.model_validate(await _body(request))  # the Error member is the body
        self.backend.send_callback_failure(request.match_info["id"], error)
        await self.core.persist()
        return json_response({})

    async def callback_heartbeat(self, request: web.Request) -> web.Response:
        self.backend.send_callback_heartbeat(request.match_info["id"])
        await self.core.persist()
        return json_response({})

    async def invoke(self, request: web.Request) -> web.Response:
        kind = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if kind not in ("RequestResponse", "Event", "DryRun"):
            raise ValueError(f"unknown X-Amz-Invocation-Type {kind!r}")
        name = request.match_info["name"]
        if kind == "DryRun":
            if name.split(":", 1)[0] not in self.core.functions:
                return error_response("ResourceNotFoundException", f"Function not found: {name}")
            return web.Response(status=204)
        payload = await request.read()
        if payload:
            json.loads(payload)  # Lambda refuses a payload that is not JSON
        answer = await self.core.invoke(
            name,
            payload,
            wait=kind == "RequestResponse",
            name=request.headers.get("X-Amz-Durable-Execution-Name"),
        )
        headers = {"X-Amz-Executed-Version": "$LATEST"}
        if answer.execution_arn is not None:
            headers["X-Amz-Durable-Execution-Arn"] = answer.execution_arn
        if answer.function_error:
            headers["X-Amz-Function-Error"] = "Unhandled"
        if kind == "Event":
            return web.Response(status=202, headers=headers)
        body = json.dumps(answer.payload).encode()
        return web.Response(body=body, headers=headers, content_type="application/json")
