"""A backend that wraps another and injects faults into chosen calls, to test failure handling."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Literal, TypeVar

from .._clock import Clock
from .._errors import BackendUnavailableError, CheckpointRejectedError, StaleCheckpointTokenError
from .._models import (
    CheckpointResponse,
    ExecutionState,
    OperationAction,
    OperationType,
    OperationUpdate,
)
from .memory.service import MemoryBackend
from .protocol import Backend

__all__ = ["BackendCall", "Fault", "FaultRule", "FaultyBackend"]

T = TypeVar("T")
Method = Literal["checkpoint", "get_state"]
_METHODS = ("checkpoint", "get_state")


@dataclass(frozen=True, eq=False)
class Fault:
    """What to do to one backend call. Build it with the class methods; it is immutable.

    Attributes:
        kind: the constructor's name (`"transient"`, `"throttle"`, `"delay"`, `"raise"`, ...),
            as recorded in `BackendCall.fault`.
    """

    kind: str
    _error: Callable[[], BaseException] | None = field(default=None, repr=False)
    _wait: float = field(default=0.0, repr=False)
    _reaches_inner: bool = field(default=False, repr=False)

    @classmethod
    def transient(cls, message: str = "simulated server error") -> Fault:
        """Raise `BackendUnavailableError` (code `ServiceException`); the call is not applied."""
        return cls("transient", lambda: BackendUnavailableError(message, code="ServiceException"))

    @classmethod
    def throttle(cls) -> Fault:
        """Raise `BackendUnavailableError` (`TooManyRequestsException`); not applied."""
        code = "TooManyRequestsException"
        return cls("throttle", lambda: BackendUnavailableError("simulated throttling", code=code))

    @classmethod
    def timeout(cls) -> Fault:
        """Raise the builtin `TimeoutError`, as a socket read timeout does; not applied."""
        return cls("timeout", lambda: TimeoutError("simulated read timeout"))

    @classmethod
    def connection_error(cls) -> Fault:
        """Raise `ConnectionResetError` (an `OSError`); not applied."""
        return cls("connection_error", lambda: ConnectionResetError("simulated connection reset"))

    @classmethod
    def permanent(
        cls, code: str = "InvalidParameterValueException", message: str = "simulated rejection"
    ) -> Fault:
        """Raise `CheckpointRejectedError(message, code=code)`; not applied."""
        return cls("permanent", lambda: CheckpointRejectedError(message, code=code))

    @classmethod
    def stale_token(cls) -> Fault:
        """Raise `StaleCheckpointTokenError`, as when a newer invocation owns the execution."""
        code = "InvalidParameterValueException"
        return cls(
            "stale_token", lambda: StaleCheckpointTokenError("simulated stale token", code=code)
        )

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Sleep `seconds` on the event loop (real time), then pass the call through."""
        if not seconds >= 0:
            raise ValueError(f"delay needs seconds >= 0, got {seconds!r}")
        return cls("delay", _wait=seconds, _reaches_inner=True)

    @classmethod
    def hang(cls) -> Fault:
        """Never return (until cancelled); the call never reaches the inner backend."""
        return cls("hang", _wait=math.inf)

    @classmethod
    def lose_response(cls, error: BaseException | None = None) -> Fault:
        """Pass the call through (a checkpoint is applied), then raise `error` instead of
        returning the response; `TimeoutError("simulated lost response")` by default."""
        lost = error if error is not None else TimeoutError("simulated lost response")
        return cls("lose_response", lambda: lost, _reaches_inner=True)

    @classmethod
    def raise_(cls, error: BaseException) -> Fault:
        """Raise `error` (any exception) without reaching the inner backend."""
        return cls("raise", lambda: error)

    async def _inflict(self, send: Callable[[], Awaitable[T]]) -> T:
        if self._wait == math.inf:
            never: asyncio.Future[T] = asyncio.get_running_loop().create_future()
            return await never
        if self._wait:
            await asyncio.sleep(self._wait)
        if self._reaches_inner:
            result = await send()
            if self._error is None:
                return result
        assert self._error is not None  # every fault that does not pass through raises
        raise self._error()


@dataclass(frozen=True)
class BackendCall:
    """One call the `FaultyBackend` received, recorded whether or not a fault was applied.

    Attributes:
        number: 1-based, counted per method (checkpoint and get_state calls count apart).
        method: `"checkpoint"` or `"get_state"`.
        execution_arn: the execution the call was for.
        checkpoint_token: the token it carried.
        updates: the checkpoint's updates; `()` for get_state.
        marker: get_state's page marker; `None` for checkpoint.
        fault: the `Fault.kind` applied to the call, `None` if it passed through untouched.
    """

    number: int
    method: Method
    execution_arn: str
    checkpoint_token: str
    updates: tuple[OperationUpdate, ...] = ()
    marker: str | None = None
    fault: str | None = None

    def has_update(
        self,
        *,
        type: OperationType | None = None,
        action: OperationAction | None = None,
        name: str | None = None,
    ) -> bool:
        """Whether some update matches every given field (`type`, `action`, `name`)."""
        return any(
            (type is None or u.type == type)
            and (action is None or u.action == action)
            and (name is None or u.name == name)
            for u in self.updates
        )


