"""JSON on the server's wire as the Lambda API writes it: members in PascalCase, timestamps as
epoch seconds, errors as `{"Type", "Message"}` with the code in `x-amzn-ErrorType`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from .._errors import BackendError

__all__ = ["STATUS", "api_error", "error_response", "event_json", "json_response", "to_wire"]

STATUS = {
    "InvalidParameterValueException": 400,
    "InvalidRequestContentException": 400,
    "ResourceNotFoundException": 404,
    "DurableExecutionAlreadyStartedException": 409,
    "ResourceConflictException": 409,
    "RequestTooLargeException": 413,
    "TooManyRequestsException": 429,
    "ServiceException": 500,
}


def to_wire(value: Any) -> Any:
    """`value` with models dumped by alias (unset members left out) and datetimes as epoch
    seconds."""
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True, exclude_none=True)
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {key: to_wire(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(item) for item in value]
    return value


def event_json(value: Any) -> str:
    """A function's invocation event as Lambda writes it: timestamps in epoch milliseconds."""
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True, exclude_none=True)
    return json.dumps(_millis(value))


def _millis(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return round(value.timestamp() * 1000)
    if isinstance(value, dict):
        return {key: _millis(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_millis(item) for item in value]
    return value


def json_response(value: Any, *, status: int = 200) -> web.Response:
    """A JSON answer in the API's shapes."""
    return web.Response(
        body=json.dumps(to_wire(value)).encode(), status=status, content_type="application/json"
    )


def error_response(code: str, message: str) -> web.Response:
    """The API's answer to a request it refuses with error `code`."""
    body = {"Type": "User", "Message": message, "message": message}
    return web.Response(
        body=json.dumps(body).encode(),
        status=STATUS.get(code, 400),
        content_type="application/json",
        headers={"x-amzn-ErrorType": code},
    )


def api_error(exc: BackendError) -> web.Response:
    """The answer for an error the emulated service raised."""
    return error_response(getattr(exc, "code", None) or "ServiceException", str(exc))
