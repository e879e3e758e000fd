"""`python -m benchmarks --smoke`: the harness end to end on durable_async alone, in seconds.

Tiny sizes, one repetition, no extra environments: each case still runs in a fresh process of
the current interpreter, so this needs nothing beyond the project's own dependencies (the real-wire
cases, B5, and the cold start, B6, go through `AwsBackend`'s own client to a local endpoint).
Exits 0 when every case ran, succeeded, and sent no fewer checkpoint calls than its updates
require.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from . import cli, envs, plan, report, server_start
from .service import lower_bound_calls


def check(records: list[dict[str, object]]) -> list[str]:
    problems = []
    for rec in records:
        s = rec["summary"]
        assert isinstance(s, dict)
        what = f"{rec['group']} {rec['bench']} {rec['params']}"
        if "error" in s or "na" in s:
            problems.append(f"{what}: {s.get('error') or s.get('na')}")
        elif s.get("status") != "SUCCEEDED":
            problems.append(f"{what}: status {s.get('status')}")
        elif "updates" in s and s["checkpoint_calls"] < lower_bound_calls(int(s["updates"])):
            problems.append(f"{what}: {s['checkpoint_calls']} calls for {s['updates']} updates")
    return problems


def main() -> int:
    started = time.perf_counter()
    cases = plan.smoke_plan()
    records, imports, cold = cli.execute(
        cases, {"ours": sys.executable}, import_reps=1, coldstart_reps=plan.SMOKE_COLDSTART_REPS
    )
    meta = {
        "size": "smoke",
        "reps": 1,
        "sdks": {"ours": {"label": "durable_async", "concurrency": "asyncio tasks"}},
        "machine": envs.machine(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "duration_s": round(time.perf_counter() - started, 1),
        "command": "python -m benchmarks --smoke",
    }
    payload = {"meta": meta, "cases": records, "imports": imports, "coldstart": cold}
    cli.write_results(payload, "smoke")
    res = report.Results(payload)
    for case, rec in zip(cases, records, strict=True):
        s = rec["summary"]
        if "wall" in s:
            calls = f", {s['checkpoint_calls']:.0f} calls" if "checkpoint_calls" in s else ""
            cpu = f", {report.us(s['cpu_per_op'])} us CPU per op" if s.get("cpu_per_op") else ""
            print(f"  {case.describe()}: {report.ms(s['wall'])} ms{calls}{cpu}")
    ours_import = res.imports.get("ours", {}).get("summary", {})
    print(f"  B4 import durable_async: {ours_import.get('import_ms', float('nan')):.0f} ms")
    ours_cold = cold.get("ours", {}).get("summary", {})
    if "return_ms" in ours_cold:
        print(
            f"  B6 cold start: first checkpoint request {ours_cold['first_checkpoint_ms']:.0f} ms, "
            f"handler return {ours_cold['return_ms']:.0f} ms, "
            f"peak RSS {ours_cold['rss_peak_kib'] / 1024:.0f} MiB"
        )
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "executions.db"
        server_start.ours(db)  # creates the database
        print(f"  server cold start to first answer: {server_start.ours(db) * 1000:.0f} ms")
    problems = check(records)
    for key, rec in cold.items():
        summary = rec["summary"]
        if "error" in summary or summary.get("status") != "SUCCEEDED":
            problems.append(f"B6 {key} cold start: {summary.get('error') or summary['status']}")
    for p in problems:
        print(f"smoke FAILED: {p}", file=sys.stderr)
    print(
        f"smoke {'failed' if problems else 'passed'}: {len(records)} cases in "
        f"{time.perf_counter() - started:.1f} s"
    )
    return 1 if problems else 0
