"""Turn a results file into the tables of `docs/benchmarks.md` (and a console summary).

Standard library only; the plots are drawn by `benchmarks.plots` in an environment of its own.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from . import envs

DOC = envs.REPO / "docs" / "benchmarks.md"
IMG = envs.REPO / "docs" / "img"
SDK_ORDER = ("ours", "fork", "official")
NAMES = {"ours": "durable_async", "fork": "async fork", "official": "official"}
MAX_UPDATES = 250

Summary = dict[str, Any]


class Results:
    """Look up case summaries by workload and parameters."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.meta = payload["meta"]
        self.cases: list[dict[str, Any]] = payload["cases"]
        self.imports: dict[str, Any] = payload.get("imports", {})
        self.coldstart: dict[str, Any] = payload.get("coldstart") or {}

    def get(self, sdk: str, bench: str, **params: Any) -> Summary | None:
        for case in self.cases:
            if case["sdk"] != sdk or case["bench"] != bench:
                continue
            if all(case["params"].get(k) == v for k, v in params.items()):
                s: Summary = case["summary"]
                return s if "wall" in s else None
        return None

    def note(self, sdk: str, bench: str, **params: Any) -> str:
        for case in self.cases:
            if (
                case["sdk"] == sdk
                and case["bench"] == bench
                and all(case["params"].get(k) == v for k, v in params.items())
            ):
                return str(case.get("note") or "")
        return ""

    def values(self, bench: str, key: str) -> list[Any]:
        return sorted({c["params"][key] for c in self.cases if c["bench"] == bench})

    def sdks(self) -> list[str]:
        present = {c["sdk"] for c in self.cases}
        return [s for s in SDK_ORDER if s in present]


# -- formatting ------------------------------------------------------------------------------------


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    v = seconds * 1000
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"


def us(seconds: float | None) -> str:
    """Seconds as microseconds."""
    if seconds is None:
        return "n/a"
    v = seconds * 1e6
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def num(v: float | None, digits: int = 1) -> str:
    if v is None:
        return "n/a"
    return f"{v:,.{digits}f}"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def times(r: float | None) -> str:
    return "n/a" if r is None else f"{r:.2f}x"


def lower_bound(s: Summary) -> int:
    return int(s.get("lower_bound_calls") or -(-int(s["updates"]) // MAX_UPDATES))


def table(header: list[str], rows: list[list[str]], align: str | None = None) -> str:
    align = align or "l" + "r" * (len(header) - 1)
    marks = {"l": "---", "r": "--:", "c": ":-:"}
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks[a] for a in align) + " |"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out)


# -- targets -------------------------------------------------------------------------------------


def targets(res: Results) -> list[dict[str, Any]]:
    """The issue's targets: each a ratio measured in this run, with its limit."""
    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, limit: float, detail: str) -> None:
        verdict = "n/a" if value is None else ("pass" if value <= limit else "FAIL")
        out.append(
            {"target": name, "value": value, "limit": limit, "verdict": verdict, "detail": detail}
        )

    def wall(sdk: str, bench: str, **p: Any) -> float | None:
        s = res.get(sdk, bench, **p)
        return s["wall"] if s else None

    sizes = res.values("fanout", "n")
    n = 1000 if 1000 in sizes or not sizes else max(sizes)  # a small run: its largest N
    a = wall("ours", "fanout", style="gather", n=n, latency=0.0)
    b = wall("fork", "fanout", style="gather", n=n, latency=0.0)
    add(
        f"gather {n:,} steps, 0 ms: durable_async / fork",
        ratio(a, b),
        0.5,
        f"{ms(a)} ms vs {ms(b)} ms",
    )
    a = wall("ours", "fanout", style="map", n=n, latency=0.0)
    b = wall("official", "fanout", style="map", n=n, latency=0.0)
    add(
        f"map {n:,} steps, 0 ms: durable_async / official",
        ratio(a, b),
        0.25,
        f"{ms(a)} ms vs {ms(b)} ms",
    )
    for style in ("gather", "map"):
        s = res.get("ours", "fanout", style=style, n=n, latency=0.02)
        name = f"{style} {n:,} steps, 20 ms: durable_async wall / (min calls x 20 ms)"
        if s:
            floor = lower_bound(s) * 0.02
            detail = f"{ms(s['wall'])} ms vs {lower_bound(s)} calls x 20 ms = {ms(floor)} ms"
            add(name, s["wall"] / floor, 1.2, detail)
        else:
            add(name, None, 1.2, "not run")
    a = wall("ours", "seq_runner")
    b = wall("fork", "seq_runner")
    seq = res.values("seq_runner", "n")
    add(
        f"{seq[0] if seq else 200} sequential steps, local runner: durable_async / fork",
        ratio(a, b),
        0.5,
        f"{ms(a)} ms vs {ms(b)} ms",
    )
    big = max(res.values("waits", "n") or [0])
    for style, peer, limit in (
        ("gather", "fork", 1.0),
        ("map", "fork", 1.0),
        ("map", "official", 1.0),
        ("gather", "fork", 0.6),
        ("map", "official", 0.6),
    ):
        ours_s = res.get("ours", "waits", style=style, n=big)
        peer_s = res.get(peer, "waits", style=style, n=big)
        add(
            f"peak RSS, {big:,} waits by {style}: durable_async / {NAMES[peer]}",
            ratio(ours_s and ours_s["rss_peak_kib"], peer_s and peer_s["rss_peak_kib"]),
            limit,
            f"{rss_mib(ours_s)} MiB vs {rss_mib(peer_s)} MiB",
        )
    ours_i = res.imports.get("ours", {}).get("summary")
    for peer in ("fork", "official"):
        peer_i = res.imports.get(peer, {}).get("summary")
        add(
            f"cold import: durable_async / {NAMES[peer]}",
            ratio(ours_i and ours_i["import_ms"], peer_i and peer_i["import_ms"]),
            1.0,
            f"{num(ours_i and ours_i['import_ms'], 0)} ms vs "
            f"{num(peer_i and peer_i['import_ms'], 0)} ms",
        )
    out += wire_targets(res)
    return out


