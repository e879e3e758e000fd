"""Testing tools: the local runner, the skip-able clock and the embedded backend."""

from __future__ import annotations

from .._clock import ManualClock as ManualClock
from .._memory_backend import BackendStats as BackendStats
from .._memory_backend import InvokeOutcome as InvokeOutcome
from .._memory_backend import InvokeRequest as InvokeRequest
from .._memory_backend import MemoryBackend as MemoryBackend
from ._runner import LocalRunner as LocalRunner
from ._runner import RunningExecution as RunningExecution
from ._runner import RunResult as RunResult

__all__ = [
    "BackendStats",
    "InvokeOutcome",
    "InvokeRequest",
    "LocalRunner",
    "ManualClock",
    "MemoryBackend",
    "RunResult",
    "RunningExecution",
]
