"""Plain chained-invoke targets as a local run calls them: with the decoded payload, through
the runner's `around` hook if it has one, their result or function error as the invoke's
outcome."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ._backends.memory.invokes import InvokeOutcome
from ._invocations import Around, FunctionError, Invocation
from ._models import ErrorObject, InvocationInput, InvocationOutput

if TYPE_CHECKING:
    from ._backends.protocol import Backend
    from ._handler import UnawaitedReport

__all__ = ["DurableTarget", "call_plain"]


@runtime_checkable
class DurableTarget(Protocol):
    """A durable function as a local run invokes it: a `@durable_execution` handler, or a
    stand-in with its `invoke_output` (the local server's handlers of other SDKs)."""

    async def invoke_output(
        self,
        event: InvocationInput,
        lambda_context: Any = None,
        *,
        backend: Backend | None = None,
        _report_unawaited: UnawaitedReport | None = None,
    ) -> InvocationOutput:
        """Run one invocation of the function with `event`; return its output."""
        ...


async def call_plain(
    around: Around | None, name: str, target: Callable[[Any], Any], value: Any
) -> InvokeOutcome:
    """Call `target(value)` (sync or async); a `FunctionError` is the invoke's error."""

    async def call() -> Any:
        result = target(value)
        return await result if inspect.isawaitable(result) else result

    try:
        if around is None:
            result = await call()
        else:
            result = await around(Invocation(name, value, durable=False), call)
    except FunctionError as exc:
        return InvokeOutcome(
            error=ErrorObject(error_type=exc.error_type, error_message=exc.message)
        )
    return InvokeOutcome(result=json.dumps(result))
