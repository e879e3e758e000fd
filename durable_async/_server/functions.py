"""The functions a local server serves: what each one is, and how an invocation of it runs.

A `@durable_execution` handler of this SDK runs in the server's process, on its event loop, with
the server's service in hand (no HTTP). Any other durable handler (the official SDK's) and any
handler the server is told to isolate runs in a subprocess, as Lambda runs a function: it gets
the invocation event on stdin, finds the service through `AWS_ENDPOINT_URL_LAMBDA`, and answers
with the handler's return value.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .._handler import DurableHandler
from .._invocations import FunctionError
from .._models import InvocationInput, InvocationOutput
from .._targets import DurableTarget
from .wire import event_json

if TYPE_CHECKING:
    from .._backends.protocol import Backend
    from .._handler import UnawaitedReport

__all__ = ["FUNCTION_TIMEOUT", "Function", "SubprocessHandler", "is_foreign_durable"]

FUNCTION_TIMEOUT = 900.0
"""Seconds one invocation may run before it is ended as Lambda ends a function that times out
(`Sandbox.Timedout`): Lambda's own maximum."""

_FOREIGN_DURABLE_PACKAGES = ("aws_durable_execution_sdk_python",)


def is_foreign_durable(obj: Any) -> bool:
    """Whether `obj` is another SDK's durable handler (a Lambda handler its decorator made,
    which takes the durable invocation event)."""
    code = getattr(obj, "__code__", None)
    filename = getattr(code, "co_filename", "")
    parts = filename.replace("\\", "/").split("/")
    return any(package in parts for package in _FOREIGN_DURABLE_PACKAGES)


@dataclass(frozen=True)
class Function:
    """One function the server serves.

    Attributes:
        name: the function's name, as clients and chained invokes call it.
        target: a durable target (run as durable executions) or a plain function (called with
            the payload, sync or async).
        spec: where the function was loaded from (`FILE.py:HANDLER`), for a subprocess.
    """

    name: str
    target: DurableTarget | Callable[[Any], Any]
    spec: str | None = None

    @property
    def durable(self) -> bool:
        """Whether invoking it starts a durable execution."""
        return isinstance(self.target, DurableTarget)

    @property
    def kind(self) -> Literal["durable", "plain"]:
        """`durable` or `plain`."""
        return "durable" if self.durable else "plain"


class SubprocessHandler:
    """Runs each invocation of a durable handler in a new Python process, as Lambda would.

    The process runs `python -m durable_async._server.worker SPEC`: the event goes in on stdin,
    the handler's output comes back on stdout (the handler's own prints go to stderr), and the
    handler reaches the service at `service_url` through its own client.
    """

    def __init__(
        self,
        spec: str,
        *,
        service_url: str = "",
        region: str = "us-east-1",
        timeout: float = FUNCTION_TIMEOUT,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.spec = spec
        self.service_url = service_url
        self.region = region
        self.timeout = timeout
        self.env = dict(env or {})

    def environment(self) -> dict[str, str]:
        """The process's environment: the server's, pointing AWS clients at the server."""
        env = dict(os.environ)
        env.update(
            {
                "AWS_ENDPOINT_URL_LAMBDA": self.service_url,
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
            }
        )
        env.setdefault("AWS_ACCESS_KEY_ID", "local")
        env.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        env.update(self.env)
        return env

    async def invoke_output(
        self,
        event: InvocationInput,
        lambda_context: Any = None,
        *,
        backend: Backend | None = None,
        _report_unawaited: UnawaitedReport | None = None,
    ) -> InvocationOutput:
        """Run one invocation in a subprocess and return what its handler returned.

        Raises:
            FunctionError: the process failed, timed out or answered something that is not a
                durable invocation output.
        """
        payload = event_json(event).encode()
        request_id = getattr(lambda_context, "aws_request_id", "local")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "durable_async._server.worker",
            self.spec,
            request_id,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=self.environment(),
        )
        try:
            out, _ = await asyncio.wait_for(process.communicate(payload), self.timeout)
        except TimeoutError:
            raise FunctionError(
                "Sandbox.Timedout", f"the invocation did not end within {self.timeout:g} s"
            ) from None
        finally:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if process.returncode != 0:
            raise FunctionError(
                "Runtime.ExitError",
                f"the function's process exited with status {process.returncode}",
            )
        try:
            return InvocationOutput.model_validate(json.loads(out))
        except ValueError as exc:
            raise FunctionError(
                "Runtime.InvalidResponse", f"the handler did not return a durable output: {exc}"
            ) from None


def classify(name: str, obj: Any, spec: str | None, *, subprocess: bool) -> Function:
    """The `Function` serving `obj` under `name`: durable in-process, durable in a subprocess
    (another SDK's handler, or `subprocess`), or plain."""
    if isinstance(obj, DurableHandler) and not subprocess:
        return Function(name, obj, spec)
    if isinstance(obj, DurableHandler) or is_foreign_durable(obj):
        if spec is None:
            raise ValueError(f"function {name!r} runs in a subprocess, which needs its spec")
        return Function(name, SubprocessHandler(spec), spec)
    if isinstance(obj, DurableTarget):
        return Function(name, obj, spec)
    if not callable(obj):
        raise TypeError(f"function {name!r} is a {type(obj).__name__}, not a callable")
    return Function(name, obj, spec)
