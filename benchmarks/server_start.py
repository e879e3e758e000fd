"""Server cold start: from starting the process to its first request answered, for
`durable-async serve` and for AWS's in-memory local runner (`dex-local-runner start-server`), the
one peer that serves the durable execution API.

    python -m benchmarks.server_start [--reps N]

Each repetition is a fresh process on a free port; the clock stops when an HTTP request to it
(our viewer's execution list, the runner's `/health`) is answered. Repetitions of the two
alternate, so load on the machine falls on both alike.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["main", "ours", "runner"]

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "approval.py"
_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _first_answer(process: subprocess.Popen[bytes], url: str, started: float) -> float:
    """Seconds from `started` until `url` answers (polling every millisecond)."""
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return time.perf_counter() - started
        except (urllib.error.URLError, OSError):
            pass
        if time.perf_counter() - started > _TIMEOUT:
            raise RuntimeError(f"no answer from {url} within {_TIMEOUT:g} s")
        time.sleep(0.001)


def _measure(command: list[str], url: str) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
    )
    try:
        return _first_answer(process, url, started)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def ours(db: Path) -> float:
    """One cold start of `durable-async serve` serving the approval example."""
    port = _free_port()
    command = [sys.executable, "-m", "durable_async", "serve", f"approval={EXAMPLE}:handler"]
    command += ["--port", str(port), "--db", str(db)]
    return _measure(command, f"http://127.0.0.1:{port}/viewer/api/executions")


def runner() -> float | None:
    """One cold start of `dex-local-runner start-server`, or `None` if it is not installed."""
    script = Path(sys.executable).with_name("dex-local-runner")
    found = str(script) if script.exists() else shutil.which("dex-local-runner")
    if found is None:
        return None
    port = _free_port()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    command = [found, "start-server", "--host", "127.0.0.1", "--port", str(port)]
    return _measure(command, f"http://127.0.0.1:{port}/health")


def main(argv: list[str] | None = None) -> int:
    """Measure and print the medians (and their ratio)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.server_start")
    parser.add_argument("--reps", type=int, default=10, help="repetitions of each (default 10)")
    args = parser.parse_args(argv)
    mine: list[float] = []
    theirs: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "executions.db"
        ours(db)  # the first start creates the database and compiles bytecode: not counted
        for _ in range(args.reps):
            mine.append(ours(db))
            peer = runner()
            if peer is not None:
                theirs.append(peer)
    print(
        f"durable-async serve: median {statistics.median(mine) * 1000:.0f} ms "
        f"(min {min(mine) * 1000:.0f}, max {max(mine) * 1000:.0f}, {len(mine)} runs)"
    )
    if theirs:
        ratio = statistics.median(mine) / statistics.median(theirs)
        print(
            f"dex-local-runner:    median {statistics.median(theirs) * 1000:.0f} ms "
            f"(min {min(theirs) * 1000:.0f}, max {max(theirs) * 1000:.0f}); ratio {ratio:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
