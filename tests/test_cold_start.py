"""What `import durable_async` costs a deployed function: only what its handlers run."""

from __future__ import annotations

import subprocess
import sys

import pytest

import durable_async

_NEVER_ON_LAMBDA = (
    "anyio",  # plain-function step bodies load it when they first run
    "durable_async._backends.memory",
    "durable_async._cli",
    "durable_async._local",
    "durable_async._server",
    "durable_async.testing",
)


def test_importing_the_package_loads_nothing_a_deployed_function_never_needs() -> None:
    code = (
        "import sys, durable_async; "
        f"print(sorted(m for m in sys.modules if m.startswith({_NEVER_ON_LAMBDA!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=20
    )
    assert out.stdout.strip() == "[]"


def test_a_name_imported_on_first_use_is_the_public_one() -> None:
    from durable_async import MemoryBackend
    from durable_async.testing import MemoryBackend as from_testing

    assert MemoryBackend is from_testing is durable_async.MemoryBackend
    assert MemoryBackend.__module__ == "durable_async"
    assert "MemoryBackend" in dir(durable_async)
    assert "MemoryBackend" in durable_async.__all__


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchName"):
        durable_async.NoSuchName  # type: ignore[attr-defined]  # noqa: B018
