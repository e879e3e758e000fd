"""The real-wire benchmarks' shared parts: the endpoint's process, its control routes, the
environment a client needs to reach it, and the measurement of an execution driven over HTTP.

Standard library only: the SDK adapters import it inside every SDK's own virtual environment
(the endpoint itself, `benchmarks.endpoint`, runs under the harness's interpreter).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "LAMBDA_ENV",
    "Control",
    "calls_async",
    "calls_sync",
    "configure",
    "drive_async",
    "drive_sync",
    "lambda_env",
    "measured",
    "running",
]

REPO = Path(__file__).resolve().parent.parent
WARMUP_N = 3
"""Steps (or calls) in the warm-up run that creates each SDK's client before the measured run."""

LAMBDA_ENV = {
    # What a Lambda sandbox gives every function: short-lived credentials and the region.
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_SESSION_TOKEN": "test",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    # No shared config or credentials files, no instance metadata lookups.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


def lambda_env(url: str) -> dict[str, str]:
    """The variables that point a client created from the environment at the endpoint."""
    return {**LAMBDA_ENV, "AWS_ENDPOINT_URL_LAMBDA": url}


def configure(url: str) -> None:
    """Set this process's environment so every SDK's default client reaches `url`."""
    os.environ.update(lambda_env(url))


@contextlib.contextmanager
def running(latency: float = 0.0, python: str | None = None) -> Iterator[str]:
    """Start an endpoint (`benchmarks.endpoint`) in a process of its own; yield its URL."""
    process = subprocess.Popen(
        [python or sys.executable, "-m", "benchmarks.endpoint", "--latency", repr(latency)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the endpoint did not start (it printed {line!r})")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        if process.stdin is not None:
            process.stdin.close()  # the endpoint exits when its stdin closes
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait()


class Control:
    """The endpoint's control routes (`/bench/...`), by plain blocking HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _call(self, name: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body, default=str).encode()
        request = urllib.request.Request(
            f"{self.url}/bench/{name}",
            data=data,
            method="GET" if body is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            return json.loads(answer.read())

    def start(self, input_value: Any = None) -> dict[str, Any]:
        """A new execution's first invocation event."""
        event: dict[str, Any] = self._call("start", {"input": input_value})
        return event

    def finish(self, arn: str, output: dict[str, Any]) -> None:
        self._call("finish", {"arn": arn, "output": output})

    def skip(self, arn: str) -> dict[str, Any]:
        """Skip past the execution's timers; the next invocation's event."""
        event: dict[str, Any] = self._call("skip", {"arn": arn})["event"]
        return event

    def reset(self) -> None:
        self._call("reset", {})

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self._call("stats")
        return stats


MAX_INVOCATIONS = 50


def _status(out: dict[str, Any]) -> str:
    status = out.get("Status")
    return str(getattr(status, "value", status))


def drive_sync(
    control: Control, invoke: Callable[[dict[str, Any]], dict[str, Any]], input_value: Any
) -> tuple[dict[str, Any], float, float]:
    """Run an execution to its end; return its last output, and the wall and CPU seconds spent
    in the invocations alone (the control calls between them are not counted)."""
    event = control.start(input_value)
    arn = event["DurableExecutionArn"]
    wall = cpu = 0.0
    for _ in range(MAX_INVOCATIONS):
        t0, c0 = time.perf_counter(), time.process_time()
        out = dict(invoke(event))
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        control.finish(arn, out)
        if _status(out) != "PENDING":
            return out, wall, cpu
        event = control.skip(arn)
    raise RuntimeError(f"still running after {MAX_INVOCATIONS} invocations")


async def drive_async(
    control: Control,
    invoke: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
    input_value: Any,
) -> tuple[dict[str, Any], float, float]:
    """`drive_sync` for handlers invoked on a running event loop."""
    event = control.start(input_value)
    arn = event["DurableExecutionArn"]
    wall = cpu = 0.0
    for _ in range(MAX_INVOCATIONS):
        t0, c0 = time.perf_counter(), time.process_time()
        out = dict(await invoke(event))
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        control.finish(arn, out)
        if _status(out) != "PENDING":
            return out, wall, cpu
        event = control.skip(arn)
    raise RuntimeError(f"still running after {MAX_INVOCATIONS} invocations")


def calls_sync(
    control: Control, call: Callable[[str, str, int], str], n: int
) -> tuple[dict[str, Any], float, float]:
    """`n` sequential checkpoint calls, each with the token the previous one returned;
    `call(arn, token, i)` sends the i-th and returns the new token."""
    event = control.start(None)
    arn, token = event["DurableExecutionArn"], event["CheckpointToken"]
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(n):
        token = call(arn, token, i)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"Status": "SUCCEEDED"}, wall, cpu


async def calls_async(
    control: Control, call: Callable[[str, str, int], Awaitable[str]], n: int
) -> tuple[dict[str, Any], float, float]:
    """`calls_sync` for a client called on a running event loop."""
    event = control.start(None)
    arn, token = event["DurableExecutionArn"], event["CheckpointToken"]
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(n):
        token = await call(arn, token, i)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"Status": "SUCCEEDED"}, wall, cpu


def measured(
    control: Control, run: tuple[dict[str, Any], float, float], ops: int, latency: float
) -> dict[str, Any]:
    """A case's measurements: wall and client CPU, and what the endpoint received."""
    out, wall, cpu = run
    stats = control.stats()
    stats.pop("first_checkpoint", None)
    stats.pop("first_request", None)
    stats.pop("latency", None)
    calls = int(stats["checkpoint_calls"])
    requests = int(stats["requests"])
    result: dict[str, Any] = {
        "wall": wall,
        "cpu": cpu,
        "ops": ops,
        "cpu_per_op": cpu / ops if ops else None,
        "cpu_per_call": cpu / calls if calls else None,
        "status": _status(out),
        **stats,
    }
    if latency and requests:
        result["wall_per_latency"] = wall / (requests * latency)
    return result
