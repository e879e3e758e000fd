"""Past runs: each `durable-async run` keeps its JSON document under `.durable/runs/` (or
`$DURABLE_ASYNC_RUNS`), which `show` renders again and `runs` lists."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._models import ErrorObject, Operation
from .load import CliError

__all__ = ["SavedRun", "load_run", "runs_dir", "save_run", "saved_runs"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def runs_dir() -> Path:
    """Where runs are kept: `$DURABLE_ASYNC_RUNS`, else `.durable/runs` in the current
    directory."""
    return Path(os.environ.get("DURABLE_ASYNC_RUNS") or Path(".durable") / "runs")


def save_run(document: str, name: str, now: dt.datetime | None = None) -> Path:
    """Keep a run's JSON document; the file is named after the time and the execution."""
    folder = runs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"{stamp}-{_UNSAFE.sub('-', name)[:80]}.json"
    path.write_text(document)
    return path


def saved_runs() -> list[Path]:
    """The kept runs, oldest first."""
    folder = runs_dir()
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


@dataclass(frozen=True)
class SavedRun:
    """A kept run, read back."""

    path: Path
    document: dict[str, Any]

    @property
    def operations(self) -> list[Operation]:
        """Its operations, as the backend reported them."""
        return [Operation.model_validate(shape) for shape in self.document["operations"]]

    @property
    def wall(self) -> dict[str, float]:
        """Real seconds per operation id."""
        return {
            shape["Id"]: shape["WallSeconds"]
            for shape in self.document["operations"]
            if shape.get("WallSeconds") is not None
        }

    @property
    def error(self) -> ErrorObject | None:
        """The execution's error, if it failed."""
        error = self.document.get("error")
        return ErrorObject.model_validate(error) if error else None


def load_run(which: str | None) -> SavedRun:
    """The run `which` names: a file, or the start of a kept run's file name (a time such as
    `20261203T1402`, or `latest`, the default).

    Raises:
        CliError: no run matches, or several do.
    """
    if which and Path(which).is_file():
        path = Path(which)
    else:
        runs = saved_runs()
        if not runs:
            raise CliError(f"no runs kept in {runs_dir()} yet: `durable-async run` keeps them")
        if which in (None, "latest"):
            path = runs[-1]
        else:
            found = [p for p in runs if p.name.startswith(which) or which in p.stem]
            if len(found) != 1:
                names = ", ".join(p.name for p in found[:5]) or "none"
                raise CliError(f"{len(found)} kept runs match {which!r} ({names})")
            path = found[0]
    try:
        return SavedRun(path, json.loads(path.read_text()))
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read the run {path}: {exc}") from None