def wire_targets(res: Results) -> list[dict[str, Any]]:
    """The real-wire (B5), cold-start (B6) and scale targets; none when they were not run."""
    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, limit: float, detail: str) -> None:
        verdict = "n/a" if value is None else ("pass" if value <= limit else "FAIL")
        out.append(
            {"target": name, "value": value, "limit": limit, "verdict": verdict, "detail": detail}
        )

    if res.coldstart:
        ours = res.coldstart.get("ours", {}).get("summary", {})
        official = res.coldstart.get("official", {}).get("summary", {})
        for key, what in (
            ("first_checkpoint_ms", "cold start to first checkpoint request"),
            ("return_ms", "cold start to handler return (1 step)"),
        ):
            add(
                f"{what}: durable_async / official",
                ratio(ours.get(key), official.get(key)),
                0.6,
                f"{num(ours.get(key), 0)} ms vs {num(official.get(key), 0)} ms",
            )
    if any(c["bench"].startswith("wire_") for c in res.cases):
        n = (res.values("wire_seq", "n") or [200])[0]
        ours = res.get("ours", "wire_seq", n=n, latency=0.0)
        for peer in ("official", "fork"):
            other = res.get(peer, "wire_seq", n=n, latency=0.0)
            add(
                f"CPU per operation, real wire, {n} sequential steps, 0 ms: "
                f"durable_async / {NAMES[peer]}",
                ratio(ours and ours.get("cpu_per_op"), other and other.get("cpu_per_op")),
                0.5,
                f"{us(ours and ours.get('cpu_per_op'))} us vs "
                f"{us(other and other.get('cpu_per_op'))} us",
            )
        ours = res.get("ours", "wire_calls", latency=0.0, client=None)
        other = res.get("official", "wire_calls", latency=0.0, client=None)
        add(
            "client CPU per checkpoint call: durable_async / official (boto3)",
            ratio(ours and ours.get("cpu_per_call"), other and other.get("cpu_per_call")),
            0.5,
            f"{us(ours and ours.get('cpu_per_call'))} us vs "
            f"{us(other and other.get('cpu_per_call'))} us",
        )
        sizes = res.values("wire_fanout", "n")
        n = 1000 if 1000 in sizes or not sizes else max(sizes)
        s = res.get("ours", "wire_fanout", style="gather", n=n, latency=0.02)
        name = f"gather {n:,} steps, 20 ms, real wire: durable_async wall / (calls x 20 ms)"
        if s:
            calls = int(s["requests"])
            detail = f"{ms(s['wall'])} ms vs {calls} calls x 20 ms = {ms(calls * 0.02)} ms"
            add(name, s["wall"] / (calls * 0.02), 1.25, detail)
        else:
            add(name, None, 1.25, "not run")
    for n in res.values("scale_waits", "n"):
        s = res.get("ours", "scale_waits", style="gather", n=n)
        add(
            f"{n:,} waits by gather: durable_async peak RSS / 1 GiB",
            s and s["rss_peak_kib"] / (1024 * 1024),
            1.0,
            f"{rss_mib(s)} MiB, {num(s and s['wall'], 1)} s" if s else "did not complete",
        )
    return out


def rss_mib(s: Summary | None) -> str:
    return "n/a" if not s else f"{s['rss_peak_kib'] / 1024:.0f}"


def per_op_kib(s: Summary | None, n: int) -> str:
    if not s:
        return "n/a"
    return f"{max(0, s['rss_peak_kib'] - s['rss_base_kib']) / n:.1f}"


# -- sections ------------------------------------------------------------------------------------


def _cell(res: Results, sdk: str, bench: str, **p: Any) -> tuple[Summary | None, str]:
    s = res.get(sdk, bench, **p)
    if s is not None:
        return s, ""
    for case in res.cases:
        if (
            case["sdk"] == sdk
            and case["bench"] == bench
            and all(case["params"].get(k) == v for k, v in p.items())
        ):
            summary = case["summary"]
            return None, "n/a" if "na" in summary else "error"
    return None, "not run"


def section_targets(res: Results) -> str:
    rows = [
        [t["target"], times(t["value"]), f"<= {t['limit']:g}x", t["verdict"], t["detail"]]
        for t in targets(res)
    ]
    return table(["target", "measured", "limit", "verdict", "numbers"], rows, "lrrcl")


