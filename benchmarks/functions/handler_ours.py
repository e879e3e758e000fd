"""A one-step durable function on durable_async, as a user's Lambda file would be."""

from durable_async import DurableContext, durable_execution


async def greet() -> str:
    return "hello"


@durable_execution
async def handler(event: dict, ctx: DurableContext) -> str:
    return await ctx.step(greet, name="greet")
