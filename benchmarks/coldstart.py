"""B6, cold start: a fresh process runs a one-step durable function's first invocation.

    python -m benchmarks.coldstart [--reps N] [--only ours,fork,official]
    python -m benchmarks.coldstart --profile ours      # -X importtime and cProfile output

Each repetition simulates a Lambda cold start. The harness creates an execution on a running
endpoint (`benchmarks.endpoint`, no latency), reads `time.monotonic()` and spawns the SDK
environment's interpreter on `functions/bootstrap.py`, which imports the SDK's handler module
(`functions/handler_<sdk>.py`, a durable function with one step, written against the SDK's public
API) and calls `handler(event, context)` synchronously, as the runtime does. The environment is
a Lambda sandbox's (credentials and region in variables, no config files) plus
`AWS_ENDPOINT_URL_LAMBDA`, so each SDK builds its default client exactly as it would on Lambda.

Measured per repetition: process start to the first checkpoint request the endpoint received
(`time.monotonic()` is system-wide on Linux, so the two processes' readings subtract), process
start to the handler's return, and the process's peak RSS. Repetitions of the SDKs alternate.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import envs, wire

__all__ = ["measure", "main", "one", "profile"]

FUNCTIONS = Path(__file__).resolve().parent / "functions"
BOOTSTRAP = FUNCTIONS / "bootstrap.py"
MARKER = "COLDSTART "
TIMEOUT = 120.0


def module_of(sdk: str) -> str:
    return f"handler_{sdk}"


def sandbox_env(url: str) -> dict[str, str]:
    """A Lambda sandbox's environment, pointed at the endpoint."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        **wire.lambda_env(url),
    }
    if "HOME" in os.environ:
        env["HOME"] = os.environ["HOME"]
    return env


def one(
    python: Path | str, sdk: str, control: wire.Control, extra: list[str] | None = None
) -> dict[str, Any]:
    """One cold start of `sdk`'s function; times in seconds."""
    event = control.start({})
    arn = event["DurableExecutionArn"]
    command = [str(python), *(extra or []), str(BOOTSTRAP), module_of(sdk), json.dumps(event)]
    started = time.monotonic()
    done = subprocess.run(
        command,
        cwd=FUNCTIONS,
        env=sandbox_env(control.url),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith(MARKER)]
    if not lines:
        tail = (done.stderr or done.stdout)[-1500:]
        return {"error": f"bootstrap exited {done.returncode} without a result: {tail}"}
    out = json.loads(lines[-1][len(MARKER) :])
    stats = control.stats()
    first = stats["first_checkpoint"].get(arn)
    return {
        "first_checkpoint_s": None if first is None else first - started,
        "return_s": out["returned"] - started,
        "rss_peak_kib": out["rss_peak_kib"],
        "status": out["status"],
        "stderr": done.stderr[-500:] if done.returncode else "",
    }


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    good = [r for r in runs if "error" not in r and r.get("first_checkpoint_s") is not None]
    if not good:
        return {"error": runs[0].get("error", "no checkpoint request") if runs else "not run"}
    statuses = {r["status"] for r in good}
    return {
        "first_checkpoint_ms": 1000 * statistics.median(r["first_checkpoint_s"] for r in good),
        "return_ms": 1000 * statistics.median(r["return_s"] for r in good),
        "rss_peak_kib": statistics.median(r["rss_peak_kib"] for r in good),
        "runs": len(good),
        "status": statuses.pop() if len(statuses) == 1 else sorted(statuses),
    }


