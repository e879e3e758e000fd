"""One measurement in a fresh process: `python -m benchmarks.worker '<spec as JSON>'`.

The spec names the SDK, the workload and its parameters. The worker imports that SDK's module,
warms it up (one tiny run of each handler, so lazy imports and first-call costs stay out of the
numbers), then runs the workload once and prints one line, `RESULT <json>`, with the workload's
own measurements plus the process's peak RSS and peak thread count.

Standard library only: it runs inside every SDK's own virtual environment.
"""

from __future__ import annotations

import gc
import importlib
import json
import logging
import resource
import sys
import threading
import traceback
from typing import Any

MARKER = "RESULT "


class ThreadPeak:
    """The most threads alive at once, seen at every `Thread.start` (no sampling thread)."""

    def __init__(self) -> None:
        self.value = threading.active_count()
        original = threading.Thread.start
        peak = self

        def start(thread: threading.Thread) -> None:
            original(thread)
            peak.value = max(peak.value, threading.active_count())

        threading.Thread.start = start  # type: ignore[method-assign]

    def reset(self) -> None:
        self.value = threading.active_count()


def max_rss_kib() -> int:
    """The process's peak resident set so far, in KiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run(spec: dict[str, Any]) -> dict[str, Any]:
    peak = ThreadPeak()
    module = importlib.import_module(f"benchmarks.sdks.{spec['sdk']}")
    bench = module.BENCHES.get(spec["bench"])
    if bench is None:
        return {"na": f"{spec['sdk']} has no {spec['bench']} workload"}
    if spec.get("warmup", True):
        module.warmup()
    gc.collect()
    base = max_rss_kib()
    peak.reset()
    try:
        out = dict(bench(spec["params"]))
    except NotImplementedError as exc:
        return {"na": f"not available in {spec['sdk']}: {exc}"}
    out["rss_base_kib"] = base
    out["rss_peak_kib"] = max_rss_kib()
    out["threads_peak"] = peak.value
    return out


def main() -> int:
    logging.disable(logging.CRITICAL)  # SDK logs would only slow the measured code down
    spec = json.loads(sys.argv[1])
    try:
        out = run(spec)
    except Exception as exc:
        out = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-2000:]}
    sys.stdout.write(MARKER + json.dumps(out) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
