"""The limits table holds to the Lambda API model of the installed botocore, and the SDK checks
the bounds the table gives."""

from __future__ import annotations

import gzip
import json
import re
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


def test_the_name_patterns_are_the_models() -> None:
    from durable_async._limits import FUNCTION_NAME_PATTERN, TENANT_ID_PATTERN

    assert FUNCTION_NAME_PATTERN.pattern == SHAPES["NamespacedFunctionName"]["pattern"]
    assert TENANT_ID_PATTERN.pattern == SHAPES["TenantId"]["pattern"]


@pytest.mark.parametrize(
    ("function_name", "tenant_id", "says"),
    [
        ("bad name", None, "invoke function name 'bad name' is not one the service accepts"),
        ("", None, "invoke function name must be a string of 1 to 256 characters"),
        ("f" * 257, None, "invoke function name must be a string of 1 to 256 characters"),
        ("target", "tenant\n1", "invoke tenant id 'tenant\\n1' is not one the service accepts"),
    ],
)
async def test_an_invoke_the_service_would_refuse_fails_at_the_call(
    function_name: str, tenant_id: str | None, says: str
) -> None:
    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> str:
        try:
            ctx.invoke(function_name, None, tenant_id=tenant_id)
        except ValidationError as exc:
            return str(exc)
        return "accepted"

    result = await LocalRunner(handler, unawaited="ignore").run()
    assert result.result.startswith(says)
    assert len(result.operations) == 1  # nothing was checkpointed


async def test_names_partial_and_full_arns_with_versions_are_accepted() -> None:
    names = ["target", "target:2", "target:live", "123456789012:function:target"]
    names.append("arn:aws:lambda:us-east-1:123456789012:function:target:$LATEST")

    @durable_execution
    async def handler(event: None, ctx: DurableContext) -> list[str]:
        for name in names:
            ctx.invoke(name, None, tenant_id="tenant-1").close()
        return names

    assert (await LocalRunner(handler).run()).result == names


def test_the_payload_bound_of_each_operation_type_is_the_models() -> None:
    from durable_async._limits import PAYLOAD_BYTES

    doc = SHAPES["OperationUpdate"]["members"]["Payload"]["documentation"]
    documented: dict[str, int] = {}
    parts = re.split(r"(\d+) (MB|KB) for ", doc)  # text, then (size, unit, text) for each bound
    for at in range(1, len(parts), 3):
        size, unit, text = parts[at : at + 3]
        for kind in re.findall(r"<code>(\w+)</code>", text):
            # the first bound named for a type (a synchronous EXECUTION's, for that type)
            documented.setdefault(kind, int(size) * (1024 * 1024 if unit == "MB" else 1024))
    assert documented == PAYLOAD_BYTES


async def test_a_chained_invoke_payload_may_pass_256_kib_up_to_its_own_bound() -> None:
    @durable_execution
    async def handler(event: int, ctx: DurableContext) -> Any:
        return await ctx.invoke("size", "x" * event, name="big")

    for size, accepted in ((700 * 1024, True), (1024 * 1024, False)):
        runner = LocalRunner(handler)
        runner.register("size", len)
        result = await runner.run(size)
        assert (result.result == size) is accepted, result.error
