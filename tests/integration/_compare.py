"""Compare two histories event by event, after normalisation and the documented exceptions.

Normalisation (values that differ by construction, never by behaviour):

- timestamps (`EventTimestamp`, timestamps inside details) are dropped;
- operation ids (`Id`, `ParentId`), callback ids and ARNs are replaced by their order of first
  appearance (`op1`, `cb1`, `arn1`), so links are compared, not spellings;
- stack traces are dropped (they name files and lines of the machine that ran the step).

Kept differences (`KEPT`): where AWS's local runner records less than the service does, the
field is removed from both sides. Each one is listed, with its reason, in `docs/real-wire.md`.
"""

from __future__ import annotations

import copy
import json
from typing import Any

_TIMESTAMPS = {"EventTimestamp", "ScheduledEndTimestamp", "StartTimestamp", "EndTimestamp"}

# Kept differences: name -> what is ignored (kept in step with docs/real-wire.md).
KEPT = {
    "invocation-completed": "InvocationCompleted: only the event's type and position compare "
    "(the runner records no Id and no InvocationCompletedDetails)",
    "execution-timeout": "ExecutionStartedDetails.ExecutionTimeout (the embedded backend has "
    "no execution timeout)",
    "step-succeeded-retry-details": "StepSucceededDetails.RetryDetails (the runner omits it)",
    "final-failure-delay": "StepFailedDetails.RetryDetails.NextAttemptDelaySeconds = 0 on a "
    "step's final failure (the runner adds it)",
    "retry-without-error-payload": "Result of a StepSucceeded that a later attempt follows "
    "(wait_for_condition's RETRY; the runner drops its payload)",
    "callback-timeouts": "CallbackStartedDetails.Timeout and HeartbeatTimeout (the runner "
    "omits them)",
    "error-truncated": "Truncated of an Error member (the runner marks some complete errors "
    "truncated)",
    "callback-timeout-message": "ErrorMessage of CallbackTimedOut (service-generated text)",
    "executed-version": "ChainedInvokeStartedDetails.ExecutedVersion (the runner omits it)",
}


class _Ids:
    """Replace opaque values by their order of first appearance, per kind."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], str] = {}

    def __call__(self, kind: str, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        key = (kind, value)
        if key not in self.seen:
            count = sum(1 for k, _ in self.seen if k == kind) + 1
            self.seen[key] = f"{kind}{count}"
        return self.seen[key]


def _plain(value: Any) -> Any:
    """JSON-able copy (datetimes become strings; they are dropped later anyway)."""
    return json.loads(json.dumps(value, default=str))


def _details_key(event: dict[str, Any]) -> str:
    return f"{event['EventType']}Details"


def _strip_timestamps(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_timestamps(v) for k, v in value.items() if k not in _TIMESTAMPS}
    if isinstance(value, list):
        return [_strip_timestamps(v) for v in value]
    return value


def _errors(details: dict[str, Any]) -> list[dict[str, Any]]:
    error = details.get("Error")
    return [error] if isinstance(error, dict) else []


def normalise(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history with opaque values renamed, timestamps dropped and `KEPT` applied."""
    ids = _Ids()
    out: list[dict[str, Any]] = []
    last_event_of: dict[str, int] = {}
    for index, event in enumerate(events):
        if "Id" in event and event.get("EventType") != "InvocationCompleted":
            last_event_of[event["Id"]] = index
    for index, raw in enumerate(events):
        event = _strip_timestamps(_plain(copy.deepcopy(raw)))
        kind = event["EventType"]
        if kind == "InvocationCompleted":
            out.append({"EventType": kind, "EventId": event.get("EventId")})
            continue
        raw_id = event.get("Id")
        for field in ("Id", "ParentId"):
            if field in event:
                event[field] = ids("op", event[field])
        details: dict[str, Any] = event.get(_details_key(event)) or {}
        for error in _errors(details):
            error.pop("Truncated", None)
            payload = error.get("Payload")
            if isinstance(payload, dict):
                payload.pop("StackTrace", None)
                if kind == "CallbackTimedOut":
                    payload.pop("ErrorMessage", None)
        if kind == "ExecutionStarted":
            details.pop("ExecutionTimeout", None)
        if kind == "StepSucceeded":
            details.pop("RetryDetails", None)
            if raw_id is not None and last_event_of.get(raw_id, index) > index:
                details.pop("Result", None)
        if kind == "StepFailed":
            retry = details.get("RetryDetails") or {}
            if retry.get("NextAttemptDelaySeconds") == 0:
                retry.pop("NextAttemptDelaySeconds")
        if kind == "CallbackStarted":
            details.pop("Timeout", None)
            details.pop("HeartbeatTimeout", None)
            if "CallbackId" in details:
                details["CallbackId"] = ids("cb", details["CallbackId"])
        if kind == "ChainedInvokeStarted":
            details.pop("ExecutedVersion", None)
            if "DurableExecutionArn" in details:
                details["DurableExecutionArn"] = ids("arn", details["DurableExecutionArn"])
        if details or _details_key(event) in event:
            event[_details_key(event)] = details
        out.append(event)
    return out


def differences(expected: list[dict[str, Any]], actual: list[dict[str, Any]]) -> list[str]:
    """Event-by-event differences between two normalised histories (empty when equal)."""
    found: list[str] = []
    for index in range(max(len(expected), len(actual))):
        left = expected[index] if index < len(expected) else None
        right = actual[index] if index < len(actual) else None
        if left != right:
            found.append(f"event {index + 1}:\n  runner: {_show(left)}\n  memory: {_show(right)}")
    return found


def _show(event: dict[str, Any] | None) -> str:
    return "(none)" if event is None else json.dumps(event, sort_keys=True)


def outline(events: list[dict[str, Any]]) -> list[str]:
    """One line per event (type, sub-type, name): for failure messages."""
    return [
        " ".join(str(e.get(k, "")) for k in ("EventId", "EventType", "SubType", "Name")).strip()
        for e in events
    ]
