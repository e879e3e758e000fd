"""A botocore Lambda client pointed at a local server, called off the event loop."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import botocore.session
from botocore.config import Config

__all__ = ["Lambda"]


class Lambda:
    """botocore's `lambda` client for `url`; `await client.call("invoke", ...)`."""

    def __init__(self, url: str) -> None:
        session = botocore.session.get_session()
        session.set_credentials("local", "local")
        self.client = session.create_client(
            "lambda",
            region_name="us-east-1",
            endpoint_url=url,
            config=Config(retries={"max_attempts": 1}, read_timeout=20, connect_timeout=5),
        )

    async def call(self, operation: str, **kwargs: Any) -> Any:
        """Call one API operation in a thread."""
        return await asyncio.to_thread(getattr(self.client, operation), **kwargs)

    async def start(self, function: str, payload: Any, name: str | None = None) -> str:
        """Start an execution asynchronously (`InvocationType=Event`); return its ARN."""
        extra = {"DurableExecutionName": name} if name else {}
        answer = await self.call(
            "invoke",
            FunctionName=function,
            InvocationType="Event",
            Payload=json.dumps(payload).encode(),
            **extra,
        )
        assert answer["StatusCode"] == 202
        return str(answer["DurableExecutionArn"])

    async def events(self, arn: str) -> list[dict[str, Any]]:
        """Every history event of the execution."""
        events: list[dict[str, Any]] = []
        marker: dict[str, str] = {}
        while True:
            page = await self.call(
                "get_durable_execution_history", DurableExecutionArn=arn, **marker
            )
            events += page["Events"]
            if not page.get("NextMarker"):
                return events
            marker = {"Marker": page["NextMarker"]}

    async def callback_id(self, arn: str, name: str | None = None) -> str:
        """Wait until the execution has started a callback (named `name`); return its id."""
        while True:
            for event in await self.events(arn):
                if event["EventType"] == "CallbackStarted" and name in (None, event.get("Name")):
                    return str(event["CallbackStartedDetails"]["CallbackId"])
            await asyncio.sleep(0.02)

    async def suspended(self, arn: str) -> None:
        """Wait until an invocation of the execution has ended (it suspended, say)."""
        while True:
            if any(e["EventType"] == "InvocationCompleted" for e in await self.events(arn)):
                return
            await asyncio.sleep(0.02)

    async def status(self, arn: str, until: set[str] | None = None) -> dict[str, Any]:
        """The execution's summary, once its status is in `until` (if given)."""
        while True:
            summary: dict[str, Any] = await self.call(
                "get_durable_execution", DurableExecutionArn=arn
            )
            if until is None or summary["Status"] in until:
                return summary
            await asyncio.sleep(0.02)
