"""Run AWS's durable execution conformance suite against our handlers, on two backends.

    python -m conformance [--backend memory|aws-runner|both] [--only 1-3,2-x,...] [--jobs N]

Every requirement is validated by the suite's own `validate_description`, with our invoker and
AWS clients (see `conformance.backends`). The run prints one line per requirement, a summary per
backend, and ends with the line `N passed, N failed` for all backends together. A full run of
both backends rewrites the results part of docs/conformance.md.

Exit status: 1 if a requirement fails on the memory backend, or fails on the AWS runner for a
reason other than a known gap of the runner (see `RUNNER_GAPS`); 0 otherwise.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]
from aws_durable_execution_conformance_tests import (  # type: ignore[import-untyped]
    validate as suite_validate,
)
from aws_durable_execution_conformance_tests.cloudwatch import (  # type: ignore[import-untyped]
    CloudWatchLogRetriever,
)
from aws_durable_execution_conformance_tests.config import (  # type: ignore[import-untyped]
    TESTS_DIR,
)
from aws_durable_execution_conformance_tests.validate import (  # type: ignore[import-untyped]
    discover_test_files,
)

from durable_async.testing import runner_available

from .backends import (
    REGION,
    LogStore,
    MemoryService,
    RunnerService,
    Service,
    capturing_logs,
    function_name,
)
from .handlers import LOAD_ERRORS, REGISTRY, SUITES, TARGETS

POLL_INTERVAL_SECONDS = 0.05
DOCS = Path(__file__).resolve().parent.parent / "docs" / "conformance.md"
RESULTS_MARKER = "<!-- results: written by python -m conformance; edit above this line -->"

PASSED, FAILED, RUNNER_GAP, NO_HANDLER = "passed", "failed", "runner gap", "no handler"


# -- the runner's known gaps ---------------------------------------------------------------------


@dataclass(frozen=True)
class RunnerGap:
    """Something AWS's local runner does not do as the service does.

    A requirement failing on the runner counts as a runner gap (not passed, not our failure)
    when every error the suite reported matches `errors`; or, for a gap that derails a whole
    history (every later EventId shifts), when the requirement is one of `requirements` and
    at least one error matches `evidence`.
    """

    name: str
    reason: str
    errors: re.Pattern[str] | None = None
    scope: re.Pattern[str] = re.compile(r".")
    requirements: frozenset[str] = frozenset()
    evidence: re.Pattern[str] | None = None


RUNNER_GAPS: tuple[RunnerGap, ...] = (
    RunnerGap(
        "callback-timeouts-in-details",
        "the runner's CallbackStartedDetails has no Timeout/HeartbeatTimeout (the service "
        "sends both)",
        errors=re.compile(r"CallbackStartedDetails\.(Timeout|HeartbeatTimeout): key missing"),
    ),
    RunnerGap(
        "executed-version",
        "the runner's ChainedInvokeStartedDetails has no ExecutedVersion (the service sends it)",
        errors=re.compile(r"ChainedInvokeStartedDetails\.ExecutedVersion: key missing"),
    ),
    RunnerGap(
        "tenant-id",
        "the runner's ChainedInvokeStartedDetails has no TenantId (its code says the service "
        "leaves it out; the suite's requirement 5-8, which comes from the service, expects it)",
        errors=re.compile(r"ChainedInvokeStartedDetails\.TenantId: key missing"),
    ),
    RunnerGap(
        "step-succeeded-retry-details",
        "the runner's StepSucceededDetails has no RetryDetails (the service sends CurrentAttempt)",
        errors=re.compile(r"StepSucceededDetails\.RetryDetails: key missing"),
    ),
    RunnerGap(
        "condition-poll-state",
        "the runner's StepSucceeded of a wait_for_condition poll that another attempt follows "
        "has no Result payload (the service carries the new state there)",
        errors=re.compile(r"StepSucceededDetails\.Result\.Payload: key missing"),
        scope=re.compile(r"^6-"),
    ),
    RunnerGap(
        "invoke-dispatch-race",
        "the runner starts a chained invoke's target at once, so a fast target can finish "
        "before the invocation that started it has ended; on the service an invoke takes far "
        "longer than an SDK takes to suspend, so the caller's InvocationCompleted comes first. "
        "Timing-dependent: it shows only when the machine is busy",
        requirements=frozenset(f"5-{n}" for n in range(1, 17)),
        evidence=re.compile(
            r"EventType: expected 'InvocationCompleted', got 'ChainedInvoke(Succeeded|Failed)'"
        ),
    ),
    RunnerGap(
        "crashed-invocation",
        "the runner records no InvocationCompleted for an invocation that crashed "
        "(Runtime.ExitError) and re-invokes only after its 5 s back-off; the service records "
        "the failed invocation, so every later EventId is off by one",
        requirements=frozenset({"1-17", "1-18", "3-12"}),
        evidence=re.compile(r"EventType: expected 'InvocationCompleted', got '(Step|Context)"),
    ),
)


def classify_runner_failure(requirement: str, errors: Sequence[str]) -> list[RunnerGap]:
    """The known runner gaps explaining a failure on the runner (empty if they do not)."""
    for derailing in RUNNER_GAPS:
        if (
            requirement in derailing.requirements
            and derailing.evidence is not None
            and any(derailing.evidence.search(e) for e in errors)
        ):
            return [derailing]
    if not errors:
        return []
    found: list[RunnerGap] = []
    for error in errors:
        gap: RunnerGap | None = next(
            (
                g
                for g in RUNNER_GAPS
                if g.errors and g.errors.search(error) and g.scope.search(requirement)
            ),
            None,
        )
        if gap is None:
            return []  # something no known gap explains: a real failure
        if gap not in found:
            found.append(gap)
    return found


# -- the suite, adapted ------------------------------------------------------------------------


class _ImmediateLogRetriever(CloudWatchLogRetriever):  # type: ignore[misc]
    """The suite's CloudWatch retriever without its ingestion waits: our log store holds every
    record as soon as the invocation that wrote it has ended."""

    EVENT_POLL_TIMEOUT_SECONDS = 0.0

    def get_execution_log_events(
        self,
        log_group_name: str,
        execution_arn: str,
        start_time_ms: int,
        end_time_ms: int | None = None,
        wait_seconds: int | None = None,
    ) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = super().get_execution_log_events(
            log_group_name, execution_arn, start_time_ms, end_time_ms, wait_seconds=0
        )
        return events


def adapt_suite() -> None:
    """Poll faster than the suite's default (2 s), and read logs without waiting."""
    suite_validate.POLL_INTERVAL_SECONDS = POLL_INTERVAL_SECONDS
    suite_validate.CloudWatchLogRetriever = _ImmediateLogRetriever


