"""A stand-in for the Lambda runtime's cold start: `python bootstrap.py MODULE EVENT_JSON`.

Like the runtime, it imports the function's module (its folder is on `sys.path`, as the task
root is on Lambda), then calls `handler(event, context)` once, synchronously. It prints one line,
`COLDSTART <json>`: the `time.monotonic()` at which the handler returned (the clock is
system-wide, so the parent can subtract the time it spawned this process), the process's peak
RSS and the invocation's status. Standard library only.
"""

import importlib
import json
import resource
import sys
import time


class LambdaContext:
    """The attributes and method a Lambda context object offers."""

    function_name = "bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    memory_limit_in_mb = 1024
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/bench"
    log_stream_name = "bench"
    identity = None
    client_context = None

    def __init__(self) -> None:
        self._deadline = time.monotonic() + 900

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def main() -> int:
    module = importlib.import_module(sys.argv[1])
    event = json.loads(sys.argv[2])
    output = module.handler(event, LambdaContext())
    returned = time.monotonic()
    status = output.get("Status") if hasattr(output, "get") else None
    line = {
        "returned": returned,
        "rss_peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "status": str(getattr(status, "value", status)),
    }
    sys.stdout.write("COLDSTART " + json.dumps(line) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
