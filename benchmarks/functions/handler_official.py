"""A one-step durable function on aws-durable-execution-sdk-python, as a user's Lambda file
would be."""

from aws_durable_execution_sdk_python import DurableContext, StepContext, durable_execution


def greet(step_context: StepContext) -> str:
    return "hello"


@durable_execution
def handler(event: dict, context: DurableContext) -> str:
    return context.step(greet, name="greet")
