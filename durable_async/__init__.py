"""durable_async: asyncio-native durable execution for AWS Lambda durable functions.

```python
from durable_async import DurableContext, durable_execution

@durable_execution
async def handler(event: dict, ctx: DurableContext) -> dict:
    price = await ctx.step(fetch_price, event["sku"])
    await ctx.wait(5)
    return {"price": price}
```
"""

from __future__ import annotations

import typing as _typing

from ._backends.protocol import Backend as Backend
from ._clock import Clock as Clock
from ._clock import ManualClock as ManualClock
from ._clock import SystemClock as SystemClock
from ._context import DurableContext as DurableContext
from ._duration import Duration as Duration
from ._errors import AllOperationsFailedError as AllOperationsFailedError
from ._errors import BackendError as BackendError
from ._errors import BackendUnavailableError as BackendUnavailableError
from ._errors import CallbackError as CallbackError
from ._errors import CallbackSubmitterError as CallbackSubmitterError
from ._errors import CallbackTimeoutError as CallbackTimeoutError
from ._errors import CheckpointRejectedError as CheckpointRejectedError
from ._errors import ChildContextError as ChildContextError
from ._errors import DurableCallInStepError as DurableCallInStepError
from ._errors import DurableError as DurableError
from ._errors import InvalidInvocationError as InvalidInvocationError
from ._errors import InvocationDeadlineError as InvocationDeadlineError
from ._errors import InvokeError as InvokeError
from ._errors import NonDeterministicExecutionError as NonDeterministicExecutionError
from ._errors import OperationError as OperationError
from ._errors import SerdesError as SerdesError
from ._errors import StaleCheckpointTokenError as StaleCheckpointTokenError
from ._errors import StepError as StepError
from ._errors import StepTimeoutError as StepTimeoutError
from ._errors import SuspendExecution as SuspendExecution
from ._errors import UnawaitedOperationError as UnawaitedOperationError
from ._errors import UnawaitedOperationWarning as UnawaitedOperationWarning
from ._errors import UnexpectedCancellationError as UnexpectedCancellationError
from ._errors import ValidationError as ValidationError
from ._errors import WaitForConditionError as WaitForConditionError
from ._handler import DurableHandler as DurableHandler
from ._handler import durable_execution as durable_execution
from ._logging import DurableLogger as DurableLogger
from ._logging import LoggerLike as LoggerLike
from ._logging import get_logger as get_logger
from ._logging import logger as logger
from ._logging import set_logger as set_logger
from ._models import ErrorObject as ErrorObject
from ._models import InvocationStatus as InvocationStatus
from ._models import Operation as Operation
from ._models import OperationStatus as OperationStatus
from ._models import OperationType as OperationType
from ._operation import DurableOperation as DurableOperation
from ._operations.batch import BatchItem as BatchItem
from ._operations.batch import BatchItemStatus as BatchItemStatus
from ._operations.batch import BatchResult as BatchResult
from ._operations.batch import CompletionConfig as CompletionConfig
from ._operations.batch import CompletionReason as CompletionReason
from ._operations.batch import Nesting as Nesting
from ._operations.callback import Callback as Callback
from ._operations.combinators import Settled as Settled
from ._operations.condition import WaitDecision as WaitDecision
from ._operations.condition import WaitStrategy as WaitStrategy
from ._operations.step import StepInterruptedError as StepInterruptedError
from ._operations.step import StepSemantics as StepSemantics
from ._plugins import AttemptEnd as AttemptEnd
from ._plugins import AttemptStart as AttemptStart
from ._plugins import DurablePlugin as DurablePlugin
from ._plugins import InvocationEnd as InvocationEnd
from ._plugins import InvocationStart as InvocationStart
from ._plugins import OperationEnd as OperationEnd
from ._plugins import OperationStart as OperationStart
from ._public import publish as _publish
from ._retry import RetryDecision as RetryDecision
from ._retry import RetryPolicy as RetryPolicy
from ._retry import RetryPresets as RetryPresets
from ._serdes import JsonSerdes as JsonSerdes
from ._serdes import Serdes as Serdes
from ._task_context import ContextState as ContextState

__all__ = [
    "AllOperationsFailedError",
    "AttemptEnd",
    "AttemptStart",
    "Backend",
    "BackendError",
    "BackendUnavailableError",
    "BatchItem",
    "BatchItemStatus",
    "BatchResult",
    "Callback",
    "CallbackError",
    "CallbackSubmitterError",
    "CallbackTimeoutError",
    "CheckpointRejectedError",
    "ChildContextError",
    "Clock",
    "CompletionConfig",
    "CompletionReason",
    "ContextState",
    "DurableCallInStepError",
    "DurableContext",
    "DurableError",
    "DurableHandler",
    "DurableLogger",
    "DurableOperation",
    "DurablePlugin",
    "Duration",
    "ErrorObject",
    "InvalidInvocationError",
    "InvocationDeadlineError",
    "InvocationEnd",
    "InvocationStart",
    "InvocationStatus",
    "InvokeError",
    "JsonSerdes",
    "LoggerLike",
    "ManualClock",
    "MemoryBackend",
    "Nesting",
    "NonDeterministicExecutionError",
    "Operation",
    "OperationEnd",
    "OperationError",
    "OperationStart",
    "OperationStatus",
    "OperationType",
    "RetryDecision",
    "RetryPolicy",
    "RetryPresets",
    "Serdes",
    "SerdesError",
    "Settled",
    "StaleCheckpointTokenError",
    "StepError",
    "StepInterruptedError",
    "StepSemantics",
    "StepTimeoutError",
    "SuspendExecution",
    "SystemClock",
    "UnawaitedOperationError",
    "UnawaitedOperationWarning",
    "UnexpectedCancellationError",
    "ValidationError",
    "WaitDecision",
    "WaitForConditionError",
    "WaitStrategy",
    "durable_execution",
    "get_logger",
    "logger",
    "set_logger",
]

_LAZY = {"MemoryBackend": "._backends.memory.service"}
"""Public names whose modules a deployed function never needs, imported on first use: a cold
start does not pay for the embedded backend."""

if _typing.TYPE_CHECKING:
    from ._backends.memory.service import MemoryBackend as MemoryBackend


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    _publish(globals(), [name], __name__)
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


_publish(globals(), [n for n in __all__ if n not in _LAZY], __name__)
