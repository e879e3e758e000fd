"""A one-step durable function on async-durable-execution, as a user's Lambda file would be."""

from async_durable_execution import durable_execution, step


async def greet() -> str:
    return "hello"


@durable_execution
async def handler(event: dict) -> str:
    return await step(greet, name="greet")
