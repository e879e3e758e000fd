"""What a run measures: the workloads, their sizes, and how often each is repeated.

Every case is one workload with fixed parameters on one SDK; each repetition of it is a fresh
process. Workloads:

- B1 `seq_runner` / `seq_stub`: sequential no-op steps, through each SDK's own local runner and
  through the shared stub service.
- B2 `fanout`: N concurrent no-op steps, by `asyncio.gather` (the asyncio SDKs) or by `map`.
- B3 `waits`: N concurrent one-hour waits (suspend, skip time, replay), for memory and threads.
- B4 import time is measured by the harness itself (see `cli.measure_imports`).
- B5 the real wire: each SDK's own client (request signing, HTTP, JSON) against a local HTTP
  endpoint (`benchmarks/endpoint.py`): `wire_seq` sequential steps, `wire_fanout` N concurrent
  steps, `wire_calls` one-update checkpoint calls at the client level.
- B6 cold start: a fresh process imports a one-step function and runs its first invocation
  (`benchmarks/coldstart.py`, run by the harness itself like B4).
- `scale_waits` (durable_async only): B3 at 100,000 concurrent waits.
- `batching` (durable_async only): checkpoint window x concurrency x service latency.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Case", "Sizes", "SIZES", "build", "smoke_plan", "wire_cases"]

STYLES: dict[str, tuple[str, ...]] = {
    # Which SDKs can express each fan-out style. A new style (say `parallel`) is a handler in
    # each SDK module plus an entry here.
    "gather": ("ours", "fork"),
    "map": ("ours", "fork", "official"),
}


@dataclass(frozen=True)
class Sizes:
    seq_runner: int
    seq_stub: int
    fanout: tuple[int, ...]
    fanout_latencies: tuple[float, ...]
    waits: tuple[int, ...]
    windows: tuple[float, ...]
    lanes: tuple[int, ...]
    study_latencies: tuple[float, ...]
    reps: int
    slow_cap: int | None
    """Above this N, a case known to take over a minute per run (the fork's map, whose cost grows
    with the square of N) runs once, and only without latency."""
    wire_seq: int = 200
    wire_seq_latencies: tuple[float, ...] = (0.0,)
    wire_fanout: tuple[int, ...] = (1000,)
    wire_fanout_latencies: tuple[float, ...] = (0.0, 0.020)
    wire_calls: int = 500
    coldstart_reps: int = 10
    scale: tuple[int, ...] = ()
    scale_styles: tuple[str, ...] = ("gather",)


SIZES: dict[str, Sizes] = {
    "full": Sizes(
        seq_runner=200,
        seq_stub=1000,
        fanout=(10, 100, 1000, 10000),
        fanout_latencies=(0.0, 0.020),
        waits=(10, 100, 1000, 10000),
        windows=(0.0, 0.001, 0.002, 0.005, 0.010),
        lanes=(1, 10, 100, 1000),
        study_latencies=(0.0, 0.005, 0.020),
        reps=5,
        slow_cap=1000,
        wire_seq_latencies=(0.0, 0.020),
        coldstart_reps=10,
        scale=(100_000,),
        scale_styles=("gather", "map"),  # map: about 40 s and just under 1 GiB, measured once
    ),
    "small": Sizes(
        seq_runner=200,
        seq_stub=1000,
        fanout=(10, 100),
        fanout_latencies=(0.0, 0.020),
        waits=(100,),
        windows=(0.0, 0.002, 0.010),
        lanes=(1, 10, 100),
        study_latencies=(0.0, 0.005),
        reps=3,
        slow_cap=None,
        coldstart_reps=3,
    ),
}

SLOW = {("fork", "fanout", "map"), ("fork", "waits", "map")}
BODY = 0.002
"""The step body of the study's supplement: 2 ms of awaited I/O."""
BODY_LATENCY = 0.005


@dataclass(frozen=True)
class Case:
    group: str
    sdk: str
    bench: str
    params: dict[str, Any] = field(hash=False)
    reps: int = 5
    note: str = ""

    @property
    def key(self) -> str:
        return f"{self.group}|{self.sdk}|{self.bench}|{json.dumps(self.params, sort_keys=True)}"

    def describe(self) -> str:
        p = self.params
        bits = [self.group, self.sdk, self.bench]
        if "style" in p:
            bits.append(p["style"])
        if "n" in p:
            bits.append(f"n={p['n']}")
        if "lanes" in p:
            bits.append(f"lanes={p['lanes']} window={p['window'] * 1000:g}ms")
        if p.get("body"):
            bits.append(f"body={p['body'] * 1000:g}ms")
        if p.get("client"):
            bits.append(f"client={p['client']}")
        if p.get("latency"):
            bits.append(f"{p['latency'] * 1000:g}ms")
        return " ".join(bits)


