"""Fan-out with a failure budget: make a thumbnail of every image with `ctx.map`, at most four
at a time, and accept up to two broken images before giving up on the whole batch.

`CompletionConfig(tolerated_failure_count=2)` is the budget: a third failure completes the
batch early with `FAILURE_TOLERANCE_EXCEEDED` (items still running are cancelled), and
`raise_if_failed()` turns that, and only that, into an error. Failures within the budget are
data: the result lists them.

    durable-async run examples/fan_out.py:handler \\
        --input '{"images": ["a.png", "b.png", "broken.png", "c.png"]}'
    durable-async run examples/fan_out.py:handler \\
        --input '{"images": ["x.bad", "y.bad", "z.bad", "ok.png"]}'

The second run fails: three broken images exceed the budget of two.
"""

from __future__ import annotations

from typing import Any

from durable_async import CompletionConfig, DurableContext, RetryPolicy, durable_execution


def make_thumbnail(image: str) -> str:
    """Decode and shrink one image (here: refuse names that do not end in .png)."""
    if not image.endswith(".png") or image.startswith("broken"):
        raise ValueError(f"cannot decode {image}")
    return image.removesuffix(".png") + "-128.png"


async def thumbnail(item_ctx: DurableContext, image: str, index: int) -> str:
    return await item_ctx.step(make_thumbnail, image, name="resize", retry=RetryPolicy.none())


@durable_execution
async def handler(event: dict[str, Any], ctx: DurableContext) -> dict[str, Any]:
    images: list[str] = event["images"]
    batch = await ctx.map(
        images,
        thumbnail,
        name="thumbnails",
        max_concurrency=4,
        completion=CompletionConfig(tolerated_failure_count=2),
        item_namer=lambda image, index: image,
    )
    batch.raise_if_failed()  # only when the budget was exceeded
    failed = [images[item.index] for item in batch.items if item.error is not None]
    return {
        "thumbnails": batch.results(),
        "failed": failed,
        "completion": batch.completion_reason.value,
    }