MISSED: dict[str, str] = {
    "peak RSS, {big} waits by gather": (
        "Peak RSS by gather: the process starts the measured run at about 37 MiB (the "
        "interpreter, the SDK, pydantic's model machinery alone about 9 MiB), so 0.6x the "
        "fork would leave about 1 KiB per wait, less than the stand-in service's own record of "
        "each wait (about 600 B, in the same process for every SDK) plus one asyncio task. A "
        "tracemalloc profile of 10,000 parked waits, per wait: the operation's state as a "
        "pydantic `Operation` model with its details and datetimes 808 B, the task and its "
        "context about 400 B, weak references to the task (asyncio's registry and ours) 265 B, "
        "the wait's coroutine 248 B, the operation object 144 B, its id 113 B, its handle 80 B. "
        "The peak itself is in the replay: the second invocation holds the 10,000-operation "
        "event and its parsed models at once. Meeting the target needs wire models without "
        "pydantic and parked waits that keep no task of their own."
    ),
    "peak RSS, {big} waits by map": (
        "Peak RSS by map: each item is a child context and a wait, two operations and two "
        "tasks, and the replay parses twice as many operations as by gather; the same "
        "per-operation costs as by gather apply, twice."
    ),
    "real wire: durable_async wall": (
        "Gather at 20 ms on the real wire: the calls are a chain (each needs the token the "
        "previous one returned), and on this machine about 25 to 30 ms of CPU come before the "
        "first request can leave: creating the 1,000 operations and their tasks (about 12 ms "
        "of it in the handler's own generator and `asyncio.gather`), and running the first "
        "125 steps until a full request of 250 updates is queued. Then the rest of the fan-out "
        "is set up while that request is in flight, which delays taking in its answer, and "
        "each later call adds the client's parsing of 250 operations and serialising of the "
        "next 250 updates (about 2 ms) to the service's response time. The stand-in service "
        "case (B2) at the same size has no parsing and shows the set-up alone."
    ),
    "steps, 20 ms: durable_async wall / (min calls": (
        "Fan-out at 20 ms on the stand-in: the same set-up as on the real wire comes before "
        "the first request can leave (about 25 to 30 ms of CPU on this machine for 1,000 "
        "operations), and a map's calls also wait on each other (a step's SUCCEED, then its "
        "item's, then the map's). This page's earlier run, on a faster day, measured 1.13x "
        "and 1.15x; the code before this round of work, run interleaved with this one on the "
        "same day, measures the same as this one (gather 1,000 at 20 ms: 197 to 232 ms "
        "against 202 to 237 ms)."
    ),
    "cold start to first checkpoint request": (
        "Cold start to the first request: importing durable_async is most of it, and pydantic "
        "(its import and building the wire models, about 100 ms) is most of that; the "
        "embedded backend, the CLI, the local server and the testing tools are no longer "
        "imported on Lambda, and the direct transport imports no botocore."
    ),
}
"""Why a target was missed, from the profiles behind this page, keyed by part of its name."""


def missed(res: Results) -> list[str]:
    """The explanation of each target this run missed (those the profiles explain)."""
    big = f"{max(res.values('waits', 'n') or [0]):,}"
    out = []
    for t in targets(res):
        if t["verdict"] != "FAIL":
            continue
        for key, text in MISSED.items():
            if key.format(big=big) in t["target"] and text not in out:
                out.append(text)
    return out


def section_sequential(res: Results) -> str:
    rows = []
    n_run = (res.values("seq_runner", "n") or [0])[0]
    n_stub = (res.values("seq_stub", "n") or [0])[0]
    ours_run = res.get("ours", "seq_runner")
    ours_stub = res.get("ours", "seq_stub")
    for sdk in res.sdks():
        run, stub = res.get(sdk, "seq_runner"), res.get(sdk, "seq_stub")
        rows.append(
            [
                NAMES[sdk],
                ms(run and run["wall"]),
                num(run and n_run / run["wall"], 0),
                ms(stub and stub["wall"]),
                num(stub and n_stub / stub["wall"], 0),
                num(stub and stub["checkpoint_calls"], 0),
                times(ratio(ours_run and ours_run["wall"], run and run["wall"])),
                times(ratio(ours_stub and ours_stub["wall"], stub and stub["wall"])),
            ]
        )
    header = [
        "SDK",
        f"runner: {n_run} steps (ms)",
        "steps/s",
        f"stub: {n_stub:,} steps (ms)",
        "steps/s",
        "checkpoint calls",
        "durable_async / this (runner)",
        "(stub)",
    ]
    return table(header, rows)


def section_fanout(res: Results, latency: float) -> str:
    rows = []
    for n in res.values("fanout", "n"):
        for style in ("gather", "map"):
            ours = res.get("ours", "fanout", style=style, n=n, latency=latency)
            for sdk in res.sdks():
                s, why = _cell(res, sdk, "fanout", style=style, n=n, latency=latency)
                if why == "not run":
                    continue
                if s is None:
                    rows.append(
                        [f"{n:,}", style, NAMES[sdk], why] + ["n/a"] * (7 if latency else 6)
                    )
                    continue
                lb = lower_bound(s)
                row = [
                    f"{n:,}",
                    style,
                    NAMES[sdk]
                    + (" (1 run)" if s.get("runs") == 1 and res.meta["reps"] > 1 else ""),
                    ms(s["wall"]),
                    num(s["checkpoint_calls"], 0),
                    num(s["updates"], 0),
                    num(s["updates"] / s["checkpoint_calls"], 1),
                    f"{s['checkpoint_calls'] / lb:.2f}",
                ]
                if latency:
                    row.append(f"{s['wall'] / (lb * latency):.2f}")
                row.append(times(ratio(ours and ours["wall"], s["wall"])))
                rows.append(row)
    header = [
        "N",
        "style",
        "SDK",
        "wall (ms)",
        "calls",
        "updates",
        "updates/call",
        "calls / min calls",
    ]
    if latency:
        header.append(f"wall / (min calls x {latency * 1000:g} ms)")
    header.append("durable_async / this")
    return table(header, rows, "rll" + "r" * (len(header) - 3))


def section_waits(res: Results) -> str:
    rows = []
    for n in res.values("waits", "n"):
        for style in ("gather", "map"):
            ours = res.get("ours", "waits", style=style, n=n)
            for sdk in res.sdks():
                s, why = _cell(res, sdk, "waits", style=style, n=n)
                if why == "not run":
                    continue
                if s is None:
                    rows.append([f"{n:,}", style, NAMES[sdk], why] + ["n/a"] * 6)
                    continue
                rows.append(
                    [
                        f"{n:,}",
                        style,
                        NAMES[sdk]
                        + (" (1 run)" if s.get("runs") == 1 and res.meta["reps"] > 1 else ""),
                        ms(s["wall"]),
                        rss_mib(s),
                        per_op_kib(s, n),
                        num(s["threads_peak"], 0),
                        num(s["checkpoint_calls"], 0),
                        times(ratio(ours and ours["rss_peak_kib"], s["rss_peak_kib"])),
                    ]
                )
    header = [
        "N",
        "style",
        "SDK",
        "wall (ms)",
        "peak RSS (MiB)",
        "RSS growth per wait (KiB)",
        "peak threads",
        "calls",
        "durable_async / this (RSS)",
    ]
    return table(header, rows, "rll" + "r" * 6)


