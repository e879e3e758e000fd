"""The limits table holds to the Lambda API model of the installed botocore, and the SDK checks
the bounds the table gives."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import botocore
import pytest

from durable_async import DurableContext, ValidationError, durable_execution
from durable_async._limits import LIMITS, OPERATION_PAYLOAD_BYTES, Limit
from durable_async.testing import LocalRunner

pytestmark = pytest.mark.anyio


def _model() -> dict[str, Any]:
    folder = Path(botocore.__file__).parent / "data" / "lambda"
    newest = sorted(p for p in folder.iterdir() if p.is_dir())[-1]
    path = next(newest.glob("service-2.json*"))
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return json.loads(raw)["shapes"]  # type: ignore[no-any-return]


SHAPES = _model()


@pytest.mark.parametrize("limit", LIMITS, ids=[limit.shape for limit in LIMITS])
def test_each_limit_is_the_models_bound(limit: Limit) -> None:
    assert SHAPES[limit.shape]["max"] == limit.model_max
    assert limit.max <= limit.model_max


def test_the_payload_bound_is_the_one_place_the_sdk_checks_less_than_the_model() -> None:
    tighter = [limit.shape for limit in LIMITS if limit.max < limit.model_max]
    assert tighter == ["OperationPayload"]
    assert OPERATION_PAYLOAD_BYTES.max == 256 * 1024


async def test_a_callback_timeout_may_go_to_the_models_bound_and_no_further() -> None:
    @durable_execution
    async def handler(event: int, ctx: DurableContext) -> str:
        try:
            ctx.create_callback(name="long", timeout=event)
        except ValidationError as exc:
            return str(exc)
        return "accepted"

    ok = await LocalRunner(handler, unawaited="ignore").run(99_999_999)
    assert ok.result == "accepted"
    refused = await LocalRunner(handler, unawaited="ignore").run(100_000_000)
    assert refused.result == (
        "callback timeout must be between 1 and 99999999 seconds, got 100000000"
    )
