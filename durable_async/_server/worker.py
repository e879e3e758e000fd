"""One invocation in a process of its own: `python -m durable_async._server.worker SPEC REQUEST_ID`.

The durable invocation event arrives on stdin; the handler `SPEC` names is called with it as
Lambda calls a handler, and its return value is written to stdout as JSON. Whatever the handler
prints goes to stderr, so it cannot be mistaken for the answer.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from .._invocations import LocalLambdaContext

__all__ = ["main"]


def main(argv: list[str]) -> int:
    """Run the invocation; exit status 0 when the handler returned."""
    spec, request_id = argv[0], argv[1] if len(argv) > 1 else "local"
    answer = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # the handler's prints go to stderr
    event = json.loads(sys.stdin.read())

    from .._cli.load import load_object

    handler: Any = load_object(spec)
    name = spec.rpartition(":")[2]
    context = _Context(name, request_id)
    result = handler(event, context)
    answer.write(json.dumps(result))
    answer.flush()
    return 0


@dataclass(frozen=True)
class _Context(LocalLambdaContext):
    """The Lambda context a subprocess invocation gets: the local one, with Lambda's clock."""

    def get_remaining_time_in_millis(self) -> int:
        """Lambda's remaining time: the server's function timeout bounds it."""
        return 900_000


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
