"""The AWS backend with a stubbed aiobotocore client: parsing, paging, error classification."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from durable_async import (
    BackendUnavailableError,
    CheckpointRejectedError,
    OperationStatus,
    StaleCheckpointTokenError,
)
from durable_async._models import ExecutionState, OperationAction, OperationType, OperationUpdate
from durable_async.aws import AwsBackend, classify_error

pytestmark = pytest.mark.anyio

OP = {
    "Id": "s1",
    "Type": "STEP",
    "Status": "SUCCEEDED",
    "StartTimestamp": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
}


def client_error(code: str, message: str, status: int) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "CheckpointDurableExecution",
    )


class StubClient:
    """Answers like aiobotocore's lambda client, from canned responses."""

    def __init__(self, checkpoint: Any = None, pages: dict[str | None, Any] | None = None) -> None:
        self.checkpoint_response = checkpoint
        self.pages = pages or {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def checkpoint_durable_execution(self, **kwargs: Any) -> Any:
        self.calls.append(("checkpoint", kwargs))
        if isinstance(self.checkpoint_response, Exception):
            raise self.checkpoint_response
        return self.checkpoint_response

    async def get_durable_execution_state(self, **kwargs: Any) -> Any:
        self.calls.append(("state", kwargs))
        return self.pages[kwargs.get("Marker")]


UPDATE = OperationUpdate(
    id="s1", type=OperationType.STEP, action=OperationAction.SUCCEED, payload='"x"'
)


async def test_checkpoint_sends_botocore_kwargs_and_parses_the_response() -> None:
    client = StubClient({"CheckpointToken": "t2", "NewExecutionState": {"Operations": [OP]}})
    response = await AwsBackend(client=client).checkpoint("arn", "t1", [UPDATE])
    assert client.calls == [
        (
            "checkpoint",
            {
                "DurableExecutionArn": "arn",
                "CheckpointToken": "t1",
                "Updates": [{"Id": "s1", "Type": "STEP", "Action": "SUCCEED", "Payload": '"x"'}],
            },
        )
    ]
    assert response.checkpoint_token == "t2"
    assert response.new_execution_state is not None
    assert response.new_execution_state.operations[0].status is OperationStatus.SUCCEEDED


async def test_a_paged_checkpoint_response_is_completed_with_the_new_token() -> None:
    second = {**OP, "Id": "s2"}
    client = StubClient(
        {"CheckpointToken": "t2", "NewExecutionState": {"Operations": [OP], "NextMarker": "m1"}},
        pages={"m1": {"Operations": [second]}},
    )
    response = await AwsBackend(client=client).checkpoint("arn", "t1", [])
    assert response.new_execution_state is not None
    assert [op.id for op in response.new_execution_state.operations] == ["s1", "s2"]
    assert client.calls[1] == (
        "state",
        {"DurableExecutionArn": "arn", "CheckpointToken": "t2", "MaxItems": 1000, "Marker": "m1"},
    )


async def test_load_all_state_follows_markers() -> None:
    pages = {
        "a": {"Operations": [{**OP, "Id": "s2"}], "NextMarker": "b"},
        "b": {"Operations": [{**OP, "Id": "s3"}]},
    }
    backend = AwsBackend(client=StubClient(pages=pages))
    ops = await backend.load_all_state(
        "arn", "t", ExecutionState.model_validate({"Operations": [OP], "NextMarker": "a"})
    )
    assert [op.id for op in ops] == ["s1", "s2", "s3"]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            client_error("InvalidParameterValueException", "Invalid checkpoint token: x", 400),
            StaleCheckpointTokenError,
        ),
        (
            client_error("InvalidParameterValueException", "INVALID CHECKPOINT TOKEN", 400),
            StaleCheckpointTokenError,
        ),
        (
            client_error("InvalidParameterValueException", "Payload too large", 400),
            CheckpointRejectedError,
        ),
        (client_error("TooManyRequestsException", "Rate exceeded", 429), BackendUnavailableError),
        (client_error("ServiceException", "boom", 500), BackendUnavailableError),
        (client_error("Unknown", "bad gateway", 502), BackendUnavailableError),
        (client_error("KMSAccessDeniedException", "denied", 400), CheckpointRejectedError),
        (client_error("ResourceNotFoundException", "gone", 404), CheckpointRejectedError),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), BackendUnavailableError),
    ],
)
async def test_errors_are_classified(error: Exception, expected: type[Exception]) -> None:
    classified = classify_error("CheckpointDurableExecution", error)
    assert type(classified) is expected
    with pytest.raises(expected) as raised:
        await AwsBackend(client=StubClient(error)).checkpoint("arn", "t", [])
    assert "CheckpointDurableExecution" in str(raised.value)


async def test_an_injected_client_is_left_open_and_reused() -> None:
    client = StubClient({"CheckpointToken": "t2"})
    backend = AwsBackend(client=client)
    await backend.checkpoint("arn", "t1", [])
    await backend.checkpoint("arn", "t2", [])
    await backend.aclose()
    assert len(client.calls) == 2
    assert await backend._get_client() is client
