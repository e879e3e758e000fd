"""Draw the benchmark plots: `python -m benchmarks.plots RESULTS.json OUT_DIR`.

Runs in the report environment (matplotlib); prints the name of every PNG it wrote.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from .report import NAMES, Results, load

COLORS = {"ours": "#1f77b4", "fork": "#ff7f0e", "official": "#2ca02c"}
MARKS = {"gather": "o-", "map": "s--"}


def _save(fig: Any, out: Path, name: str) -> None:
    fig.tight_layout()
    fig.savefig(out / name, dpi=110)
    plt.close(fig)
    print(name)


def fanout(res: Results, out: Path) -> None:
    latencies = res.values("fanout", "latency")
    fig, axes = plt.subplots(1, len(latencies), figsize=(5.2 * len(latencies), 4), squeeze=False)
    for ax, latency in zip(axes[0], latencies, strict=True):
        for sdk in res.sdks():
            for style, mark in MARKS.items():
                pts = [
                    (n, s["wall"] * 1000)
                    for n in res.values("fanout", "n")
                    if (s := res.get(sdk, "fanout", style=style, n=n, latency=latency))
                ]
                if pts:
                    xs, ys = zip(*pts, strict=True)
                    ax.plot(xs, ys, mark, color=COLORS[sdk], label=f"{NAMES[sdk]} {style}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("concurrent no-op steps (N)")
        ax.set_ylabel("wall time (ms)")
        ax.set_title(f"B2 fan-out, service latency {latency * 1000:g} ms")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    _save(fig, out, "bench-fanout.png")


def waits(res: Results, out: Path) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.4, 4))
    for sdk in res.sdks():
        for style, mark in MARKS.items():
            pts = [
                (n, s)
                for n in res.values("waits", "n")
                if (s := res.get(sdk, "waits", style=style, n=n))
            ]
            if not pts:
                continue
            xs = [n for n, _ in pts]
            label = f"{NAMES[sdk]} {style}"
            left.plot(
                xs, [s["rss_peak_kib"] / 1024 for _, s in pts], mark, color=COLORS[sdk], label=label
            )
            right.plot(
                xs, [s["threads_peak"] for _, s in pts], mark, color=COLORS[sdk], label=label
            )
    for ax, title, unit in (
        (left, "B3 peak RSS", "peak RSS (MiB)"),
        (right, "B3 peak threads", "threads alive at once"),
    ):
        ax.set_xscale("log")
        ax.set_xlabel("concurrent waits (N)")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    right.set_yscale("log")
    _save(fig, out, "bench-waits.png")


def sequential(res: Results, out: Path) -> None:
    sdks = res.sdks()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    width = 0.38
    for i, bench in enumerate(("seq_runner", "seq_stub")):
        vals = []
        for sdk in sdks:
            s = res.get(sdk, bench)
            n = res.values(bench, "n")[0]
            vals.append(n / s["wall"] if s else 0)
        xs = [j + (i - 0.5) * width for j in range(len(sdks))]
        bars = ax.bar(xs, vals, width, label="local runner" if i == 0 else "stub service")
        ax.bar_label(bars, fmt="%.0f", fontsize=8)
    ax.set_xticks(range(len(sdks)), [NAMES[s] for s in sdks])
    ax.set_ylabel("sequential steps per second")
    ax.set_title("B1 sequential no-op steps (higher is better)")
    ax.legend(fontsize=8)
    _save(fig, out, "bench-sequential.png")


def imports(res: Results, out: Path) -> None:
    sdks = [s for s in res.sdks() if s in res.imports]
    if not sdks:
        return
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    vals = [res.imports[s]["summary"]["import_ms"] for s in sdks]
    bars = ax.barh([NAMES[s] for s in sdks], vals, color=[COLORS[s] for s in sdks])
    ax.bar_label(bars, fmt="%.0f ms", fontsize=8)
    ax.set_xlabel("cold import (ms, over a bare interpreter)")
    ax.set_title("B4 cold import (lower is better)")
    ax.invert_yaxis()
    _save(fig, out, "bench-import.png")


def batching(res: Results, out: Path) -> None:
    latencies = sorted(
        {
            c["params"]["latency"]
            for c in res.cases
            if c["bench"] == "batching" and not c["params"].get("body")
        }
    )
    if not latencies:
        return
    fig, axes = plt.subplots(2, len(latencies), figsize=(4.4 * len(latencies), 6.6), squeeze=False)
    windows = res.values("batching", "window")
    for col, latency in enumerate(latencies):
        top, bottom = axes[0][col], axes[1][col]
        for lanes in res.values("batching", "lanes"):
            pts = [
                (w * 1000, s)
                for w in windows
                if (
                    s := res.get(
                        "ours", "batching", window=w, lanes=lanes, latency=latency, body=None
                    )
                )
            ]
            if not pts:
                continue
            xs = [x for x, _ in pts]
            label = f"{lanes} lane{'s' if lanes > 1 else ''}"
            top.plot(xs, [s["p99_ms"] for _, s in pts], "o-", label=label)
            bottom.plot(xs, [s["checkpoint_calls"] for _, s in pts], "o-", label=label)
        top.set_title(f"service latency {latency * 1000:g} ms")
        top.set_ylabel("p99 step latency (ms)")
        bottom.set_ylabel("checkpoint calls")
        bottom.set_xlabel("checkpoint window (ms)")
        for ax in (top, bottom):
            ax.set_yscale("log")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7)
    fig.suptitle("durable_async batching study")
    _save(fig, out, "bench-batching.png")


def wire(res: Results, out: Path) -> None:
    """B5: client CPU per operation and per call, one bar per SDK and workload."""
    rows = []
    for case in res.cases:
        s = case["summary"]
        if not case["bench"].startswith("wire_") or "cpu" not in s:
            continue
        p = case["params"]
        if case["bench"] == "wire_calls":
            if p.get("client"):
                continue
            label, value = f"{p['n']} calls", s.get("cpu_per_call")
        elif case["bench"] == "wire_seq":
            label, value = f"{p['n']} seq", s.get("cpu_per_op")
        else:
            label, value = f"{p['n']} {p['style']}", s.get("cpu_per_op")
        label += f", {p['latency'] * 1000:g} ms"
        if value:
            rows.append((label, case["sdk"], value * 1e6))
    if not rows:
        return
    labels = list(dict.fromkeys(r[0] for r in rows))
    sdks = res.sdks()
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(labels) * len(sdks) + 1.2))
    height = 0.8 / len(sdks)
    for i, sdk in enumerate(sdks):
        ys, xs = [], []
        for j, label in enumerate(labels):
            for lab, who, value in rows:
                if lab == label and who == sdk:
                    ys.append(j + i * height)
                    xs.append(value)
        ax.barh(ys, xs, height=height, color=COLORS[sdk], label=NAMES[sdk])
    ax.set_yticks([j + 0.4 - height / 2 for j in range(len(labels))], labels)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("client CPU per step (per call for 'calls'), microseconds")
    ax.set_title("B5 the real wire: client CPU (lower is better)")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, out, "bench-wire.png")


def coldstart(res: Results, out: Path) -> None:
    """B6: start to first checkpoint request and to handler return."""
    sdks = [s for s in res.sdks() if "return_ms" in res.coldstart.get(s, {}).get("summary", {})]
    if not sdks:
        return
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    first = [res.coldstart[s]["summary"]["first_checkpoint_ms"] for s in sdks]
    back = [res.coldstart[s]["summary"]["return_ms"] for s in sdks]
    ys = range(len(sdks))
    ax.barh([y - 0.2 for y in ys], first, height=0.4, color=[COLORS[s] for s in sdks])
    bars = ax.barh([y + 0.2 for y in ys], back, height=0.4, color=[COLORS[s] for s in sdks])
    for bar in bars:
        bar.set_alpha(0.55)
    ax.bar_label(bars, fmt="%.0f ms", fontsize=8)
    ax.set_yticks(list(ys), [NAMES[s] for s in sdks])
    ax.set_xlabel("ms from process start (dark: first checkpoint request, light: return)")
    ax.set_title("B6 cold start, one-step function (lower is better)")
    ax.invert_yaxis()
    _save(fig, out, "bench-coldstart.png")


def main(argv: list[str]) -> int:
    res = Results(load(Path(argv[0])))
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for draw in (sequential, fanout, waits, imports, batching, wire, coldstart):
        draw(res, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
