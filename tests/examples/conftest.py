"""Fixtures of the example tests: each example is loaded from its file, and each test runs
twice, live and replayed at every checkpoint (`LocalRunner(always_replay=True)`)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _load(name: str) -> ModuleType:
    module_name = f"durable_async_example_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def example() -> Callable[[str], ModuleType]:
    """`example("saga")` is the module of `examples/saga.py`."""
    return _load


@pytest.fixture(params=[False, True], ids=["live", "replay"])
def always_replay(request: pytest.FixtureRequest) -> bool:
    """Run every example test live, and replayed from every checkpoint."""
    return bool(request.param)
