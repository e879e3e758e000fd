"""Every operation type against AWS's local runner, through our real aiobotocore client.

Each scenario is started on `dex-local-runner`, which invokes our handlers over the Lambda
Invoke API; every checkpoint and state read crosses HTTP through `AwsBackend`. Callbacks are
answered with the `lambda` client's `send_durable_execution_callback_success/failure`.
"""

from __future__ import annotations

from typing import Any

import pytest
from _runs import cached_wire_run
from _scenarios import BY_NAME, SCENARIOS, Scenario
from _wire import Wire

pytestmark = pytest.mark.anyio


def _types(history: list[dict[str, Any]]) -> list[str]:
    return [e["EventType"] for e in history]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
async def test_reaches_terminal_status_and_result(wire: Wire, scenario: Scenario) -> None:
    outcome = await cached_wire_run(wire, scenario)

    assert outcome.status == scenario.status, (outcome.error, wire.runner.log_tail())
    if scenario.status == "SUCCEEDED":
        assert outcome.result == scenario.result
    else:
        assert outcome.error is not None
        assert outcome.error["ErrorType"] == scenario.error_type
    assert _types(outcome.history)[0] == "ExecutionStarted"
    assert _types(outcome.history)[-1] == f"Execution{scenario.status.title()}"
    assert not wire.endpoint.errors


async def test_step_retry_goes_through_the_service(wire: Wire) -> None:
    outcome = await cached_wire_run(wire, BY_NAME["step-retry"])

    flaky = [e for e in outcome.history if e.get("Name") == "flaky"]
    assert [e["EventType"] for e in flaky] == [
        "StepStarted",
        "StepFailed",
        "StepStarted",
        "StepSucceeded",
    ]
    retry = flaky[1]["StepFailedDetails"]["RetryDetails"]
    assert retry == {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 1}
    # The retry delay suspended the execution: the service invoked the handler again.
    assert _types(outcome.history).count("InvocationCompleted") == 2


async def test_waits_suspend_and_resume(wire: Wire) -> None:
    outcome = await cached_wire_run(wire, BY_NAME["wait"])

    assert _types(outcome.history) == [
        "ExecutionStarted",
        "WaitStarted",
        "InvocationCompleted",
        "WaitSucceeded",
        "WaitStarted",
        "InvocationCompleted",
        "WaitSucceeded",
        "InvocationCompleted",
        "ExecutionSucceeded",
    ]


async def test_callback_ids_come_from_the_service(wire: Wire) -> None:
    outcome = await cached_wire_run(wire, BY_NAME["callback-success"])

    started = next(e for e in outcome.history if e["EventType"] == "CallbackStarted")
    succeeded = next(e for e in outcome.history if e["EventType"] == "CallbackSucceeded")
    assert started["CallbackStartedDetails"]["CallbackId"]
    assert succeeded["CallbackSucceededDetails"]["Result"]["Payload"] == '{"approved": true}'


async def test_callback_failure_reaches_the_handler(wire: Wire) -> None:
    outcome = await cached_wire_run(wire, BY_NAME["callback-failure"])

    failed = next(e for e in outcome.history if e["EventType"] == "CallbackFailed")
    error = failed["CallbackFailedDetails"]["Error"]["Payload"]
    assert (error["ErrorType"], error["ErrorMessage"]) == ("Rejected", "not today")


async def test_durable_target_runs_as_its_own_execution(wire: Wire) -> None:
    outcome = await cached_wire_run(wire, BY_NAME["invoke-durable"])

    started = next(e for e in outcome.history if e["EventType"] == "ChainedInvokeStarted")
    details = started["ChainedInvokeStartedDetails"]
    assert details["FunctionName"] == "durable-target"
    assert details["Input"]["Payload"] == '{"n":21}'
    assert ("durable-target", "SUCCEEDED") in wire.endpoint.invocations


async def test_map_and_parallel_items_are_child_contexts(wire: Wire) -> None:
    for name, item_sub_type in (("map", "MapIteration"), ("parallel", "ParallelBranch")):
        outcome = await cached_wire_run(wire, BY_NAME[name])
        batch = next(e for e in outcome.history if e["EventType"] == "ContextStarted")
        items = [
            e
            for e in outcome.history
            if e["EventType"] == "ContextStarted" and e.get("SubType") == item_sub_type
        ]
        assert len(items) == 3
        assert {e["ParentId"] for e in items} == {batch["Id"]}


async def test_wait_for_condition_polls_through_retries(wire: Wire) -> None:
    outcome = await cached_wire_run(wire, BY_NAME["wait-for-condition"])

    polls = [e["EventType"] for e in outcome.history if e.get("Name") == "poll"]
    assert polls == ["StepStarted", "StepSucceeded"] * 3
