"""`python -m benchmarks`: run the cases of a plan, each repetition in a fresh process.

Repetitions are interleaved (every case's first run, then every case's second run, ...), so a
slow drift of the machine spreads over all SDKs alike and every ratio compares numbers taken in
the same run. Results go to `benchmarks/results/` (ignored by git); a full run over every SDK
also rewrites `docs/benchmarks.md` and its plots.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import coldstart, envs, plan, wire
from .worker import MARKER

RESULTS = envs.REPO / "benchmarks" / "results"
TIMEOUT = 900.0


class Progress:
    """A progress bar on stderr: redrawn in place on a terminal, one line per step otherwise."""

    def __init__(self, total: int, *, stream: Any = None) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.started = time.monotonic()
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def show(self, label: str) -> None:
        elapsed = time.monotonic() - self.started
        left = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        width = 24
        filled = int(width * self.done / self.total)
        bar = "#" * filled + "." * (width - filled)
        line = (
            f"[{bar}] {self.done:>{len(str(self.total))}}/{self.total} "
            f"{100 * self.done / self.total:3.0f}% {_clock(elapsed)} elapsed"
            f"{f', ~{_clock(left)} left' if self.done else ''} | {label}"
        )
        if self.tty:
            self.stream.write("\r\033[K" + line[:160])
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def advance(self) -> None:
        self.done += 1

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m}:{s:02d}"


def run_once(python: Path | str, case: plan.Case) -> dict[str, Any]:
    """One repetition of `case` in a fresh interpreter (B5: against a fresh endpoint)."""
    if case.bench.startswith("wire_"):
        try:
            with wire.running(case.params.get("latency", 0.0)) as url:
                return _run_worker(python, case, {**case.params, "endpoint": url})
        except RuntimeError as exc:
            return {"error": str(exc)}
    return _run_worker(python, case, case.params)


def _run_worker(python: Path | str, case: plan.Case, params: dict[str, Any]) -> dict[str, Any]:
    spec = {"sdk": case.sdk, "bench": case.bench, "params": params}
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [str(python), "-m", "benchmarks.worker", json.dumps(spec)],
            cwd=envs.REPO,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {TIMEOUT:.0f} s"}
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith(MARKER)]
    if not lines:
        tail = (done.stderr or done.stdout)[-1500:]
        return {"error": f"worker exited {done.returncode} without a result: {tail}"}
    out: dict[str, Any] = json.loads(lines[-1][len(MARKER) :])
    out["process_s"] = time.perf_counter() - started
    return out


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of every numeric measurement over the successful runs."""
    good = [r for r in runs if "error" not in r and "na" not in r]
    if not good:
        first = runs[0] if runs else {}
        return {"na": first.get("na")} if "na" in first else {"error": first.get("error")}
    keys = [
        k for k, v in good[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)
    ]
    summary: dict[str, Any] = {
        k: statistics.median(r[k] for r in good if k in r) for k in keys if k != "process_s"
    }
    summary["runs"] = len(good)
    statuses = {r.get("status") for r in good}
    summary["status"] = statuses.pop() if len(statuses) == 1 else sorted(map(str, statuses))
    return summary


def measure_imports(
    pythons: dict[str, Path | str], reps: int, progress: Progress
) -> dict[str, dict[str, Any]]:
    """B4: cold `import <sdk>` in a fresh interpreter, wall time and `-X importtime` total."""
    out: dict[str, dict[str, Any]] = {}
    for key, python in pythons.items():
        module = envs.SDKS[key].module
        subprocess.run([str(python), "-c", f"import {module}"], check=True)  # bytecode is cached
        out[key] = {"wall_ms": [], "bare_ms": [], "importtime_ms": []}
    for rep in range(reps):
        for key, python in pythons.items():
            module = envs.SDKS[key].module
            progress.show(f"B4 {key} import (rep {rep + 1}/{reps})")
            rec = out[key]
            rec["bare_ms"].append(_timed([str(python), "-c", "pass"]))
            rec["wall_ms"].append(_timed([str(python), "-c", f"import {module}"]))
            done = subprocess.run(
                [str(python), "-X", "importtime", "-c", f"import {module}"],
                capture_output=True,
                text=True,
                check=True,
            )
            rec["importtime_ms"].append(_cumulative_us(done.stderr, module) / 1000)
            progress.advance()
    for rec in out.values():
        rec["summary"] = {
            "wall_ms": statistics.median(rec["wall_ms"]),
            "bare_ms": statistics.median(rec["bare_ms"]),
            "import_ms": statistics.median(rec["wall_ms"]) - statistics.median(rec["bare_ms"]),
            "importtime_ms": statistics.median(rec["importtime_ms"]),
        }
    return out


def _timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return (time.perf_counter() - started) * 1000


def _cumulative_us(stderr: str, module: str) -> int:
    for line in stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].rstrip() == f" {module}":
            return int(parts[1])
    raise RuntimeError(f"no importtime line for {module}")


