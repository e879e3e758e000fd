from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def kept_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where `durable-async run` keeps runs in these tests (processes started by a test
    inherit it too): never the checkout."""
    folder = tmp_path / "runs"
    monkeypatch.setenv("DURABLE_ASYNC_RUNS", str(folder))
    return folder