def section_imports(res: Results) -> str:
    rows = []
    ours = res.imports.get("ours", {}).get("summary")
    for sdk in res.sdks():
        s = res.imports.get(sdk, {}).get("summary")
        if not s:
            continue
        version = res.meta["sdks"].get(sdk, {})
        dist = envs.SDKS[sdk].distribution
        rows.append(
            [
                NAMES[sdk],
                f"`{envs.SDKS[sdk].module}` {version.get(dist) or ''}",
                num(s["import_ms"], 0),
                num(s["importtime_ms"], 0),
                num(s["wall_ms"], 0),
                times(ratio(ours and ours["import_ms"], s["import_ms"])),
            ]
        )
    header = [
        "SDK",
        "import",
        "import (ms)",
        "-X importtime (ms)",
        "interpreter + import (ms)",
        "durable_async / this",
    ]
    return table(header, rows)


def _wire_label(sdk: str, client: str | None) -> str:
    if client == "aiobotocore":
        return "durable_async: plain aiobotocore (reference)"
    return NAMES[sdk]


def section_wire(res: Results) -> str:
    """B5 workloads: wall, client CPU and what the endpoint received."""
    rows = []
    for bench in ("wire_seq", "wire_fanout"):
        combos = sorted(
            {
                (c["params"]["latency"], c["params"].get("style", ""), c["params"]["n"])
                for c in res.cases
                if c["bench"] == bench
            }
        )
        for latency, style, n in combos:
            p: dict[str, Any] = {"n": n, "latency": latency}
            if style:
                p["style"] = style
            what = f"{n:,} sequential" if bench == "wire_seq" else f"{n:,} by {style}"
            ours = res.get("ours", bench, **p)
            for sdk in res.sdks():
                s, why = _cell(res, sdk, bench, **p)
                if why == "not run":
                    continue
                if s is None:
                    rows.append([what, f"{latency * 1000:g}", NAMES[sdk], why] + ["n/a"] * 8)
                    continue
                lat = f"{s['wall_per_latency']:.2f}" if latency and "wall_per_latency" in s else "-"
                status = "" if s.get("status") == "SUCCEEDED" else f" ({s['status']})"
                rows.append(
                    [
                        what,
                        f"{latency * 1000:g}",
                        NAMES[sdk] + status,
                        ms(s["wall"]),
                        ms(s["cpu"]),
                        us(s.get("cpu_per_op")),
                        us(s.get("cpu_per_call")),
                        num(s["checkpoint_calls"], 0),
                        num(s["updates"], 0),
                        ms(s.get("endpoint_busy_s")),
                        lat,
                        times(ratio(ours and ours.get("cpu_per_op"), s.get("cpu_per_op"))),
                    ]
                )
    header = [
        "workload",
        "latency (ms)",
        "SDK",
        "wall (ms)",
        "client CPU (ms)",
        "CPU per op (us)",
        "CPU per call (us)",
        "calls",
        "updates",
        "endpoint busy (ms)",
        "wall / (calls x latency)",
        "durable_async / this (CPU)",
    ]
    return table(header, rows, "lrl" + "r" * 9)


def section_wire_calls(res: Results) -> str:
    """B5 client micro-benchmark: one-update checkpoint calls, one after another."""
    rows = []
    ours = res.get("ours", "wire_calls", latency=0.0, client=None)
    for case in res.cases:
        if case["bench"] != "wire_calls":
            continue
        client = case["params"].get("client")
        label = _wire_label(case["sdk"], client)
        s = case["summary"]
        if "wall" not in s:
            rows.append([label] + ["n/a" if "na" in s else "error"] + ["n/a"] * 4)
            continue
        n = case["params"]["n"]
        rows.append(
            [
                label,
                num(s["checkpoint_calls"], 0),
                ms(s["wall"]),
                us(s["wall"] / n),
                us(s.get("cpu_per_call")),
                times(ratio(ours and ours.get("cpu_per_call"), s.get("cpu_per_call"))),
            ]
        )
    header = [
        "client",
        "calls",
        "wall (ms)",
        "wall per call (us)",
        "CPU per call (us)",
        "durable_async / this (CPU)",
    ]
    return table(header, rows)


def section_coldstart(res: Results) -> str:
    rows = []
    ours = res.coldstart.get("ours", {}).get("summary", {})
    for sdk in SDK_ORDER:
        s = res.coldstart.get(sdk, {}).get("summary")
        if s is None:
            continue
        if "error" in s:
            rows.append([NAMES[sdk], "error", "n/a", "n/a", "n/a", "n/a"])
            continue
        rows.append(
            [
                NAMES[sdk],
                num(s["first_checkpoint_ms"], 0),
                num(s["return_ms"], 0),
                f"{s['rss_peak_kib'] / 1024:.0f}",
                times(ratio(ours.get("first_checkpoint_ms"), s["first_checkpoint_ms"])),
                times(ratio(ours.get("return_ms"), s["return_ms"])),
            ]
        )
    header = [
        "SDK",
        "start to first checkpoint request (ms)",
        "start to handler return (ms)",
        "peak RSS (MiB)",
        "durable_async / this (first request)",
        "(return)",
    ]
    return table(header, rows)


def section_scale(res: Results) -> str:
    rows = []
    for case in res.cases:
        if case["bench"] != "scale_waits":
            continue
        s = case["summary"]
        n = case["params"]["n"]
        style = case["params"]["style"]
        if "wall" not in s:
            rows.append([f"{n:,}", style, "error", "n/a", "n/a", "n/a"])
            continue
        rows.append(
            [
                f"{n:,}",
                style,
                f"{s['wall']:.1f}",
                rss_mib(s),
                per_op_kib(s, n),
                num(s["checkpoint_calls"], 0),
            ]
        )
    header = ["N", "style", "wall (s)", "peak RSS (MiB)", "RSS growth per wait (KiB)", "calls"]
    return table(header, rows, "rl" + "r" * 4)