def measure(
    pythons: dict[str, Path | str],
    reps: int,
    show: Callable[[str], None] | None = None,
    advance: Callable[[], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """B6 over `pythons` (SDK key to interpreter): every repetition's numbers and their medians.

    One endpoint serves every repetition; each repetition is a fresh execution."""
    out: dict[str, dict[str, Any]] = {key: {"runs": []} for key in pythons}
    with wire.running(0.0) as url:
        control = wire.Control(url)
        for key, python in pythons.items():
            one(python, key, control)  # compiles and caches the bytecode: not counted
        for rep in range(reps):
            for key, python in pythons.items():
                if show:
                    show(f"B6 {key} cold start (rep {rep + 1}/{reps})")
                try:
                    run = one(python, key, control)
                except subprocess.TimeoutExpired:
                    run = {"error": f"timed out after {TIMEOUT:.0f} s"}
                out[key]["runs"].append(run)
                if advance:
                    advance()
    for rec in out.values():
        rec["summary"] = _summary(rec["runs"])
    return out


def profile(python: Path | str, sdk: str, folder: Path) -> list[Path]:
    """Write `-X importtime` output and a cProfile of one cold start of `sdk`'s function."""
    folder.mkdir(parents=True, exist_ok=True)
    importtime = folder / f"coldstart-{sdk}-importtime.txt"
    prof = folder / f"coldstart-{sdk}.prof"
    text = folder / f"coldstart-{sdk}-profile.txt"
    with wire.running(0.0) as url:
        control = wire.Control(url)
        one(python, sdk, control)  # bytecode
        event = control.start({})
        env = sandbox_env(url)
        command = [str(BOOTSTRAP), module_of(sdk), json.dumps(event)]
        done = subprocess.run(
            [str(python), "-X", "importtime", *command],
            cwd=FUNCTIONS,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        importtime.write_text(done.stderr)
        event = control.start({})
        command = [str(BOOTSTRAP), module_of(sdk), json.dumps(event)]
        subprocess.run(
            [str(python), "-m", "cProfile", "-o", str(prof), *command],
            cwd=FUNCTIONS,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=True,
        )
    with text.open("w") as stream:
        stats = pstats.Stats(str(prof), stream=stream)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(30)
    return [importtime, prof, text]


def _top_imports(path: Path, count: int = 15) -> list[str]:
    rows = []
    for line in path.read_text().splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    rows.sort(reverse=True)
    return [f"{us / 1000:8.1f} ms {name}" for us, name in rows[:count]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.coldstart", description=__doc__)
    ap.add_argument("--reps", type=int, default=10, help="repetitions per SDK (default 10)")
    ap.add_argument("--only", help="comma-separated SDKs (ours, fork, official); default: all")
    ap.add_argument(
        "--profile",
        metavar="SDK",
        help="write -X importtime output and a cProfile of one cold start of SDK, then exit",
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=envs.REPO / "benchmarks" / "results",
        help="where --profile writes (default benchmarks/results)",
    )
    args = ap.parse_args(argv)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    if args.profile:
        python = envs.ensure(envs.SDKS[args.profile], log)
        files = profile(python, args.profile, args.out)
        for path in files:
            print(f"wrote {path}")
        print("largest cumulative imports:")
        print("\n".join(_top_imports(files[0])))
        return 0
    keys = list(envs.SDKS) if not args.only else [s.strip() for s in args.only.split(",")]
    pythons: dict[str, Path | str] = {key: envs.ensure(envs.SDKS[key], log) for key in keys}
    results = measure(pythons, args.reps, show=log)
    official = results.get("official", {}).get("summary", {})
    for key, rec in results.items():
        s = rec["summary"]
        if "error" in s:
            print(f"{key}: {s['error']}")
            continue
        ratio = ""
        if key != "official" and "first_checkpoint_ms" in official:
            ratio = (
                f" ({s['first_checkpoint_ms'] / official['first_checkpoint_ms']:.2f}x, "
                f"{s['return_ms'] / official['return_ms']:.2f}x official)"
            )
        print(
            f"{key}: first checkpoint request {s['first_checkpoint_ms']:.0f} ms, handler return "
            f"{s['return_ms']:.0f} ms, peak RSS {s['rss_peak_kib'] / 1024:.0f} MiB{ratio}, "
            f"{s['runs']} runs, {s['status']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