@dataclass(frozen=True)
class Requirement:
    """One YAML file of the suite."""

    id: str
    suite: str
    path: str
    description: str
    has_logs: bool

    @property
    def sort_key(self) -> tuple[int, int]:
        major, minor = self.id.split("-")
        return int(major), int(minor)


def load_requirements() -> list[Requirement]:
    """Every requirement the installed suite ships, in id order."""
    found: list[Requirement] = []
    for rid, path in discover_test_files(TESTS_DIR).items():
        with open(path) as f:
            data = yaml.safe_load(f) or {}
        found.append(
            Requirement(
                id=rid,
                suite=Path(path).parent.name,
                path=path,
                description=str(data.get("description", "")).strip(),
                has_logs=bool(data.get("ExpectedLogs")),
            )
        )
    return sorted(found, key=lambda r: r.sort_key)


def select(requirements: Sequence[Requirement], only: str | None) -> list[Requirement]:
    """Pick requirements by id (`1-3`), suite number (`2-x`, `2`) or suite name (`child`)."""
    if not only:
        return list(requirements)

    def matches(token: str, req: Requirement) -> bool:
        major = req.id.split("-")[0]
        return token in (req.id, req.suite, major, f"{major}-x", f"{major}-*")

    wanted = [w.strip() for w in only.split(",") if w.strip()]
    unknown = [w for w in wanted if not any(matches(w, r) for r in requirements)]
    if unknown:
        raise SystemExit(f"unknown requirement or suite: {', '.join(unknown)}")
    return [r for r in requirements if any(matches(w, r) for w in wanted)]


# -- running -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """How one requirement went on one backend."""

    requirement: Requirement
    backend: str
    status: str
    reason: str = ""
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    output: str = ""
    note: str = ""


