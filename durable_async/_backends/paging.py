"""Reading an execution's whole state: the first page, then every page its markers lead to."""

from __future__ import annotations

from .._errors import CheckpointRejectedError
from .._models import ExecutionState, Operation
from .protocol import Backend

__all__ = ["MAX_PAGE", "read_pages"]

MAX_PAGE = 1000
"""The most operations `GetDurableExecutionState` returns in one page."""


async def read_pages(
    backend: Backend, execution_arn: str, checkpoint_token: str, first: ExecutionState
) -> list[Operation]:
    """Return `first`'s operations followed by those of every further page, in order.

    Raises:
        CheckpointRejectedError: the service returned a marker it had returned before, which
            would otherwise page forever.
    """
    operations = list(first.operations)
    marker = first.next_marker
    seen: set[str] = set()
    while marker:
        if marker in seen:
            raise CheckpointRejectedError(
                f"GetDurableExecutionState returned the marker {marker!r} twice; paging stopped",
                code="RepeatedMarker",
            )
        seen.add(marker)
        page = await backend.get_state(
            execution_arn, checkpoint_token, marker=marker, max_items=MAX_PAGE
        )
        operations.extend(page.operations)
        marker = page.next_marker
    return operations
