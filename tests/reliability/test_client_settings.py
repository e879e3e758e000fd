"""How this SDK talks to AWS: client timeouts that fit an invocation, a user agent naming the SDK,
a botocore floor that has the durable API, and checkpoint requests sized in bytes, not characters.
"""

from __future__ import annotations

import importlib.metadata
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from aiobotocore.session import get_session
from botocore.config import Config

from durable_async._batcher import MAX_BYTES, CheckpointBatcher
from durable_async._models import (
    CheckpointResponse,
    ErrorObject,
    ExecutionState,
    OperationAction,
    OperationType,
    OperationUpdate,
)
from durable_async.aws import AwsBackend
from durable_async.testing import ManualClock

pytestmark = pytest.mark.anyio

ARN = "arn:aws:lambda:us-east-1:123456789012:function:orders:1/durable-execution/run-1/abc"
ROOT = Path(__file__).resolve().parents[2]


class _Sent(Exception):
    """Raised by the request hook: the request was built and is not sent anywhere."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__("request captured")
        self.headers = headers


class SpySession:
    """An aiobotocore session that records each client's config and stops requests unsent."""

    def __init__(self) -> None:
        self.session = get_session()
        self.session.register("before-send.lambda", self._capture)
        self.configs: list[Config] = []

    def create_client(self, *args: Any, **kwargs: Any) -> Any:
        self.configs.append(kwargs["config"])
        return self.session.create_client(*args, **kwargs)

    @staticmethod
    def _capture(request: Any, **kwargs: Any) -> None:
        raise _Sent(
            {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        )


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))


async def _first_request(backend: AwsBackend) -> dict[str, str]:
    """The headers of the first request `backend` builds (it is never sent)."""
    try:
        with pytest.raises(_Sent) as sent:
            await backend.get_state(ARN, "t1")
    finally:
        await backend.aclose()
    return sent.value.headers


async def test_the_client_connects_within_5_s_and_reads_within_50_s() -> None:
    session = SpySession()
    await _first_request(AwsBackend(session=session, region_name="us-east-1"))
    (config,) = session.configs
    assert (config.connect_timeout, config.read_timeout) == (5, 50)
    assert config.retries == {"mode": "standard", "total_max_attempts": 5}


async def test_the_user_agent_names_this_sdk_and_its_version() -> None:
    version = importlib.metadata.version("durable-async")
    headers = await _first_request(AwsBackend(session=SpySession(), region_name="us-east-1"))
    assert f"durable-async/{version}" in headers["User-Agent"].split()


async def test_a_users_config_overrides_what_it_sets_and_keeps_the_rest() -> None:
    session = SpySession()
    mine = Config(read_timeout=7, user_agent_extra="my-app/2")
    headers = await _first_request(
        AwsBackend(session=session, region_name="us-east-1", max_attempts=3, config=mine)
    )
    (config,) = session.configs
    assert (config.connect_timeout, config.read_timeout) == (5, 7)
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert "my-app/2" in headers["User-Agent"].split()


def test_the_botocore_floor_is_the_first_release_with_the_durable_api() -> None:
    # botocore 1.41.6, the release before 1.42.1 (there is no 1.42.0 on PyPI), has no
    # CheckpointDurableExecution in its Lambda model; 1.42.1 ("Launching Lambda durable
    # functions" in its changelog) has it.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "botocore>=1.42.1" in pyproject["project"]["dependencies"]
    model = botocore.session.get_session().get_service_model("lambda")
    assert {"CheckpointDurableExecution", "GetDurableExecutionState"} <= set(model.operation_names)


class SizingBackend:
    """Acknowledges every request and records the UTF-8 bytes of the text each one carries."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.clock = ManualClock()

    async def checkpoint(
        self,
        execution_arn: str,
        checkpoint_token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResponse:
        self.sizes.append(sum(len(u.model_dump_json().encode()) for u in updates))
        return CheckpointResponse(
            checkpoint_token=checkpoint_token + "+", new_execution_state=ExecutionState()
        )

    async def get_state(self, *args: object, **kwargs: object) -> ExecutionState:
        return ExecutionState()


TEXT = "é" * (100 * 1024)  # 100 Ki characters, 200 KiB in UTF-8: 7 fit 750 KiB by count


def _carrying(i: int, where: str) -> OperationUpdate:
    error = {
        "payload": None,
        "error message": ErrorObject(error_type="E", error_message=TEXT),
        "error data": ErrorObject(error_type="E", error_data=TEXT),
        "stack trace": ErrorObject(error_type="E", stack_trace=[TEXT[:1024]] * 100),
    }[where]
    return OperationUpdate(
        id=f"op{i}",
        type=OperationType.STEP,
        action=OperationAction.START if error is None else OperationAction.FAIL,
        payload=TEXT if error is None else None,
        error=error,
    )


@pytest.mark.parametrize("where", ["payload", "error message", "error data", "stack trace"])
async def test_multi_byte_text_is_counted_in_bytes_so_no_request_overflows(where: str) -> None:
    backend = SizingBackend()
    batcher = CheckpointBatcher(backend, ARN, "t0", apply_state=lambda ops: None, window=0.0)
    for i in range(14):
        batcher.queue(_carrying(i, where))
    await batcher.drain()
    assert max(backend.sizes) <= MAX_BYTES
    assert len(backend.sizes) == 5  # 3 + 3 + 3 + 3 + 2 updates of 200 KiB
