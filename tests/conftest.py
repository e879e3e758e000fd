from __future__ import annotations

import importlib
import pkgutil

import hypothesis
import pytest


@pytest.fixture(scope="session", autouse=True)
def _preload_hypothesis() -> None:
    """Import every module of Hypothesis before the first test, at the top of the stack.

    pytest rewrites the modules of its plugins, Hypothesis included, as they are imported, and
    Hypothesis imports some of its own lazily, on first use, which can be deep inside a
    recursive draw. CPython 3.11's parser can then fail with "AST constructor recursion depth
    mismatch", which Hypothesis reports as a flaky test.
    """
    for module in pkgutil.walk_packages(hypothesis.__path__, "hypothesis."):
        if not module.name.startswith(("hypothesis.extra", "hypothesis.vendor")):
            importlib.import_module(module.name)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
