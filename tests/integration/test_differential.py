"""Differential check: our embedded MemoryBackend against AWS's local runner.

Each scenario runs twice: on the runner through the real wire (shared with
`test_real_wire.py`), and on `MemoryBackend` through `LocalRunner`. The two histories must
agree event by event (EventType, SubType, Name, Id and ParentId links, statuses and payloads)
once ids are renamed by first appearance and timestamps dropped (`_compare.normalise`). The
few fields where the runner records less than the service are ignored on both sides; each is
listed with its reason in docs/real-wire.md.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from _compare import differences, normalise, outline
from _runs import cached_wire_run, run_locally
from _scenarios import SCENARIOS, Scenario
from _wire import Wire

pytestmark = pytest.mark.anyio

# Comparisons where our side is known to be wrong, until the fix lands (strict: they fail
# loudly once fixed, so the mark is removed then). None at present.
KNOWN_MEMORY_BUGS: dict[str, str] = {}


def _params() -> list[object]:
    params: list[object] = []
    for scenario in SCENARIOS:
        reason = KNOWN_MEMORY_BUGS.get(scenario.name)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(scenario, id=scenario.name, marks=marks))
    return params


@pytest.mark.parametrize("scenario", _params())
async def test_memory_backend_matches_the_runner(wire: Wire, scenario: Scenario) -> None:
    remote = await cached_wire_run(wire, scenario)
    local = await run_locally(scenario, scenario.name)

    assert (local.status, local.result) == (remote.status, remote.result)
    assert (local.error or {}).get("ErrorType") == (remote.error or {}).get("ErrorType")
    found = differences(normalise(remote.history), normalise(local.history))
    assert not found, "\n".join(
        [
            f"{len(found)} differing events",
            *found,
            "runner:",
            *outline(remote.history),
            "memory:",
            *outline(local.history),
        ]
    )


def _event(kind: str, op: str, **extra: Any) -> dict[str, Any]:
    return {"EventType": kind, "EventId": 1, "Id": op, "EventTimestamp": "t", **extra}


def test_ids_are_compared_by_first_appearance() -> None:
    left = [
        _event("ContextStarted", "aaa"),
        _event("StepStarted", "bbb", ParentId="aaa"),
    ]
    right = [
        _event("ContextStarted", "xxx"),
        _event("StepStarted", "yyy", ParentId="xxx"),
    ]
    assert normalise(left) == normalise(right)

    relinked = copy.deepcopy(right)
    relinked[1]["ParentId"] = "yyy"
    assert differences(normalise(left), normalise(relinked))


def test_payloads_and_order_still_count() -> None:
    ok = {"Result": {"Payload": '"a"', "Truncated": False}}
    base = [
        _event("StepStarted", "s", StepStartedDetails={}),
        _event("StepSucceeded", "s", StepSucceededDetails=ok),
    ]
    other_payload = copy.deepcopy(base)
    other_payload[1]["StepSucceededDetails"]["Result"]["Payload"] = '"b"'
    assert differences(normalise(base), normalise(other_payload))
    assert differences(normalise(base), normalise(base[::-1]))
    assert differences(normalise(base), normalise(base[:1]))