def execute(
    cases: list[plan.Case],
    pythons: dict[str, Path | str],
    import_reps: int,
    coldstart_reps: int = 0,
) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """Run every repetition of every case, interleaved; then the import times (B4) and the
    cold starts (B6)."""
    total = sum(c.reps for c in cases) + (import_reps + coldstart_reps) * len(pythons)
    progress = Progress(total)
    runs: dict[str, list[dict[str, Any]]] = {c.key: [] for c in cases}
    for rep in range(max((c.reps for c in cases), default=0)):
        for case in cases:
            if rep >= case.reps:
                continue
            progress.show(f"{case.describe()} (rep {rep + 1}/{case.reps})")
            runs[case.key].append(run_once(pythons[case.sdk], case))
            progress.advance()
    imports = measure_imports(pythons, import_reps, progress) if import_reps else {}
    cold = (
        coldstart.measure(pythons, coldstart_reps, progress.show, progress.advance)
        if coldstart_reps
        else {}
    )
    progress.show("done")
    progress.close()
    records = [
        {
            "group": c.group,
            "sdk": c.sdk,
            "bench": c.bench,
            "params": c.params,
            "reps": c.reps,
            "note": c.note,
            "runs": runs[c.key],
            "summary": summarize(runs[c.key]),
        }
        for c in cases
    ]
    return records, imports, cold


def write_results(payload: dict[str, Any], name: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=1, default=str))
    (RESULTS / "latest.json").write_text(path.read_text())
    return path


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmarks of checkpoint batching: durable_async against the official SDK "
        "and its asyncio fork. Each repetition runs in a fresh process.",
    )
    ap.add_argument("--size", choices=sorted(plan.SIZES), default="full")
    ap.add_argument("--reps", type=int, help="repetitions per case (default: 5 full, 3 small)")
    ap.add_argument(
        "--only",
        help="comma-separated SDKs to run (ours, fork, official); default: all",
    )
    ap.add_argument(
        "--groups",
        help="comma-separated groups to run (B1, B2, B3, B5, B6, scale, study, study-body); "
        "default: all (B4, import time, always runs)",
    )
    ap.add_argument(
        "--smoke",
        action="store_true",
        help="durable_async only, tiny sizes, one repetition, no extra environments",
    )
    ap.add_argument(
        "--render",
        metavar="RESULTS",
        type=Path,
        help="rewrite docs/benchmarks.md and its plots from a results file, run nothing",
    )
    docs = ap.add_mutually_exclusive_group()
    docs.add_argument("--docs", dest="docs", action="store_true", default=None)
    docs.add_argument(
        "--no-docs",
        dest="docs",
        action="store_false",
        help="do not rewrite docs/benchmarks.md (default: rewrite after a full run of all SDKs)",
    )
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.smoke:
        from .smoke import main as smoke_main

        return smoke_main()
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    if args.render:
        from . import report

        payload = report.load(args.render)
        print(report.console(payload))
        log(f"wrote {report.write_docs(payload, args.render.resolve(), log)}")
        return 0
    sdks = list(envs.SDKS) if not args.only else [s.strip() for s in args.only.split(",")]
    unknown = [s for s in sdks if s not in envs.SDKS]
    if unknown:
        print(f"unknown SDK(s): {', '.join(unknown)}; choose from {', '.join(envs.SDKS)}")
        return 2
    pythons: dict[str, Path | str] = {key: envs.ensure(envs.SDKS[key], log) for key in sdks}
    cases = plan.build(args.size, sdks, args.reps)
    groups: set[str] = set()
    if args.groups:
        groups = {g.strip() for g in args.groups.split(",")}
        cases = [c for c in cases if c.group in groups]
    reps = args.reps or plan.SIZES[args.size].reps
    cold_reps = 0
    if not args.groups or "B6" in groups:
        cold_reps = args.reps or plan.SIZES[args.size].coldstart_reps
    started = datetime.now(UTC)
    log(f"{len(cases)} cases, {sum(c.reps for c in cases)} processes, size {args.size}")
    records, imports, cold = execute(cases, pythons, reps, cold_reps)
    finished = datetime.now(UTC)
    meta = {
        "size": args.size,
        "reps": reps,
        "sdks": {
            key: {
                "label": envs.SDKS[key].label,
                "concurrency": envs.SDKS[key].concurrency,
                **envs.versions(pythons[key], [envs.SDKS[key].distribution]),
            }
            for key in sdks
        },
        "machine": envs.machine(),
        "started": started.isoformat(timespec="seconds"),
        "duration_s": round((finished - started).total_seconds(), 1),
        "command": "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    payload = {"meta": meta, "cases": records, "imports": imports, "coldstart": cold}
    path = write_results(payload, f"{args.size}-{started.strftime('%Y%m%dT%H%M%SZ')}")
    log(f"results: {path.relative_to(envs.REPO)} ({meta['duration_s']} s)")
    from . import report

    print(report.console(payload))
    write_docs = (
        args.docs
        if args.docs is not None
        else (args.size == "full" and set(sdks) == set(envs.SDKS) and not args.groups)
    )
    if write_docs:
        doc = report.write_docs(payload, path, log)
        log(f"wrote {doc.relative_to(envs.REPO)}")
    errors = [r for r in records if "error" in r["summary"]]
    for r in errors:
        log(f"FAILED: {r['group']} {r['sdk']} {r['bench']} {r['params']}: {r['summary']['error']}")
    cold_errors = {k: v["summary"]["error"] for k, v in cold.items() if "error" in v["summary"]}
    for key, error in cold_errors.items():
        log(f"FAILED: B6 {key} cold start: {error}")
    return 1 if errors or cold_errors else 0