def validate_one(
    service: Service, req: Requirement, tmp_dir: str, out_dir: str, printed: Callable[[], Any]
) -> Outcome:
    """Validate `req` on `service` with the suite's `validate_description`."""
    if req.id not in REGISTRY:
        reason = LOAD_ERRORS.get(req.suite, "no handler for this requirement yet")
        return Outcome(req, service.name, NO_HANDLER, reason)
    started = time.monotonic()
    with printed() as lines:
        try:
            result = suite_validate.validate_description(
                function_name=function_name(req.id),
                description_id=req.id,
                test_file=req.path,
                invoker=service,
                tmp_dir=tmp_dir,
                region=REGION,
                aws_clients=service.aws_clients,
                output_dir=out_dir,
            )
            errors = list(result.errors)
            passed = result.passed
        except Exception as exc:  # a crash of the validation itself is a failure, not a stop
            errors = [f"validation raised {type(exc).__name__}: {exc}"]
            passed = False
    seconds = time.monotonic() - started
    output = "".join(lines)
    note = ""
    if not passed:
        errors += service.problems(function_name(req.id))
        note = execution_error(Path(out_dir) / f"{req.id}.json")
    if passed:
        return Outcome(req, service.name, PASSED, seconds=seconds, output=output)
    if service.name == RunnerService.name:
        gaps = classify_runner_failure(req.id, errors)
        if gaps:
            reason = "; ".join(g.reason for g in gaps)
            return Outcome(req, service.name, RUNNER_GAP, reason, errors, seconds, output, note)
    reason = errors[0] if errors else "failed without an error message"
    return Outcome(req, service.name, FAILED, reason, errors, seconds, output, note)


def execution_error(history_file: Path) -> str:
    """`ExecutionFailed`'s error in the history the suite saved, to show why it failed."""
    try:
        events = json.loads(history_file.read_text()).get("Events", [])
    except (OSError, ValueError):
        return ""
    for event in reversed(events):
        if event.get("EventType") == "ExecutionFailed":
            payload = event.get("ExecutionFailedDetails", {}).get("Error", {}).get("Payload", {})
            kind, message = payload.get("ErrorType"), payload.get("ErrorMessage")
            return f"the execution failed: {kind}: {message}"
    return ""


def run_backend(
    service: Service,
    requirements: Sequence[Requirement],
    jobs: int,
    capture: Any,
    verbose: bool,
    report: Callable[[str], None],
) -> list[Outcome]:
    """Validate `requirements` on one backend: most in parallel, those with logs in one lane."""
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    with tempfile.TemporaryDirectory(prefix=f"conformance-{service.name}-") as tmp:
        out_dir = str(Path(tmp) / "histories")

        def one(req: Requirement) -> Outcome:
            outcome = validate_one(service, req, tmp, out_dir, capture.buffered)
            with lock:
                outcomes.append(outcome)
                report(_line(outcome, verbose))
            return outcome

        def lane(reqs: Iterable[Requirement]) -> None:
            for req in reqs:
                one(req)

        def single(req: Requirement) -> None:
            one(req)

        logged = [r for r in requirements if r.has_logs]
        plain = sorted(
            (r for r in requirements if not r.has_logs),
            key=lambda r: (r.suite not in ("callback", "wait_for_callback"), r.sort_key),
        )
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [pool.submit(lane, logged)] if logged else []
            futures += [pool.submit(single, r) for r in plain]
            for fut in futures:
                fut.result()
    return sorted(outcomes, key=lambda o: o.requirement.sort_key)


def _line(outcome: Outcome, verbose: bool) -> str:
    tag = {PASSED: "PASS", FAILED: "FAIL", RUNNER_GAP: "GAP ", NO_HANDLER: "NONE"}[outcome.status]
    text = f"  {tag} {outcome.backend:<10} {outcome.requirement.id:<6} {outcome.seconds:5.1f}s"
    text += f"  {outcome.requirement.description}"
    if outcome.status != PASSED:
        text += f"\n         {outcome.reason}"
        for err in outcome.errors[1:6] if outcome.status == FAILED else ():
            text += f"\n         {err}"
        if outcome.note and outcome.status == FAILED:
            text += f"\n         ({outcome.note})"
        if verbose and outcome.output:
            text += "\n" + "\n".join(f"         | {ln}" for ln in outcome.output.splitlines())
    return text


def summarize(name: str, outcomes: Sequence[Outcome]) -> list[str]:
    """A backend's closing lines: what the failures were, then `name: N passed, N failed`."""
    passed = sum(o.status == PASSED for o in outcomes)
    counts = {
        status: sum(o.status == status for o in outcomes)
        for status in (FAILED, RUNNER_GAP, NO_HANDLER)
    }
    lines = []
    if len(outcomes) > passed:
        detail = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
        lines.append(f"{name} failures: {detail}")
    lines.append(f"{name}: {passed} passed, {len(outcomes) - passed} failed")
    return lines


# -- docs/conformance.md -------------------------------------------------------------------------


