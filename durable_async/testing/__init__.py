"""Testing tools: the local runner, the skip-able clock, the embedded backend, fault injection,
assertions on a run's history, and AWS's local runner serving handlers over the real wire."""

from __future__ import annotations

from .. import MemoryBackend as MemoryBackend  # shown as `durable_async.MemoryBackend`
from .._answers import CallbackAnswer as CallbackAnswer
from .._answers import CallbacksPendingError as CallbacksPendingError
from .._backends.faulty import BackendCall as BackendCall
from .._backends.faulty import Fault as Fault
from .._backends.faulty import FaultRule as FaultRule
from .._backends.faulty import FaultyBackend as FaultyBackend
from .._backends.memory.invokes import InvokeOutcome as InvokeOutcome
from .._backends.memory.invokes import InvokeRequest as InvokeRequest
from .._backends.memory.service import BackendStats as BackendStats
from .._clock import ManualClock as ManualClock
from .._invocations import FunctionError as FunctionError
from .._invocations import Invocation as Invocation
from .._invocations import LocalLambdaContext as LocalLambdaContext
from .._local import LocalRunner as LocalRunner
from .._next_event import SkipToNextEvent as SkipToNextEvent
from .._public import publish as _publish
from .._run_result import RunningExecution as RunningExecution
from .._run_result import RunResult as RunResult
from ._assertions import OperationLookupError as OperationLookupError
from ._assertions import assert_failed as assert_failed
from ._assertions import assert_operation as assert_operation
from ._assertions import assert_ran_once as assert_ran_once
from ._assertions import assert_succeeded as assert_succeeded
from ._assertions import find_operation as find_operation
from ._assertions import operation_paths as operation_paths
from ._aws_runner import AwsLocalRunner as AwsLocalRunner
from ._aws_runner import runner_available as runner_available
from ._endpoint import LambdaEndpoint as LambdaEndpoint

__all__ = [
    "AwsLocalRunner",
    "BackendCall",
    "BackendStats",
    "CallbackAnswer",
    "CallbacksPendingError",
    "Fault",
    "FaultRule",
    "FaultyBackend",
    "FunctionError",
    "Invocation",
    "InvokeOutcome",
    "InvokeRequest",
    "LambdaEndpoint",
    "LocalLambdaContext",
    "LocalRunner",
    "ManualClock",
    "MemoryBackend",
    "OperationLookupError",
    "RunResult",
    "RunningExecution",
    "SkipToNextEvent",
    "assert_failed",
    "assert_operation",
    "assert_ran_once",
    "assert_succeeded",
    "find_operation",
    "operation_paths",
    "runner_available",
]

_publish(globals(), __all__, __name__)