def section_study(res: Results, latency: float, body: float | None = None) -> str:
    mine = [c for c in res.cases if c["bench"] == "batching" and c["params"].get("body") == body]
    lanes = sorted({c["params"]["lanes"] for c in mine})
    rows = []
    for window in sorted({c["params"]["window"] for c in mine}):
        row = [f"{window * 1000:g}"]
        for c in lanes:
            s = res.get("ours", "batching", window=window, lanes=c, latency=latency, body=body)
            row.append(
                "n/a"
                if not s
                else f"{s['checkpoint_calls']:.0f} / {s['p50_ms']:.2f} / {s['p99_ms']:.2f}"
            )
        rows.append(row)
    header = ["window (ms)"] + [
        f"{c:,} lane{'s' if c > 1 else ''} x {_steps(res, c)} steps" for c in lanes
    ]
    return table(header, rows, "r" * len(header))


def study_latencies(res: Results) -> list[float]:
    return sorted(
        {
            c["params"]["latency"]
            for c in res.cases
            if c["bench"] == "batching" and not c["params"].get("body")
        }
    )


def _steps(res: Results, lanes: int) -> int:
    for case in res.cases:
        if case["bench"] == "batching" and case["params"]["lanes"] == lanes:
            return int(case["params"]["steps"])
    return 0


def observations(res: Results) -> list[str]:
    """What the tables say, in sentences computed from this run (a bullet needs its data)."""
    out: list[str] = []
    sizes = res.values("fanout", "n")
    if len(sizes) >= 2:
        lo, hi = sizes[-2], sizes[-1]
        growth = []
        for sdk, style in (
            ("ours", "gather"),
            ("ours", "map"),
            ("fork", "map"),
            ("official", "map"),
        ):
            a = res.get(sdk, "fanout", style=style, n=lo, latency=0.0)
            b = res.get(sdk, "fanout", style=style, n=hi, latency=0.0)
            if a and b:
                growth.append(f"{NAMES[sdk]} {style} {b['wall'] / a['wall']:.0f}x")
        if growth:
            out.append(
                f"Going from {lo:,} to {hi:,} concurrent steps ({hi // lo}x the work) multiplies "
                f"the wall time by: {', '.join(growth)}."
            )
    big = max(res.values("waits", "n") or [0])
    off = res.get("official", "waits", style="map", n=big)
    if off:
        out.append(
            f"The official SDK ran {big:,} concurrent waits on up to {off['threads_peak']:.0f} "
            "threads; both asyncio SDKs ran every workload on the main thread alone."
        )
    ours_g = res.get("ours", "waits", style="gather", n=big)
    fork_g = res.get("fork", "waits", style="gather", n=big)
    ours_m = res.get("ours", "waits", style="map", n=big)
    if ours_g and fork_g and off and ours_m:
        out.append(
            f"Memory at {big:,} concurrent waits: by gather, durable_async peaked at "
            f"{rss_mib(ours_g)} MiB ({per_op_kib(ours_g, big)} KiB per wait) against the "
            f"fork's {rss_mib(fork_g)} MiB ({per_op_kib(fork_g, big)} KiB); by map, at "
            f"{rss_mib(ours_m)} MiB against the official SDK's {rss_mib(off)} MiB. What "
            "durable_async keeps per operation is mostly its state as the service returned it "
            "(a pydantic model; models of the same shape share their field-name sets and equal "
            "nested details), and the task of the operation (a parked operation keeps no "
            "coroutine frame of its own); its peak is in the replay, which holds the event's "
            "operations and their parsed models at once."
        )
    for style in ("gather", "map"):
        s = res.get("ours", "fanout", style=style, n=1000, latency=0.02)
        z = res.get("ours", "fanout", style=style, n=1000, latency=0.0)
        if s and z:
            floor = lower_bound(s) * 0.02
            text = (
                f"At 20 ms, durable_async's {style} of 1,000 steps took {ms(s['wall'])} ms for "
                f"{s['checkpoint_calls']:.0f} calls ({lower_bound(s)} at least, "
                f"{ms(floor)} ms of latency; the same work takes {ms(z['wall'])} ms at 0 ms)."
            )
            if style == "gather":
                text += (
                    " The first request leaves as soon as a full one is queued: the operations "
                    "about to start let it go first, and the rest of the fan-out is set up "
                    "while it is in flight."
                )
            elif s["checkpoint_calls"] > lower_bound(s):
                before = int(s["updates"]) - 1
                text += (
                    " The map's own SUCCEED can leave only once every item's SUCCEED has been "
                    f"acknowledged: the {before:,} updates before it need "
                    f"{-(-before // MAX_UPDATES)} calls and it needs one more, "
                    f"{-(-before // MAX_UPDATES) + 1} against ceil(U / 250) = {lower_bound(s)}."
                )
            out.append(text)
    trips = {
        sdk: s["checkpoint_calls"]
        for sdk in res.sdks()
        if (s := res.get(sdk, "fanout", style="map", n=10, latency=0.02))
    }
    if trips:
        counts = ", ".join(f"{NAMES[k]} {v:.0f}" for k, v in trips.items())
        out.append(
            "A map cannot reach the ceil(U / 250) bound at small N: a step's SUCCEED, then its "
            "item's, then the map's must each be acknowledged before the next is sent. Calls "
            f"for a map of 10 items: {counts}."
        )
    out += wire_observations(res)
    body = [c for c in res.cases if c["params"].get("body")]
    if body:
        b = body[0]["params"]["body"]
        short = res.get("ours", "batching", lanes=1, window=0.0, body=b)
        mid = res.get("ours", "batching", lanes=1, window=0.002, body=b)
        long = res.get("ours", "batching", lanes=1, window=0.010, body=b)
        if short and mid and long:
            out.append(
                f"The checkpoint window only matters when a step's body outlasts it: with "
                f"{b * 1000:g} ms bodies on one lane, a 0 ms window gives "
                f"{short['checkpoint_calls']:.0f} calls and a p50 of {short['p50_ms']:.1f} ms, "
                f"the default 2 ms window {mid['checkpoint_calls']:.0f} calls and "
                f"{mid['p50_ms']:.1f} ms (the START leaves alone just before the SUCCEED is "
                f"ready), a 10 ms window {long['checkpoint_calls']:.0f} calls and "
                f"{long['p50_ms']:.1f} ms. With no-op steps the window changes nothing."
            )
    return out