def study_steps(lanes: int) -> int:
    """Sequential steps per lane in the batching study: about 50 samples or more per run."""
    return max(2, 50 // lanes)


def build(size: str, sdks: list[str], reps: int | None = None) -> list[Case]:
    """Every case of a run of `size` over `sdks`, in a stable order."""
    z = SIZES[size]
    r = reps or z.reps
    cases: list[Case] = []
    for sdk in sdks:
        cases.append(Case("B1", sdk, "seq_runner", {"n": z.seq_runner}, r))
        cases.append(Case("B1", sdk, "seq_stub", {"n": z.seq_stub, "latency": 0.0}, r))
    for latency in z.fanout_latencies:
        for n in z.fanout:
            for style, able in STYLES.items():
                for sdk in (s for s in sdks if s in able):
                    case = _sized(z, r, "B2", sdk, "fanout", style, n, latency)
                    if case is not None:
                        cases.append(case)
    for n in z.waits:
        for style, able in STYLES.items():
            for sdk in (s for s in sdks if s in able):
                case = _sized(z, r, "B3", sdk, "waits", style, n, 0.0)
                if case is not None:
                    cases.append(case)
    cases += wire_cases(z, r, sdks)
    if "ours" in sdks:
        for n in z.scale:
            for style in z.scale_styles:
                params = {"style": style, "n": n, "latency": 0.0}
                note = "one run: durable_async alone, at a scale the others are not run at"
                cases.append(Case("scale", "ours", "scale_waits", params, 1, note))
        for latency in z.study_latencies:
            for window in z.windows:
                for lanes in z.lanes:
                    params = {
                        "lanes": lanes,
                        "steps": study_steps(lanes),
                        "window": window,
                        "latency": latency,
                    }
                    cases.append(Case("study", "ours", "batching", params, r))
        # Where the window matters: a step body that outlasts it sends the START alone.
        for window in z.windows:
            for lanes in (1, 100):
                params = {
                    "lanes": lanes,
                    "steps": study_steps(lanes),
                    "window": window,
                    "latency": BODY_LATENCY,
                    "body": BODY,
                }
                cases.append(Case("study-body", "ours", "batching", params, r))
    return cases


def wire_cases(z: Sizes, reps: int, sdks: list[str]) -> list[Case]:
    """B5: the workloads through each SDK's own client to the local HTTP endpoint."""
    cases: list[Case] = []
    for latency in z.wire_seq_latencies:
        for sdk in sdks:
            cases.append(Case("B5", sdk, "wire_seq", {"n": z.wire_seq, "latency": latency}, reps))
    for latency in z.wire_fanout_latencies:
        for n in z.wire_fanout:
            for style, able in STYLES.items():
                for sdk in (s for s in sdks if s in able):
                    params = {"style": style, "n": n, "latency": latency}
                    cases.append(Case("B5", sdk, "wire_fanout", params, reps))
    for sdk in sdks:
        cases.append(Case("B5", sdk, "wire_calls", {"n": z.wire_calls, "latency": 0.0}, reps))
    if "ours" in sdks:
        params = {"n": z.wire_calls, "latency": 0.0, "client": "aiobotocore"}
        note = "reference: a plain aiobotocore client, the path durable_async used to take"
        cases.append(Case("B5", "ours", "wire_calls", params, reps, note))
    return cases


def _sized(
    z: Sizes, reps: int, group: str, sdk: str, bench: str, style: str, n: int, latency: float
) -> Case | None:
    params = {"style": style, "n": n, "latency": latency}
    if z.slow_cap is not None and n > z.slow_cap and (sdk, bench, style) in SLOW:
        if latency:
            return None
        note = "one run: a single run takes over a minute (cost grows with N squared)"
        return Case(group, sdk, bench, params, 1, note)
    return Case(group, sdk, bench, params, reps)


def smoke_plan() -> list[Case]:
    """durable_async only, tiny sizes, one repetition: proves the harness end to end."""
    cases = [
        Case("B1", "ours", "seq_runner", {"n": 20}, 1),
        Case("B1", "ours", "seq_stub", {"n": 50, "latency": 0.0}, 1),
    ]
    for style in ("gather", "map"):
        cases.append(Case("B2", "ours", "fanout", {"style": style, "n": 10, "latency": 0.0}, 1))
        cases.append(Case("B2", "ours", "fanout", {"style": style, "n": 10, "latency": 0.005}, 1))
        cases.append(Case("B3", "ours", "waits", {"style": style, "n": 10, "latency": 0.0}, 1))
    params = {"lanes": 10, "steps": 2, "window": 0.002, "latency": 0.005}
    cases.append(Case("study", "ours", "batching", params, 1))
    cases.append(Case("B5", "ours", "wire_seq", {"n": 20, "latency": 0.0}, 1))
    for style, latency in (("gather", 0.0), ("map", 0.0), ("gather", 0.005)):
        wired = {"style": style, "n": 20, "latency": latency}
        cases.append(Case("B5", "ours", "wire_fanout", wired, 1))
    cases.append(Case("B5", "ours", "wire_calls", {"n": 50, "latency": 0.0}, 1))
    return cases


SMOKE_COLDSTART_REPS = 1
