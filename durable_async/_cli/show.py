"""`durable-async show` and `durable-async runs`: the runs `run` kept, shown again."""

from __future__ import annotations

import argparse
import json
import sys

from .render import format_report
from .run import status_code
from .saved import load_run, runs_dir, saved_runs

__all__ = ["runs_command", "show_command"]


def show_command(args: argparse.Namespace) -> int:
    """Print a kept run as `run` printed it; the exit status is the run's."""
    run = load_run(args.run)
    out = sys.stdout
    if args.json:
        print(json.dumps(run.document, indent=2), file=out)
    else:
        colour = out.isatty() and not args.no_color
        print(f"run: {run.path}", file=out)
        print(format_report(run.document, run.wall, colour=colour), file=out)
    return status_code(run.document["status"])


def runs_command(args: argparse.Namespace) -> int:
    """List the kept runs, newest last: file, status, invocations, execution."""
    runs = saved_runs()
    if not runs:
        print(f"no runs kept in {runs_dir()} yet", file=sys.stdout)
        return 0
    for path in runs[-args.last :]:
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError):
            print(f"{path.name}  (unreadable)")
            continue
        print(f"{path.name}  {document['status']:<9}  {document['invocations']} invocation(s)")
    return 0