def wire_observations(res: Results) -> list[str]:
    """Sentences about B5 and B6, from this run's numbers."""
    out: list[str] = []
    n = (res.values("wire_seq", "n") or [0])[0]
    seq = {sdk: s for sdk in res.sdks() if (s := res.get(sdk, "wire_seq", n=n, latency=0.0))}
    if len(seq) > 1:
        bits = ", ".join(
            f"{NAMES[k]} {us(v.get('cpu_per_op'))} us of CPU and "
            f"{ms(v['wall'] / v['requests'])} ms of wall per call"
            for k, v in seq.items()
            if v.get("requests")
        )
        out.append(
            f"On the real wire at 0 ms, {n} sequential steps cost per step: {bits}. The CPU is "
            "the client process's alone (the endpoint runs in another process) and includes "
            "every thread the SDK runs, so it is what a Lambda function is billed for."
        )
    fork = seq.get("fork")
    if fork and fork.get("requests") and fork["wall"] / fork["requests"] > 0.02:
        out.append(
            f"The fork's sequential calls took {ms(fork['wall'] / fork['requests'])} ms each on "
            "a local endpoint with no latency. Its default client opens its connections with no "
            "socket options (no TCP_NODELAY), so a request sent on a reused connection waits "
            "for the server's delayed acknowledgement (about 40 ms on Linux) before its body "
            "leaves; the first request on a fresh connection does not. Its CPU per call is "
            "unaffected."
        )
    ref = res.get("ours", "wire_calls", latency=0.0, client="aiobotocore")
    mine = res.get("ours", "wire_calls", latency=0.0, client=None)
    if ref and mine and ref.get("cpu_per_call") and mine.get("cpu_per_call"):
        out.append(
            f"One checkpoint call costs `AwsBackend` {us(mine['cpu_per_call'])} us of CPU "
            f"(update models in, response models out); a plain aiobotocore client, the path "
            f"durable_async used to take, spends {us(ref['cpu_per_call'])} us on the same call "
            "with dictionaries in and out."
        )
    cold = {k: v["summary"] for k, v in res.coldstart.items() if "return_ms" in v["summary"]}
    if "ours" in cold and len(cold) > 1:
        bits = ", ".join(
            f"{NAMES[k]} {v['first_checkpoint_ms']:.0f} ms to the first request and "
            f"{v['return_ms']:.0f} ms to the return"
            for k, v in cold.items()
        )
        out.append(
            f"Cold start of a one-step function (interpreter start, imports, client creation, "
            f"one step): {bits}. `python -m benchmarks.coldstart --profile <sdk>` writes where "
            "the time goes."
        )
    return out


# -- documents -----------------------------------------------------------------------------------


def machine_line(meta: dict[str, Any]) -> str:
    m = meta["machine"]
    return (
        f"{m['cpu_count']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB memory, {m['os']}, "
        f"{m['implementation']} {m['python']}"
    )


def versions_line(meta: dict[str, Any]) -> str:
    bits = []
    for sdk in SDK_ORDER:
        info = meta["sdks"].get(sdk)
        if info:
            dist = envs.SDKS[sdk].distribution
            bits.append(f"{dist} {info.get(dist)} ({info['concurrency']})")
    return "; ".join(bits)


def console(payload: dict[str, Any]) -> str:
    """A short plain-text summary for the terminal."""
    res = Results(payload)
    lines = [f"machine: {machine_line(res.meta)}", f"SDKs: {versions_line(res.meta)}", ""]
    for t in targets(res):
        lines.append(
            f"  [{t['verdict']:>4}] {t['target']}: {times(t['value'])} "
            f"(limit {t['limit']:g}x; {t['detail']})"
        )
    return "\n".join(lines)


def plots(results_path: Path, log: Callable[[str], None]) -> list[str]:
    """Draw the PNGs with matplotlib from the report environment; return their file names."""
    python = envs.ensure(envs.REPORT, log)
    IMG.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [str(python), "-m", "benchmarks.plots", str(results_path), str(IMG)],
        cwd=envs.REPO,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        log(f"plots failed:\n{done.stderr[-2000:]}")
        return []
    return [line.strip() for line in done.stdout.splitlines() if line.strip().endswith(".png")]


def write_docs(payload: dict[str, Any], results_path: Path, log: Callable[[str], None]) -> Path:
    images = plots(results_path, log)
    DOC.write_text(render(payload, images))
    return DOC


def _image(images: list[str], name: str, alt: str) -> str:
    return f"![{alt}](img/{name})\n" if name in images else ""