@dataclass(eq=False)
class FaultRule:
    """A rule added by `FaultyBackend.inject`; `remove()` it to stop it.

    Attributes:
        fault: the fault applied.
        method: the method whose calls it matches.
        applied: how many calls it has been applied to so far.
    """

    fault: Fault
    method: Method
    applied: int = 0
    _at: frozenset[int] | None = field(default=None, repr=False)
    _when: Callable[[BackendCall], bool] | None = field(default=None, repr=False)
    _times: int | None = field(default=None, repr=False)
    _owner: list[FaultRule] = field(default_factory=list, repr=False)

    def remove(self) -> None:
        """Stop applying this rule (a no-op if it was already removed or cleared)."""
        if self in self._owner:
            self._owner.remove(self)

    def _matches(self, call: BackendCall) -> bool:
        return (
            call.method == self.method
            and (self._times is None or self.applied < self._times)
            and (self._at is None or call.number in self._at)
            and (self._when is None or self._when(call))
        )


class FaultyBackend:
    """A `Backend` that wraps another and injects faults into calls chosen by number or predicate.

    Args:
        inner: the backend calls go to (default: a new `MemoryBackend`).
        page_size: if given, `get_state` asks the inner backend for at most this many operations
            per page, to exercise paging.

    Attributes:
        inner: the wrapped backend.
        calls: every call received, in order, as `BackendCall` records.

    Example:
        ```python
        memory = MemoryBackend()
        faulty = FaultyBackend(memory)
        faulty.inject(Fault.throttle(), at=1)
        faulty.inject(Fault.lose_response(), when=lambda c: c.has_update(name="charge"))
        ```
    """

    def __init__(self, inner: Backend | None = None, *, page_size: int | None = None) -> None:
        if page_size is not None and page_size < 1:
            raise ValueError(f"page_size must be >= 1, got {page_size}")
        self.inner: Backend = inner if inner is not None else MemoryBackend()
        self.page_size = page_size
        self.calls: list[BackendCall] = []
        self._rules: list[FaultRule] = []
        self._counts = dict.fromkeys(_METHODS, 0)

    @property
    def clock(self) -> Clock:
        """The inner backend's clock."""
        return self.inner.clock

    def inject(
        self,
        fault: Fault,
        *,
        method: Method = "checkpoint",
        at: int | Iterable[int] | None = None,
        when: Callable[[BackendCall], bool] | None = None,
        times: int | None = None,
    ) -> FaultRule:
        """Apply `fault` to the calls of `method` that match, and return the rule.

        Args:
            fault: what to do to a matching call.
            method: `"checkpoint"` or `"get_state"`.
            at: call number(s) of `method` to match (1-based); `None` for any number.
            when: a predicate on the `BackendCall` (its `fault` is still `None`); `None` for any.
            times: apply it to at most this many calls; `None` for no limit.

        With several rules, the first one added that matches (and has calls left) wins.

        Raises:
            ValueError: an unknown `method`, an empty `at` or one below 1, or `times` below 1.
        """
        _check_method(method)
        numbers = None if at is None else frozenset([at] if isinstance(at, int) else at)
        if numbers is not None and (not numbers or min(numbers) < 1):
            raise ValueError(f"at must name call numbers >= 1, got {sorted(numbers)}")
        if times is not None and times < 1:
            raise ValueError(f"times must be >= 1 (or None for no limit), got {times}")
        rule = FaultRule(fault, method, _at=numbers, _when=when, _times=times, _owner=self._rules)
        self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule; the recorded calls are kept."""
        self._rules.clear()

    def count(self, method: Method) -> int:
        """How many calls of `method` were received so far."""
        _check_method(method)
        return self._counts[method]

    async def checkpoint(
        self,
        execution_arn: str,
        checkpoint_token: str,
        updates: Sequence[OperationUpdate],
        *,
        client_token: str | None = None,
    ) -> CheckpointResponse:
        """Record the call, then apply the first matching fault or pass it to the inner backend."""
        send = partial(
            self.inner.checkpoint,
            execution_arn,
            checkpoint_token,
            updates,
            client_token=client_token,
        )
        call = BackendCall(
            self._next("checkpoint"), "checkpoint", execution_arn, checkpoint_token, tuple(updates)
        )
        return await self._handle(call, send)

    async def get_state(
        self,
        execution_arn: str,
        checkpoint_token: str,
        *,
        marker: str | None = None,
        max_items: int = 1000,
    ) -> ExecutionState:
        """Record the call, then apply the first matching fault or pass it to the inner backend."""
        if self.page_size is not None:
            max_items = min(max_items, self.page_size)
        send = partial(
            self.inner.get_state,
            execution_arn,
            checkpoint_token,
            marker=marker,
            max_items=max_items,
        )
        call = BackendCall(
            self._next("get_state"), "get_state", execution_arn, checkpoint_token, marker=marker
        )
        return await self._handle(call, send)

    def _next(self, method: Method) -> int:
        """Count a call of `method`; its 1-based number."""
        self._counts[method] += 1
        return self._counts[method]

    async def _handle(self, call: BackendCall, send: Callable[[], Awaitable[T]]) -> T:
        """Record `call`, then fault it or pass it through with `send()`."""
        rule = next((r for r in self._rules if r._matches(call)), None)
        self.calls.append(replace(call, fault=rule.fault.kind) if rule else call)
        if rule is None:
            return await send()
        rule.applied += 1
        return await rule.fault._inflict(send)


def _check_method(method: str) -> None:
    if method not in _METHODS:
        raise ValueError(f"method must be 'checkpoint' or 'get_state', got {method!r}")