def write_docs(
    path: Path, requirements: Sequence[Requirement], results: dict[str, list[Outcome]]
) -> None:
    """Rewrite the results below the marker in docs/conformance.md."""
    backends = list(results)
    by = {(o.backend, o.requirement.id): o for outs in results.values() for o in outs}
    lines = [RESULTS_MARKER, "", "## Results", ""]
    lines += ["| suite | " + " | ".join(backends) + " |", "|---|" + "---|" * len(backends)]
    for suite in SUITES:
        reqs = [r for r in requirements if r.suite == suite]
        if not reqs:
            continue
        cells = []
        for b in backends:
            outs = [by[(b, r.id)] for r in reqs if (b, r.id) in by]
            passed = sum(o.status == PASSED for o in outs)
            gaps = sum(o.status == RUNNER_GAP for o in outs)
            cell = f"{passed}/{len(outs)}"
            if gaps:
                cell += f" ({gaps} runner gap{'s' if gaps > 1 else ''})"
            cells.append(cell)
        lines.append(f"| {suite} | " + " | ".join(cells) + " |")
    totals = []
    for b in backends:
        outs = results[b]
        totals.append(f"**{sum(o.status == PASSED for o in outs)}/{len(outs)}**")
    lines.append("| **all** | " + " | ".join(totals) + " |")
    lines += ["", "### Every requirement", ""]
    lines += [
        "| id | requirement | " + " | ".join(backends) + " |",
        "|---|---|" + "---|" * len(backends),
    ]
    notes: list[str] = []
    for req in requirements:
        cells = []
        for b in backends:
            o = by.get((b, req.id))
            if o is None:
                cells.append("not run")
            elif o.status == PASSED:
                cells.append("passed")
            else:
                notes.append(f"- **{req.id}** on {b} ({o.status}): {_md(o.reason)}")
                cells.append(o.status)
        lines.append(f"| {req.id} | {_md(req.description)} | " + " | ".join(cells) + " |")
    lines += ["", "### Reasons", ""]
    lines += notes or ["Every requirement passed on every backend."]
    text = path.read_text() if path.exists() else ""
    head = text.split(RESULTS_MARKER)[0].rstrip() if RESULTS_MARKER in text else text.rstrip()
    path.write_text(f"{head}\n\n" + "\n".join(lines) + "\n")


def _md(text: str) -> str:
    one_line = " ".join(text.split())
    if len(one_line) > 300:
        one_line = one_line[:297] + "..."
    return one_line.replace("|", "\\|")


# -- the command -------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m conformance",
        description="Validate our handlers against AWS's durable execution conformance suite.",
    )
    parser.add_argument("--backend", choices=("memory", "aws-runner", "both"), default="both")
    parser.add_argument("--only", help="requirements: ids (1-3), suites (2-x, child), commas")
    parser.add_argument("--jobs", type=int, default=12, help="requirements validated at once")
    parser.add_argument("--verbose", action="store_true", help="show the suite's output")
    parser.add_argument(
        "--docs",
        choices=("auto", "yes", "no"),
        default="auto",
        help="rewrite docs/conformance.md (auto: on a full run of both backends)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    adapt_suite()
    requirements = select(load_requirements(), args.only)
    backends = ["memory", "aws-runner"] if args.backend == "both" else [args.backend]
    out = sys.stdout
    store = LogStore()
    results: dict[str, list[Outcome]] = {}

    def report(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    started = time.monotonic()
    with capturing_logs(store) as capture, tempfile.TemporaryDirectory() as scratch:
        for name in backends:
            service: Service
            if name == "memory":
                service = MemoryService(REGISTRY, TARGETS, store)
            else:
                if not runner_available():
                    report("aws-runner: aws-durable-execution-sdk-python-testing is not installed")
                    return 1
                service = RunnerService(REGISTRY, TARGETS, store, Path(scratch))
            service.start()
            try:
                report(f"== {service.describe()}: {len(requirements)} requirements")
                t0 = time.monotonic()
                results[name] = run_backend(
                    service, requirements, args.jobs, capture, args.verbose, report
                )
                report(f"   {name} took {time.monotonic() - t0:.1f}s")
            finally:
                service.stop()

    everything = [o for outs in results.values() for o in outs]
    write = args.docs == "yes" or (
        args.docs == "auto" and not args.only and backends == ["memory", "aws-runner"]
    )
    if write:
        write_docs(DOCS, requirements, results)
        report(f"wrote {DOCS.relative_to(DOCS.parent.parent)}")
    report(f"took {time.monotonic() - started:.1f}s")
    report("")
    for name, outcomes in results.items():
        for line in summarize(name, outcomes):
            report(line)
    passed = sum(o.status == PASSED for o in everything)
    report(f"{passed} passed, {len(everything) - passed} failed")
    blocking = [o for o in everything if o.status in (FAILED, NO_HANDLER)]
    return 1 if blocking else 0