def render(payload: dict[str, Any], images: list[str]) -> str:
    res = Results(payload)
    meta = res.meta
    lat_fanout = res.values("fanout", "latency")
    parts: list[str] = []
    add = parts.append
    add("# Benchmarks\n")
    add(
        "How durable_async's group-committed checkpoints compare with the official "
        "`aws-durable-execution-sdk-python` (operations block threads) and its asyncio fork "
        "`async-durable-execution`, on the same machine, in the same run. Every number is the "
        "median of the repetitions of one case; every repetition ran in a fresh process; every "
        "ratio divides two numbers taken in this run.\n"
    )
    add("## Setup\n")
    add(f"- Machine: {machine_line(meta)}.")
    add(f"- SDKs, each in a virtual environment of its own: {versions_line(meta)}.")
    add(
        f"- Run: `{meta['command'].strip()}`, {meta['reps']} repetitions per case (cases marked "
        f'"1 run" ran once), {meta["duration_s"] / 60:.1f} minutes, started '
        f"{meta['started']}."
    )
    add(
        "- The service is an in-memory stand-in shared by all three SDKs (`benchmarks/service.py`)."
        " Each SDK talks to it through its own service-client interface, converting its update "
        "objects with its own code, as it would for the real API. It keeps the checkpoint-token "
        "chain, the operation states and the wait timers, and counts checkpoint calls, updates "
        "and payload bytes. Latency is a sleep per call: `time.sleep` in the official SDK's "
        "checkpointing thread, `asyncio.sleep` in the asyncio SDKs. Waits are skipped between "
        "invocations (the execution suspends, the driver moves the clock and invokes again)."
    )
    add(
        "- Each process first runs every handler once on three items (imports and first-call "
        "costs stay out of the numbers), then the measured workload once. Steps are no-ops "
        "(`async def` in the asyncio SDKs, a plain function in the official one). Logging is "
        "disabled in all three."
    )
    wired = res.coldstart or any(c["bench"].startswith("wire_") for c in res.cases)
    add(
        "- Lower bound on calls: the service takes at most 250 updates per checkpoint call, so "
        "an execution that sends U updates needs at least ceil(U / 250) calls. "
        '"calls / min calls" is 1.00 when every call was full.' + ("" if wired else "\n")
    )
    if wired:
        add(
            "- The real wire (B5, B6): the same stand-in behind a local HTTP endpoint "
            "(`benchmarks/endpoint.py`, aiohttp, in a process of its own on 127.0.0.1) that speaks "
            "`CheckpointDurableExecution` and `GetDurableExecutionState` in botocore's rest-json "
            "form. Each SDK reaches it through its own real client, with fake credentials, "
            "`AWS_REGION` and `AWS_ENDPOINT_URL_LAMBDA` in the environment: durable_async's "
            "`AwsBackend(endpoint_url=...)` with its default transport (in B6 the handler "
            "creates it), the fork's default client (botocore signing and urllib3, in a worker "
            "thread), the official SDK's boto3 `lambda` client, which it creates from the "
            "environment (`LambdaClient.initialize_client`). Latency is the service's response "
            "time: the endpoint answers each API request that long after it arrived, its own "
            "work included (an `asyncio.sleep` for the rest). Each repetition gets a fresh "
            "endpoint and first "
            "runs a three-step execution over the wire (the client is created then); the "
            "endpoint's counters are reset before the measured run. Client CPU is "
            "`time.process_time()` of the client process around the measured run (all its "
            "threads).\n"
        )
    add("## Targets\n")
    add(section_targets(res) + "\n")
    reasons = missed(res)
    if reasons:
        add("### Targets missed, and why\n")
        add("\n".join(f"- {r}" for r in reasons) + "\n")
    notes = observations(res)
    if notes:
        add("## What the numbers say\n")
        add("\n".join(f"- {n}" for n in notes) + "\n")
    add("## B1: sequential steps\n")
    add(
        "One step after another: each step's result must be acknowledged before the next step "
        "starts, so every SDK makes one checkpoint call per step and the difference is pure "
        'per-operation overhead. "runner" goes through each SDK\'s own local test runner '
        "(durable_async: `LocalRunner` on `MemoryBackend`; the fork: `create_local_runner`; the "
        'official SDK: `DurableFunctionTestRunner(skip_time=True)`); "stub" invokes the handler '
        "against the shared stand-in service.\n"
    )
    add(section_sequential(res) + "\n")
    add(_image(images, "bench-sequential.png", "sequential steps per second"))
    for latency in lat_fanout:
        add(f"## B2: fan-out, service latency {latency * 1000:g} ms\n")
        if not latency:
            add(
                "N no-op steps at once: `asyncio.gather` over `ctx.step` in the asyncio SDKs, "
                "`map` (one child context per item, so twice the updates) in all three. The "
                "official SDK has no gather: its concurrency is map and parallel, on threads.\n"
            )
        add(section_fanout(res, latency) + "\n")
    add(_image(images, "bench-fanout.png", "fan-out wall time against N"))
    add("## B3: concurrent waits\n")
    add(
        "N one-hour waits at once: the invocation checkpoints every wait, suspends, the clock "
        "skips an hour and a second invocation replays to the end. Peak RSS is the process's "
        'high-water mark (`ru_maxrss`) and includes the interpreter and SDK; "growth per wait" '
        "is the high-water mark's rise during the measured run divided by N. Peak threads is "
        "the most threads alive at once (counted at every `Thread.start`).\n"
    )
    add(section_waits(res) + "\n")
    add(_image(images, "bench-waits.png", "memory and threads against N"))
    add("## B4: cold import\n")
    add(
        'A fresh interpreter imports the SDK\'s top-level package; "import" is the median wall '
        'time of `python -c "import <package>"` less that of `python -c pass`; '
        "`-X importtime` is the interpreter's own cumulative figure for the package.\n"
    )
    add(section_imports(res) + "\n")
    add(_image(images, "bench-import.png", "cold import time"))
    if any(c["bench"].startswith("wire_") for c in res.cases):
        add("## B5: the real wire\n")
        add(
            "The workloads again, but through each SDK's own service client over HTTP to the "
            "local endpoint: request signing, the HTTP connection pool, JSON in and out. "
            '"CPU per op" is the client process\'s CPU time divided by the steps; "CPU per '
            'call" divides it by the checkpoint calls the endpoint received; "endpoint busy" is '
            "the time the endpoint spent on its own work. The latency is the service's response "
            "time: a request is answered that long after it arrived, the endpoint's work "
            "included (at 0 ms, the client waits through that work); "
            '"wall / (calls x latency)" is 1.00 when the run took exactly its requests\' '
            "response times.\n"
        )
        add(section_wire(res) + "\n")
        add(
            "The client alone: one-update `CheckpointDurableExecution` calls (a STEP START), "
            "one after another, each with the token the previous one returned, through each "
            "SDK's client-level call (`AwsBackend.checkpoint`; the fork's default service "
            "client's `checkpoint`; the official SDK's `LambdaClient.checkpoint` over boto3), "
            "at 0 ms.\n"
        )
        add(section_wire_calls(res) + "\n")
        add(_image(images, "bench-wire.png", "client CPU per operation on the real wire"))
    if res.coldstart:
        add("## B6: cold start\n")
        add(
            "A Lambda cold start, simulated: the harness creates an execution on the endpoint, "
            "reads the monotonic clock and spawns the SDK environment's interpreter on a small "
            "bootstrap (`benchmarks/functions/bootstrap.py`) that imports a one-step durable "
            "function written against the SDK's public API (`benchmarks/functions/`) and calls "
            "`handler(event, context)` once, synchronously, as the runtime does. The SDK creates "
            "its client by default, from the environment. The endpoint notes when the first "
            "checkpoint request arrives (the monotonic clock is system-wide), the bootstrap when "
            "the handler returned. Medians over the repetitions; peak RSS is the process's "
            "high-water mark.\n"
        )
        add(section_coldstart(res) + "\n")
        add(_image(images, "bench-coldstart.png", "cold start"))
    if any(c["bench"] == "scale_waits" for c in res.cases):
        add("## Scale: 100,000 concurrent waits (durable_async)\n")
        add(
            "B3 at a size only durable_async runs: one invocation starts every wait, suspends, "
            "and a second replays to the end, on the stand-in service. One run.\n"
        )
        add(section_scale(res) + "\n")
    add("## Batching study (durable_async)\n")
    add(
        "`lanes` coroutines run `steps` sequential no-op steps each, all under one "
        "`asyncio.gather`; each `await ctx.step(...)` is timed from the call (its START is "
        "queued) to the acknowledgement of its SUCCEED. Cells: checkpoint calls / p50 / p99 "
        "step latency in ms. The window (`durable_execution(checkpoint_window=...)`) only holds "
        "fire-and-forget updates; a blocking update flushes at once.\n"
    )
    for latency in study_latencies(res):
        add(f"### Service latency {latency * 1000:g} ms\n")
        add(section_study(res, latency) + "\n")
    add(_image(images, "bench-batching.png", "batching study"))
    for body in sorted({c["params"]["body"] for c in res.cases if c["params"].get("body")}):
        latency = next(c["params"]["latency"] for c in res.cases if c["params"].get("body") == body)
        add(
            f"### Where the window matters: {body * 1000:g} ms step bodies, {latency * 1000:g} ms\n"
        )
        add(
            f"The same measurement with steps that await {body * 1000:g} ms of I/O. A START "
            "whose window runs out before its step's SUCCEED is queued goes out alone: one "
            "more call, and with one lane one more round trip before the SUCCEED can leave. A "
            "window longer than the body lets the SUCCEED carry the START.\n"
        )
        add(section_study(res, latency, body) + "\n")
    add("## Reproduce\n")
    add(
        "```bash\n"
        "python -m benchmarks                 # the full run behind this page; rewrites it\n"
        "python -m benchmarks --size small    # N in {10, 100}: a couple of minutes\n"
        "python -m benchmarks --only ours     # durable_async alone\n"
        "python -m benchmarks --smoke         # what CI runs: durable_async, tiny sizes\n"
        "python -m benchmarks --size small --groups B5   # the real wire alone\n"
        "python -m benchmarks --size small --groups B6   # cold start alone (3 repetitions)\n"
        "python -m benchmarks.coldstart --reps 10        # cold start, printed, no results file\n"
        "python -m benchmarks.coldstart --profile ours   # -X importtime and cProfile of one\n"
        "python -m benchmarks --render benchmarks/results/latest.json  # redraw this page\n"
        "```\n"
    )
    add(
        "The first run creates one virtual environment per SDK under `benchmarks/.venvs/` "
        "(and one with matplotlib for the plots); later runs reuse them. Raw results, every "
        "repetition included, are written to `benchmarks/results/`.\n"
    )
    add(
        "Sizes of the full run: B1 200 steps (runner) and 1,000 (stub); B2 N in {10, 100, "
        "1,000, 10,000} at 0 and 20 ms; B3 N in {10, 100, 1,000, 10,000}; the study crosses "
        "windows {0, 1, 2, 5, 10} ms, 1 to 1,000 lanes and 0, 5 and 20 ms, plus 2 ms step "
        "bodies at 5 ms; B5 200 sequential steps at 0 and 20 ms, 1,000 steps by gather and by "
        "map at 0 and 20 ms, 500 client-level checkpoint calls; B6 10 cold starts per SDK; "
        "100,000 concurrent waits by gather (durable_async only, once). The fork's map grows "
        "with the square of N (over a minute at 10,000 items), so at N = 10,000 it runs once "
        "and only without latency; everything else runs 5 times. The full run behind this page "
        f"took {meta['duration_s'] / 60:.0f} minutes on {meta['machine']['cpu_count']} CPUs.\n"
    )
    return "\n".join(parts)


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def iter_cases(payload: dict[str, Any], bench: str) -> Iterator[dict[str, Any]]:
    for case in payload["cases"]:
        if case["bench"] == bench and "wall" in case["summary"]:
            yield case
